"""What a student reads in the feedback: the batch-versus-one-sample mistakes named in words (the
phrases recorded as ``named`` in expected.json), and no traceback into course_lib, no internal
name of the grader's test doubles, no raw NameError for an unfilled blank on any page."""
from __future__ import annotations

import html
import re

import pytest

from grading_fixtures import EXAMPLES, expected_scores

ASSIGNMENTS = sorted(p.name for p in EXAMPLES.iterdir() if (p / "expected.json").is_file())
INTERNAL = ("ShiftLayer", "TableLayer", "_Tag", "PlainDense", "PlainSoftmax", "LossSpies", "StandInObject",
            "StandInFunction", "StandInClass", "StudentView", "course_lib/", "known_good", "loop_trace",
            "train_trace", "with_known_good")


def _page_text(run, student: str) -> str:
    page = (run.out / "feedback" / f"{student}.html").read_text()
    return html.unescape(re.sub(r"<[^>]*>", "", page))


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS
                                        if any("named" in spec for spec in expected_scores(a).values())])
def test_batch_family_mistakes_are_named_in_words_in_the_feedback(graded, assignment):
    run = graded(assignment)
    named = {student: spec["named"] for student, spec in expected_scores(assignment).items() if "named" in spec}
    assert named
    missing = {}
    for student, cells in named.items():
        text = _page_text(run, student)
        result = run.by_student[student]
        for grade_id, phrases in cells.items():
            messages = " ".join(v.message for v in result.cell(grade_id).checks if not v.passed)
            lost = [p for p in phrases if p not in messages or p not in text]
            if lost:
                missing[(student, grade_id)] = lost
    assert not missing, missing


def test_the_real_student_gets_about_a_third_with_every_mistake_named(layers_run):
    result = layers_run.by_student["real_student"]
    assert 0.3 * result.max_score <= result.score <= 0.4 * result.max_score, result.score
    assert all(cell.score > 0 for cell in result.cells), [(c.grade_id, c.score) for c in result.cells]
    mistakes = {v.mistake for cell in result.cells for v in cell.checks if not v.passed}
    assert {"cce_divides_by_classes", "cce_gradient_divides_by_zero", "softmax_whole_matrix",
            "softmax_backward_flattened_jacobian", "dense_weights_gradient_outer", "loop_reaches_into_layer",
            "loop_gradient_not_divided_by_batch_size"} <= mistakes, mistakes
    assert not mistakes & {"raised", "wrong_value", "softmax_forward_first"}, mistakes


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_feedback_shows_a_traceback_an_internal_name_or_a_raw_name_error(graded, assignment):
    run = graded(assignment)
    bad = {}
    for student, result in run.by_student.items():
        texts = [_page_text(run, student)] + [v.message for cell in result.cells for v in cell.checks]
        for text in texts:
            found = [word for word in INTERNAL + ("Traceback", "NameError") if word in text]
            found += re.findall(r'File "[^"]*course_lib[^"]*"', text)
            if found:
                bad[student] = (found, text[:300])
    assert not bad, bad


def test_an_answer_cell_stopped_by_an_error_says_so_and_an_unfilled_blank_says_blank_not_filled_yet(graded):
    """The import of a package the course does not have, a name never defined and another
    exception, each before the cell's function is defined: the feedback says the cell stopped,
    with what stopped it in words and the line of the student's cell, never "blank not filled yet";
    the release as handed out (every `?` unfilled) still says "blank not filled yet"."""
    run = graded("softmax_toy")
    stopped = {"stopped_import_torch": ("softmax_loss_tests", "softmax_loss", ["the course environment has no package `torch`",
                                                                               "the exercise is written in NumPy alone"]),
               "stopped_index_error": ("softmax_gradient_tests", "softmax_gradient", ["an index out of range (IndexError"]),
               "stopped_undefined_name": ("mini_batches_tests", "mini_batches", ["the name `seed` is not defined there"])}
    for student, (grade_id, cell, words) in stopped.items():
        failed = [v for v in run.by_student[student].cell(grade_id).checks if not v.passed]
        assert failed and all(v.mistake == "cell_stopped" for v in failed), (student, failed)
        for verdict in failed:
            assert "blank not filled yet" not in verdict.message, verdict
            assert all(w in verdict.message for w in words + ["stopped on line 1 of that cell"]), verdict
        text = _page_text(run, student)
        assert "This cell stopped on line 1 with" in text and "No module named" not in text, student
    untouched = run.by_student["untouched"]
    for cell in untouched.cells:
        for verdict in cell.checks:
            assert verdict.mistake == "missing" and "blank not filled yet" in verdict.message, verdict
            assert "stopped on line" not in verdict.message, verdict
    assert "Blank not filled yet" in _page_text(run, "untouched")
