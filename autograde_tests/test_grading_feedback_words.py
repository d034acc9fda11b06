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
