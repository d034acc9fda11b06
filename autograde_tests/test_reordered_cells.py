"""A submission is run in the notebook's own order. The grader sends the known-good versions of
some graded functions with the probes of the cells that need them, which come after the cells
judging those functions: moving cells must not change that. Each attack below (``attacks/``) moved
the cells of a part judged with the known-good code above the parts it stands in for, captured
that code during its probe and answered the earlier parts with it (they were never written): on
the code before the restore stage kept the notebook's order they earned 9/9, 11.6/12 and
10.75/13. Real nbgrader, real sandboxed kernels."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from course_lib.grading.course import grade_id, read_notebook
from course_lib.grading.restore import rebuild

from grading_fixtures import EXAMPLES, course_for, grade_notebooks

ATTACKS = Path(__file__).resolve().parent / "attacks"
# assignment -> the graded cells of the parts the attack never wrote, and its score as a whole.
NEVER_WRITTEN = {
    "softmax_toy": (("softmax_loss_tests", "softmax_gradient_tests"), 5.0),
    "layers": (("cce_tests", "cce_gradient_tests", "softmax_forward_tests", "softmax_backward_tests",
                "dense_backward_tests"), 3.0),
    "mnist_softmax": (("predict_tests", "loss_tests", "gradient_tests"), 2.75),
}


@pytest.mark.parametrize("assignment", sorted(NEVER_WRITTEN))
def test_cells_moved_to_capture_the_known_good_code_earn_nothing_for_what_was_never_written(assignment, tmp_path):
    result = grade_notebooks(assignment, {"reordered": ATTACKS / f"{assignment}_reorder_known_good.ipynb"},
                             tmp_path)["reordered"]
    cells, total = NEVER_WRITTEN[assignment]
    scores = {c.grade_id: c.score for c in result.cells}
    assert all(scores[gid] == 0 for gid in cells), scores
    assert result.score == total, scores
    assert any("moved out of the notebook's order" in note for note in result.notes), result.notes


def test_a_moved_answer_cell_runs_in_the_notebooks_order_with_the_cells_the_student_put_after_it():
    source = read_notebook(Path(course_for("softmax_toy", Path("/nonexistent")).source) / "softmax_toy" / "softmax_toy.ipynb")
    student = read_notebook(EXAMPLES / "softmax_toy" / "reference.ipynb")
    ids = [grade_id(c) for c in student.cells]
    answer = student.cells[ids.index("softmax_loss")]
    own = copy.deepcopy(answer)
    own.metadata = {}
    own.source = "# my own helper cell, after my answer"
    cells = [c for c in student.cells if c is not answer]
    at = [grade_id(c) for c in cells].index("softmax_loss_tests") + 1
    student.cells = cells[:at] + [answer, own] + cells[at:]  # the answer below its test, a cell of mine after it

    rebuilt = rebuild(student, source, source)
    order = [grade_id(c) for c in rebuilt.nb.cells if grade_id(c)]
    assert order == [grade_id(c) for c in source.cells if grade_id(c)]
    position = [c.source for c in rebuilt.nb.cells].index(own.source)
    assert grade_id(rebuilt.nb.cells[position - 1]) == "softmax_loss"
    assert position in rebuilt.student_cells
    [note] = [n for n in rebuilt.notes if "moved" in n]
    assert "'softmax_loss'" in note or "'softmax_loss_tests'" in note
    untouched = rebuild(read_notebook(EXAMPLES / "softmax_toy" / "reference.ipynb"), source, source)
    assert not [n for n in untouched.notes if "moved" in n]
