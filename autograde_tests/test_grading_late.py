"""The late policy of course.toml: days late rounded up, a fraction of the points per day, the
score floored at 0, nothing without a deadline or a submission time; applied by the pipeline
from nbgrader's timestamp.txt, recorded in the results, the CSV, the gradebook (nbgrader's
late_submission_penalty, as plain nbgrader's plugin gives it) and the student's feedback."""
from __future__ import annotations

import csv
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties

from course_lib.grading.autograde import run_autograde
from course_lib.grading.course import REPO_ROOT, Course
from course_lib.grading.late import CoursePenalty, Late, LatePolicy, PolicyError, apply, read_policies
from course_lib.grading.release import release

from grading_fixtures import EXAMPLES, FIXTURE, FIXTURE_JUDGES, SETTINGS

DEADLINE = datetime(2026, 12, 14, 23, 59, tzinfo=timezone(timedelta(hours=1)))
POLICY = LatePolicy(DEADLINE, 0.1)


def stamp(moment: datetime) -> str:
    """A time as nbgrader's submit writes timestamp.txt."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


@pytest.mark.parametrize("after, days", [(timedelta(0), 0), (-timedelta(days=3), 0), (timedelta(seconds=1), 1),
                                         (timedelta(days=1), 1), (timedelta(days=1, seconds=1), 2),
                                         (timedelta(days=12, hours=5), 13)])
def test_days_late_are_rounded_up(after, days):
    assert POLICY.days_late(DEADLINE + after) == days
    assert POLICY.days_late((DEADLINE + after).astimezone(timezone.utc).replace(tzinfo=None)) == days  # naive = UTC


def test_on_time_one_day_late_past_the_floor_and_no_deadline():
    assert apply(POLICY, DEADLINE - timedelta(minutes=5), 5.0, 6.0) is None
    one = apply(POLICY, DEADLINE + timedelta(hours=2), 5.0, 6.0)
    assert one == Late(1, 0.1, 0.6) and one.text(6) == "submitted 1 day late: \u221210% of the 6 points, \u22120.6 points"
    two = apply(POLICY, DEADLINE + timedelta(days=1, hours=2), 4.5, 6.0)
    assert two.points == 1.2 and "2 days late: \u221220%" in two.text(6)
    floor = apply(POLICY, DEADLINE + timedelta(days=11), 4.0, 6.0)
    assert floor == Late(11, 1.1, 4.0) and "floored at 0" in floor.text(6)
    assert apply(None, DEADLINE + timedelta(days=30), 4.0, 6.0) is None
    assert apply(POLICY, None, 4.0, 6.0) is None


def test_the_policy_file_is_read_and_every_bad_entry_named(tmp_path):
    assert read_policies(tmp_path / "absent.toml") == {}
    good = tmp_path / "course.toml"
    good.write_text("[assignments.layers]\ndeadline = 2026-12-14T23:59:00+01:00\nlate_penalty_per_day = 0.1\n"
                    "[assignments.other]\n")
    assert read_policies(good) == {"layers": POLICY}
    bad = tmp_path / "bad.toml"
    bad.write_text("[assignments.a]\ndeadline = 2026-12-14T23:59:00\n[assignments.b]\ndeadline = 2026-12-14T23:59:00Z\n"
                   "late_penalty_per_day = 10\n[assignments.c]\nlate_penalty_per_day = 0.1\n")
    with pytest.raises(PolicyError) as error:
        read_policies(bad)
    text = str(error.value)
    assert "[assignments.a]: deadline must be a TOML date-time with its offset" in text
    assert "[assignments.b]: late_penalty_per_day must be a fraction from 0 to 1" in text
    assert "[assignments.c]: late_penalty_per_day without a deadline" in text


def test_the_shipped_course_file_has_no_deadline():
    assert read_policies(REPO_ROOT / "course.toml") == {}


@pytest.fixture(scope="module")
def late_run(tmp_path_factory):
    """Real kernels: on time, 1 day late, 12 days late (past the floor) and a bare notebook
    (no submission time), in nbgrader's submitted/ layout with timestamp.txt."""
    root = tmp_path_factory.mktemp("late")
    policy = root / "course.toml"
    policy.write_text("[assignments.tiny]\ndeadline = 2026-12-14T23:59:00+01:00\nlate_penalty_per_day = 0.1\n")
    course = Course(root=REPO_ROOT, source=FIXTURE, build=root / "build", judges=FIXTURE_JUDGES, policy_file=policy)
    release(course, "tiny")
    folder = root / "submitted"
    times = {"ontime": DEADLINE - timedelta(hours=3), "oneday": DEADLINE + timedelta(hours=20),
             "floor": DEADLINE + timedelta(days=11, hours=1)}
    examples = {"ontime": "reference", "oneday": "reference", "floor": "mistake_softmax_no_max"}
    for student, moment in times.items():
        (folder / student / "tiny").mkdir(parents=True)
        shutil.copy(EXAMPLES / "tiny" / f"{examples[student]}.ipynb", folder / student / "tiny" / "tiny.ipynb")
        (folder / student / "tiny" / "timestamp.txt").write_text(stamp(moment))
    shutil.copy(EXAMPLES / "tiny" / "reference.ipynb", folder / "bare.ipynb")
    run = run_autograde(course, "tiny", folder, out=root / "out", settings=SETTINGS, progress=False)
    return course, run, times


def test_the_pipeline_applies_the_policy_from_the_submission_time(late_run):
    course, run, times = late_run
    results = {r.student: r for r in run.results}
    assert {s: (r.score, r.late_days, r.late_penalty, r.final_score) for s, r in results.items()} == {
        "ontime": (6.0, 0, 0.0, 6.0), "oneday": (6.0, 1, 0.6, 5.4), "floor": (5.0, 12, 5.0, 0.0), "bare": (6.0, 0, 0.0, 6.0)}
    assert results["bare"].submitted_at is None
    assert "no submission time (timestamp.txt): the late policy was not applied" in results["bare"].notes
    rows = {r["student"]: r for r in csv.DictReader(open(run.out / "scores.csv"))}
    assert (float(rows["oneday"]["total"]), float(rows["oneday"]["late_penalty"])) == (5.4, 0.6)
    assert float(rows["floor"]["total"]) == 0 and "12 days late" in rows["floor"]["notes"]
    page = (run.out / "feedback" / "oneday.html").read_text()
    assert "Score: 5.4 / 6</b> (6 for the tests, \u22120.6 for 1 day late)" in page
    assert "submitted 1 day late: \u221210% of the 6 points, \u22120.6 points" in page
    assert "late" not in (run.out / "feedback" / "ontime.html").read_text()
    with Gradebook(course.db_url) as gb:
        assert gb.find_assignment("tiny").duedate == DEADLINE.astimezone(timezone.utc).replace(tzinfo=None)
        for student, moment in times.items():
            submission = gb.find_submission("tiny", student)
            assert submission.timestamp == moment.astimezone(timezone.utc).replace(tzinfo=None)
            assert submission.late_submission_penalty == results[student].late_penalty
            assert submission.total_seconds_late == pytest.approx(max(0.0, (moment - DEADLINE).total_seconds()))


def test_plain_nbgraders_plugin_gives_the_same_penalty(late_run):
    """CoursePenalty, as nbgrader's AssignLatePenalties calls it in plain `nbgrader autograde`."""
    course, run, times = late_run
    results = {r.student: r for r in run.results}
    parent = AssignLatePenalties(plugin_class=CoursePenalty)
    parent.assignment_id, parent.notebook_id, parent.db_url = "tiny", "tiny", course.db_url  # as its preprocess sets them
    plugin = CoursePenalty(parent=parent, policy_file=str(course.policy_file))  # as its init_plugin makes it
    for student, moment in times.items():
        seconds = max(0.0, (moment - DEADLINE).total_seconds())
        penalty = plugin.late_submission_penalty(student, results[student].score, seconds)
        assert (penalty or 0.0) == results[student].late_penalty, student
