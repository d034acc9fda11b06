"""The whole nbgrader loop through the exchange inside the course tree, with real nbgrader and
real kernels: release into the exchange, two students (each in a HOME-like folder of their
own, with their nbgrader_config.py) fetch and submit through the Assignments tab's own backend
(nbgrader's ``AssignmentList``, which its server extension calls), collect, the pipeline's autograde of submitted/,
feedback released, each student fetches their own feedback and reads the named mistake and
the late penalty. The gradebook (what the formgrader shows) has the roster's names, nbgrader's
submission times and the late penalty."""
from __future__ import annotations

import contextlib
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList
from nbgrader.utils import parse_utc

from course_lib.grading import exchange
from course_lib.grading.autograde import run_autograde
from course_lib.grading.course import COURSE_ID, REPO_ROOT, Course
from course_lib.grading.gradebook_io import import_roster
from course_lib.grading.release import release

from grading_fixtures import EXAMPLES, FIXTURE, FIXTURE_JUDGES, SETTINGS

STUDENTS = {"alice": "reference", "bob": "mistake_softmax_no_max"}  # student -> the example they hand in


def tab_action(home: Path, action: str, *args: str):
    """What the student's Assignments tab does for ``action`` (its server extension's
    ``AssignmentList`` of a Jupyter server started in the student's folder); returns its value."""
    tab = AssignmentList()
    tab.root_dir = str(home)
    with contextlib.chdir(home):  # nbgrader's default assignment_dir "." is the server's working folder
        outcome = getattr(tab, action)(*args)
    assert outcome["success"], f"{action} failed for {home.name}: {outcome.get('value')}"
    return outcome.get("value")


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        root = tmp_path_factory.mktemp("exchange")
        patch.setenv("JUPYTER_CONFIG_DIR", str(root / "no-jupyter-config"))  # no user config of the machine
        yield run_loop(root)


def run_loop(root: Path):
    # Due an hour ago: every submission of the test is 1 day late (days rounded up), 10% a day.
    deadline = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)
    policy = root / "course.toml"
    policy.write_text(f"[assignments.tiny]\ndeadline = {deadline.isoformat()}\nlate_penalty_per_day = 0.1\n")
    course = Course(root=REPO_ROOT, source=FIXTURE, build=root / "build", judges=FIXTURE_JUDGES, policy_file=policy)
    release(course, "tiny")
    roster = root / "roster.csv"
    roster.write_text("id,first,last,email\nalice,Ada,Lovelace,ada@uni.edu\nbob,Bob,Byte,bob@uni.edu\n")
    import_roster(course.db_url, roster)
    outbound = exchange.release_assignment(course, "tiny")
    homes = {}
    listed = {}
    for student, example in STUDENTS.items():
        home = root / "home" / student
        home.mkdir(parents=True)
        # the student's own cache of submissions (nbgrader's default is under their Jupyter data folder)
        (home / "nbgrader_config.py").write_text(exchange.student_config(course, student)
                                                 + f"c.Exchange.cache = {str(home / '.nbgrader_cache')!r}\n")
        listed[student] = tab_action(home, "list_assignments", COURSE_ID)
        tab_action(home, "fetch_assignment", COURSE_ID, "tiny")
        shutil.copy(EXAMPLES / "tiny" / f"{example}.ipynb", home / "tiny" / "tiny.ipynb")  # the student's work
        tab_action(home, "submit_assignment", COURSE_ID, "tiny")
        homes[student] = home
    collected = exchange.collect(course, "tiny")
    run = run_autograde(course, "tiny", course.submitted, settings=SETTINGS, progress=False)
    feedback = exchange.release_feedback(course, "tiny")
    for home in homes.values():
        tab_action(home, "fetch_feedback", COURSE_ID, "tiny")
    return course, outbound, collected, run, feedback, homes, listed


def test_the_exchange_lives_in_the_course_tree(loop):
    course, outbound, *_, listed = loop
    assert outbound == course.build / "exchange" / COURSE_ID / "outbound" / "tiny"
    assert (outbound / "tiny.ipynb").is_file()
    assert "/usr/local/share/nbgrader/exchange" not in exchange.student_config(course, "alice")
    for student in STUDENTS:  # the Assignments tab lists the release before the student fetches it
        assert [(a["course_id"], a["assignment_id"], a["status"]) for a in listed[student]] == [(COURSE_ID, "tiny", "released")]


def test_collect_keeps_nbgrader_timestamps_and_autograde_grades_what_was_collected(loop):
    course, _, collected, run, *_ = loop
    assert [c.student for c in collected] == sorted(STUDENTS)
    assert all(c.timestamp for c in collected)
    results = {r.student: r for r in run.results}
    assert set(results) == set(STUDENTS)
    assert results["alice"].score == 6 and results["bob"].score == 5
    for c in collected:
        assert datetime.fromisoformat(results[c.student].submitted_at) == parse_utc(c.timestamp).replace(tzinfo=timezone.utc)
        assert results[c.student].late_days == 1 and results[c.student].late_penalty == 0.6
    assert results["alice"].final_score == 5.4 and results["bob"].final_score == 4.4


def test_the_formgrader_shows_names_timestamps_scores_and_the_penalty(loop):
    course, _, collected, *_ = loop
    coursedir = CourseDirectory(root=str(course.root), course_id=COURSE_ID, db_url=course.db_url,
                                submitted_directory=str(course.submitted),
                                autograded_directory=str(course.nbgrader_dir / "autograded"))
    shown = {s["student"]: s for s in NbGraderAPI(coursedir=coursedir).get_submissions("tiny")}  # the formgrader's backend
    stamps = {c.student: parse_utc(c.timestamp) for c in collected}
    assert (shown["alice"]["first_name"], shown["alice"]["last_name"]) == ("Ada", "Lovelace")
    assert (shown["bob"]["first_name"], shown["bob"]["last_name"]) == ("Bob", "Byte")
    for student in STUDENTS:
        assert shown[student]["autograded"] and shown[student]["timestamp"] == stamps[student].isoformat()
    assert shown["alice"]["score"] == 6 and shown["bob"]["score"] == 5
    with Gradebook(course.db_url) as gb:
        assert gb.find_assignment("tiny").duedate is not None
        for student in STUDENTS:
            submission = gb.find_submission("tiny", student)
            assert submission.timestamp == stamps[student]
            assert submission.late_submission_penalty == pytest.approx(0.6)


def test_each_student_fetches_their_own_feedback_with_the_named_mistake(loop):
    course, _, _, run, feedback, homes, _ = loop
    assert sorted(feedback.released) == sorted(STUDENTS) and feedback.skipped == {}
    pages = {}
    for student, home in homes.items():
        found = list((home / "tiny" / "feedback").glob("*/tiny.html"))
        assert len(found) == 1, (student, found)
        pages[student] = found[0].read_text()
        assert f"feedback for {student}" in pages[student]
        assert "submitted 1 day late: \u221210% of the 6 points, \u22120.6 points" in pages[student]
    bob = next(r for r in run.results if r.student == "bob")
    failed = next(v for c in bob.cells for v in c.checks if not v.passed)
    assert failed.name == "large logits (stability)"
    assert f"\u2718 {failed.name}: " in pages["bob"] and failed.message.split("\n")[0][:60] in pages["bob"]
    assert "\u2718" not in pages["alice"] and "Score: 5.4 / 6" in pages["alice"]


def test_feedback_is_not_released_for_a_submission_newer_than_its_grading(loop, tmp_path):
    course, *_ = loop
    stamp = course.submitted / "bob" / "tiny" / "timestamp.txt"
    old = stamp.read_text()
    try:
        stamp.write_text("2030-01-01 00:00:00.000000 UTC")  # as if collected again after the grading
        report = exchange.place_feedback(course, "tiny")
        assert report.released == ["alice"] and "run autograde again" in report.skipped["bob"]
    finally:
        stamp.write_text(old)


def test_the_cli_prints_a_students_config_and_names_a_missing_assignment(capsys):
    from course_lib.grading.cli import main

    assert main(["exchange", "student-config", "alice"]) == 0
    config = capsys.readouterr().out
    assert f"c.Exchange.root = {str(REPO_ROOT / 'build' / 'exchange')!r}" in config
    assert "c.CourseDirectory.student_id = 'alice'" in config and f"course_id = {COURSE_ID!r}" in config
    assert main(["exchange", "collect"]) == 2
    assert "exchange collect needs the assignment" in capsys.readouterr().err


def test_the_projects_nbgrader_config_puts_the_exchange_in_the_build_folder():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO_ROOT)).load_config()
    assert config.Exchange.root == str(REPO_ROOT / "build" / "exchange") and (REPO_ROOT / "build" / "exchange").is_dir()
    assert config.AssignLatePenalties.plugin_class == "course_lib.grading.late.CoursePenalty"
    assert config.CoursePenalty.policy_file == str(REPO_ROOT / "course.toml")
