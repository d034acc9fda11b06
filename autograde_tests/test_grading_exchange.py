"""The whole nbgrader loop through the exchange inside the course tree, with real nbgrader and
real kernels: release into the exchange, two students (each in a HOME-like folder of their
own) fetch and submit with plain nbgrader, collect, the pipeline's autograde of submitted/,
feedback released, each student fetches their own feedback and reads the named mistake and
the late penalty. The gradebook (what the formgrader shows) has the roster's names, nbgrader's
submission times and the late penalty."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import parse_utc

from course_lib.grading import exchange
from course_lib.grading.autograde import run_autograde
from course_lib.grading.course import COURSE_ID, REPO_ROOT, Course, tool_env
from course_lib.grading.gradebook_io import import_roster
from course_lib.grading.release import release

from grading_fixtures import EXAMPLES, FIXTURE, FIXTURE_JUDGES, SETTINGS

STUDENTS = {"alice": "reference", "bob": "mistake_softmax_no_max"}  # student -> the example they hand in


def student_nbgrader(home: Path, *args: str) -> str:
    """Plain nbgrader as the student runs it, in their own folder (their nbgrader_config.py only)."""
    env = dict(tool_env(), HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"))
    env.pop("COURSE_LIB_GRADEBOOK", None)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=home, env=env, capture_output=True, text=True,
                          timeout=120)
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed for {home.name}:\n{log[-3000:]}"
    return log


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    root = tmp_path_factory.mktemp("exchange")
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
    for student, example in STUDENTS.items():
        home = root / "home" / student
        home.mkdir(parents=True)
        (home / "nbgrader_config.py").write_text(exchange.student_config(course, student))
        student_nbgrader(home, "fetch_assignment", "tiny")
        shutil.copy(EXAMPLES / "tiny" / f"{example}.ipynb", home / "tiny" / "tiny.ipynb")  # the student's work
        student_nbgrader(home, "submit", "tiny")
        homes[student] = home
    collected = exchange.collect(course, "tiny")
    run = run_autograde(course, "tiny", course.submitted, settings=SETTINGS, progress=False)
    feedback = exchange.release_feedback(course, "tiny")
    fetched = {student: student_nbgrader(home, "fetch_feedback", "tiny") for student, home in homes.items()}
    return course, outbound, collected, run, feedback, homes, fetched


def test_the_exchange_lives_in_the_course_tree(loop):
    course, outbound, *_ = loop
    assert outbound == course.build / "exchange" / COURSE_ID / "outbound" / "tiny"
    assert (outbound / "tiny.ipynb").is_file()
    assert "/usr/local/share/nbgrader/exchange" not in exchange.student_config(course, "alice")


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
    course, _, _, run, feedback, homes, fetched = loop
    assert sorted(feedback.released) == sorted(STUDENTS) and feedback.skipped == {}
    pages = {}
    for student, home in homes.items():
        found = list((home / "tiny" / "feedback").glob("*/tiny.html"))
        assert len(found) == 1, (student, fetched[student][-2000:])
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
