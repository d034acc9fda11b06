"""The release step: plain nbgrader with the project's config and the BlankSolutions preprocessor."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from course_lib.grading.blanks import fails_loudly
from course_lib.grading.course import REPO_ROOT, is_solution, tool_env
from course_lib.grading.release import check_release



def test_release_turns_markers_into_loud_blanks(tiny_run):
    released = nbformat.read(str(tiny_run.course.release_notebook("tiny")), as_version=4)
    answers = {c.metadata.nbgrader.grade_id: c.source for c in released.cells if is_solution(c)}
    assert answers["cce"].rstrip().endswith("    return(?)")
    assert "    shifted = ?\n    e = np.exp(?)\n    return(?)" in answers["softmax"]
    assert "raise NotImplementedError()" in answers["mean_accuracy"]
    for name in ("cce", "softmax"):
        assert fails_loudly(answers[name]), name
    assert check_release(tiny_run.course.release_notebook("tiny")) == []
    text = tiny_run.course.release_notebook("tiny").read_text()
    for secret in ("np.clip(yhat, EPS", "HIDDEN", "expected_cce_hidden", "np.argmax(yhat, axis=0) =="):
        assert secret not in text


@pytest.mark.skipif(not (REPO_ROOT / "notebooks" / "layers" / "layers.ipynb").is_file(), reason="layers notebook not there")
def test_plain_nbgrader_generate_assignment_works_from_the_repo_root(tmp_path):
    """`nbgrader generate_assignment layers` with only the project's nbgrader_config.py
    (outputs redirected to tmp_path so the test leaves the repository alone)."""
    command = [sys.executable, "-m", "nbgrader", "generate_assignment", "layers", "--force",
               f"--CourseDirectory.release_directory={tmp_path / 'release'}",
               f"--CourseDirectory.db_url=sqlite:///{tmp_path / 'gradebook.db'}"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=tool_env())
    assert done.returncode == 0, done.stderr
    released = tmp_path / "release" / "layers" / "layers.ipynb"
    assert check_release(released) == []
    nb = nbformat.read(str(released), as_version=4)
    assert any("?" in c.source for c in nb.cells if is_solution(c))
