"""Plain nbgrader on the course, with the project's nbgrader_config.py: `nbgrader autograde` and
`nbgrader generate_feedback` on a shipped example, in a temporary copy of the course. The
feedback HTML must hold no hidden-test line and no traceback, and must show the failure's
message (RedactHiddenTests in GenerateFeedback's preprocessors)."""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys

import nbformat
from nbgrader.api import Gradebook

from course_lib.grading.course import REPO_ROOT, grade_id, tool_env

from grading_fixtures import EXAMPLES, expected_scores, hidden_lines

ASSIGNMENT = "softmax_toy"  # quick to run; its hidden tests follow every visible check
STUDENT = "mistake_gradient_not_averaged"
TRACEBACK_MARKS = ("Traceback (most recent call last)", "most recent call last", "Cell In[", 'File "', "\x1b[")


def _nbgrader(course, *args):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          env=tool_env(), timeout=300)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def test_plain_nbgrader_feedback_shows_the_message_but_no_hidden_test_or_traceback(tmp_path):
    course = tmp_path / "course"
    (course / "notebooks").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(REPO_ROOT / "notebooks" / ASSIGNMENT, course / "notebooks" / ASSIGNMENT)
    submitted = course / "build" / "nbgrader" / "submitted" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submitted.parent.mkdir(parents=True)
    shutil.copy(EXAMPLES / ASSIGNMENT / f"{STUDENT}.ipynb", submitted)

    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--create", "--force")
    _nbgrader(course, "autograde", ASSIGNMENT, "--create", "--force")
    _nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")

    spec = expected_scores(ASSIGNMENT)[STUDENT]
    failure = spec["failure"]
    hidden = hidden_lines(course / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert hidden

    # What plain nbgrader graded: the expected scores, and a notebook that holds the hidden tests
    # and the failing cell's traceback (what the feedback must not show).
    # Plain nbgrader trusts the kernel and grades each cell all or nothing: the cell where the
    # mistake is fails, every cell before it keeps its points (later cells that reuse the wrong
    # function fail too: the double charge the pipeline's judge avoids).
    with Gradebook("sqlite:///" + str(course / "build" / "nbgrader" / "gradebook.db")) as gb:
        scores = {gid: gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, STUDENT).auto_score for gid in spec["scores"]}
        points = {gid: gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, STUDENT).max_score for gid in spec["scores"]}
    order = list(spec["scores"])
    assert scores[failure["check"]] == 0
    assert all(scores[gid] == points[gid] for gid in order[:order.index(failure["check"])]), scores
    autograded = nbformat.read(str(course / "build" / "nbgrader" / "autograded" / STUDENT / ASSIGNMENT
                                   / f"{ASSIGNMENT}.ipynb"), as_version=4)
    assert any(line in autograded_cell.source for autograded_cell in autograded.cells for line in hidden)
    failing = next(c for c in autograded.cells if grade_id(c) == failure["check"])
    errors = [o for o in failing.outputs if o.output_type == "error"]
    # (a failed check shows its message alone, `CheckFailure._render_traceback_`; any other error a traceback)
    assert errors and failure["message"] in errors[0].evalue

    page = (course / "build" / "nbgrader" / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    # The page as read: code is highlighted token by token, so compare without the tags.
    text = html.unescape(re.sub(r"<[^>]*>", "", page))
    assert failure["message"] in text
    assert "BEGIN HIDDEN TESTS" not in text and "END HIDDEN TESTS" not in text
    leaked = [line for line in hidden if line in text]
    assert not leaked, leaked
    assert not [mark for mark in TRACEBACK_MARKS if mark in text or mark in page]
