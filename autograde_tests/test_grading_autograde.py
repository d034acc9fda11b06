"""The real pipeline on every shipped example: exact scores, the gradebook, the CSV, the
summary, feedback without hidden code, idempotent and resumable re-runs."""
from __future__ import annotations

import csv
import html
import re
import shutil

import pytest
from nbgrader.api import Gradebook

from course_lib.grading.autograde import autograde
from course_lib.grading.messages import MESSAGE_LIMIT

from grading_fixtures import EXAMPLES, SETTINGS, course_for, expected_scores, hidden_lines, verdict_differences


ASSIGNMENTS = sorted(p.name for p in EXAMPLES.iterdir() if (p / "expected.json").is_file())


@pytest.fixture(params=ASSIGNMENTS)
def run(request, graded):
    return graded(request.param)


def test_every_example_gets_exactly_its_expected_scores_and_fails_exactly_its_expected_checks(run):
    wrong = verdict_differences(run)
    assert not wrong, wrong


def test_reference_full_marks_and_untouched_release_zero(run):
    reference, untouched = run.by_student["reference"], run.by_student["untouched"]
    assert reference.score == reference.max_score > 0
    assert reference.flags == [] and reference.notes == []
    assert untouched.score == 0


def test_failures_are_named_in_words(run):
    for result in run.results:
        for cell in result.cells:
            assert cell.message, (result.student, cell)
            assert cell.checks, (result.student, cell)
            for verdict in cell.checks:
                assert verdict.message and (verdict.passed or verdict.mistake), (result.student, verdict)
            if cell.status.value == "passed":
                assert cell.score == cell.points


def test_each_typical_mistake_is_named_by_its_check_in_the_result_and_the_feedback(run):
    """expected.json records, per typical mistake, the graded cell that fails first and the
    message its check gives when the edited notebook runs in-process (the mutation runner);
    the judge must name that same mistake with that message in that cell, and the feedback
    must show it."""
    expected = expected_scores(run.assignment)
    mistakes = {student: spec["failure"] for student, spec in expected.items() if "failure" in spec}
    if run.assignment != "tiny":
        assert len(mistakes) >= 5, f"{run.assignment}: {sorted(mistakes)}"
    for student, failure in mistakes.items():
        cell = run.by_student[student].cell(failure["check"])
        assert cell.score < cell.points, (student, cell)
        named = {(v.mistake, v.message) for v in cell.checks if not v.passed}
        assert (failure["mistake"], failure["message"][:MESSAGE_LIMIT]) in {(m, t[:MESSAGE_LIMIT]) for m, t in named}, (student, failure, named)
        page = (run.out / "feedback" / f"{student}.html").read_text()
        assert html.escape(failure["message"][:200]) in page, (student, failure["check"])
        assert 0 < run.by_student[student].score < run.by_student[student].max_score, student


def test_gradebook_holds_the_same_scores_one_row_per_student(run):
    with Gradebook(run.course.db_url) as gb:
        submissions = gb.assignment_submissions(run.assignment)
        assert sorted(s.student.id for s in submissions) == sorted(run.by_student)
        for student, result in run.by_student.items():
            for cell in result.cells:
                grade = gb.find_grade(cell.grade_id, run.assignment, run.assignment, student)
                assert grade.auto_score == pytest.approx(cell.score), (student, cell.grade_id)
            notebook = gb.find_submission_notebook(run.assignment, run.assignment, student)
            assert notebook.flagged == (bool(result.flags) or result.status.value != "graded")


def test_csv_summary_and_histograms(run):
    rows = list(csv.DictReader(open(run.out / "scores.csv")))
    assert [r["student"] for r in rows] == sorted(run.by_student)
    cells = [c.grade_id for c in run.results[0].cells]
    for row in rows:
        result = run.by_student[row["student"]]
        assert float(row["total"]) == result.score
        for cell in result.cells:
            assert float(row[cell.grade_id]) == cell.score
    for gid in cells:
        png = run.out / "summary" / f"hist_{gid}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "reference" in (run.out / "summary" / "summary.txt").read_text()


def test_feedback_shows_no_hidden_code_and_no_traceback(run):
    hidden = hidden_lines(run.course.source_notebook(run.assignment))
    assert hidden
    for student in run.by_student:
        page = (run.out / "feedback" / f"{student}.html").read_text()
        text = html.unescape(re.sub(r"<[^>]*>", "", page))  # as read, whatever the markup
        assert "Traceback" not in text and "BEGIN HIDDEN" not in text
        for line in hidden:
            assert html.escape(line) not in page and line not in text, (student, line)


def test_tiny_feedback_names_the_hidden_check_in_words(tiny_run):
    page = (tiny_run.out / "feedback" / "mistake_softmax_no_max.html").read_text()
    assert "softmax of large logits" in page and "2 of 3 checks passed: 2 / 3" in page
    page = (tiny_run.out / "feedback" / "mistake_cce_mean_over_entries.html").read_text()
    assert "cce on the 2-sample example" in page


def test_rerun_is_idempotent_and_an_interrupted_run_resumes(tiny_run, tmp_path):
    # On a copy of the shared run (build folder, gradebook and results alike).
    build = tmp_path / "build"
    shutil.copytree(tiny_run.course.build, build, symlinks=True)
    course = course_for("tiny", build)
    out = build / tiny_run.out.relative_to(tiny_run.course.build)
    submissions = build / tiny_run.submissions.relative_to(tiny_run.course.build)
    # Simulate an interrupted run: two results were never written.
    for student in ("reference", "mistake_cce_no_clip"):
        (out / "results" / f"{student}.json").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}
    again = autograde(course, "tiny", submissions, out=out, settings=SETTINGS, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}
    regraded = {name for name in after if before.get(name) != after[name]}
    assert regraded == {"reference.json", "mistake_cce_no_clip.json"}
    assert [(r.student, r.score) for r in again] == [(r.student, r.score) for r in tiny_run.results]
    with Gradebook(course.db_url) as gb:
        assert len(gb.assignment_submissions("tiny")) == len(tiny_run.results)
        assert len(gb.students) == len(tiny_run.results)
