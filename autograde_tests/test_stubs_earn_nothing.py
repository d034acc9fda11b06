"""A function that computes nothing earns nothing. Some checks test a property other than the
value (arguments left unchanged, stability judged as the function agreeing with itself on shifted
scores, activations in range): a stub returning zeros, a constant, uniform probabilities or its own
argument passed them. Each attack below (``attacks/<assignment>_constant_stubs.ipynb``) answers every
graded function with such a stub; on the code before ``checks.common.computes`` gated those checks
it earned 0.6/12 (layers), 1.3/9 (softmax_toy), 1.0/6 (mlp_backprop) and 3.43/13 (mnist_softmax,
whose model-choice cell is the reference's and keeps what it earns). Real nbgrader, real sandboxed
kernels."""
from __future__ import annotations

from pathlib import Path

import pytest

from grading_fixtures import grade_notebooks

ATTACKS = Path(__file__).resolve().parent / "attacks"
# The graded cells whose functions the attack left as the reference wrote them.
KEPT = {"mnist_softmax": {"chosen_model_tests"}}


@pytest.mark.parametrize("assignment", ["layers", "softmax_toy", "mlp_backprop", "mnist_softmax"])
def test_stubs_earn_nothing(assignment, tmp_path):
    result = grade_notebooks(assignment, {"stubs": ATTACKS / f"{assignment}_constant_stubs.ipynb"}, tmp_path)["stubs"]
    earned = {c.grade_id: [v.name for v in c.checks if v.passed] for c in result.cells
              if c.grade_id not in KEPT.get(assignment, set())}
    assert not any(earned.values()), earned
