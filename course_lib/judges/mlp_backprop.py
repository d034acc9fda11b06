"""The judge of the MLP backprop notebook: the named checks of each graded cell, with weights.

Every part is judged on its own: ``compute_grad_loss`` runs with a known-good ``forward`` in
place of the student's (``checks.known_good``), so a mistake in forward is charged to forward
alone; its loss and both weight gradients are judged against the grader's own numbers (not
numerical gradients of the student's loss), and the hidden layer's gradient is judged given the
output layer's: an output gradient off by a factor (1/N missing, sign) is charged once, to the
output layer. Failures name mistakes of ``course_lib.checks.mlp_backprop.MISTAKES``.
"""
from __future__ import annotations

import numpy as np

from course_lib.checks import mlp_backprop as visible
from course_lib.checks.common import computes, failure
from course_lib.grading.judge import AssignmentJudge, CellJudge, Check
from course_lib.solutions import mlp as solution


def _sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def _copy(p):
    return {"W": {k: np.array(v, copy=True) for k, v in p["W"].items()}}


# --- forward -----------------------------------------------------------------------------------

def _hidden_forward_cases():
    rng = np.random.default_rng(2001)
    cases = []
    for D, H, C, N in [(12, 7, 4, 30), (784, 6, 10, 5)]:
        p = {"W": {"hidden": rng.standard_normal((H, D + 1)), "output": 2 * rng.standard_normal((C, H + 1))}}
        cases.append((p, rng.random((D, N))))
    big = {"W": {"hidden": rng.standard_normal((5, 5)), "output": rng.standard_normal((3, 6))}}
    big["W"]["output"][:, -1] += 1000.0
    return cases, (big, rng.random((4, 7)))


def forward_values(student) -> None:
    forward = student.forward
    visible._check_forward_values(forward)
    visible._check_forward_float32(forward)
    cases, _ = _hidden_forward_cases()
    for p, X in cases:
        (D, N), H, C = X.shape, p["W"]["hidden"].shape[0], p["W"]["output"].shape[0]
        A, P = visible._forward(forward, _copy(p), X, f"forward(p, X) with D={D}, H={H}, C={C}, N={N}")
        expected = solution.forward(p, X)
        if not np.allclose(A, expected["hidden"], rtol=1e-9, atol=1e-12):
            raise failure(None, "wrong_value", f"the hidden activations are wrong for D={D}, H={H}, N={N}")
        if not np.allclose(P, expected["output"], rtol=1e-9, atol=1e-12):
            raise failure(None, "output_wrong_value", f"the output probabilities are wrong for D={D}, H={H}, C={C}, N={N}")


def _forward_computes(forward) -> None:
    cases, _ = _hidden_forward_cases()
    computes(None, forward, [(_copy(p), X) for p, X in cases[:1]] + [(_copy(cases[0][0]), 2 * cases[0][1])],
             "forward(p, X)['output']", pick=lambda result: result["output"])


def forward_properties(student) -> None:
    _forward_computes(student.forward)
    visible._check_forward_properties(student.forward)


def forward_large_scores(student) -> None:
    forward = student.forward
    _forward_computes(forward)
    visible._check_forward_large_scores(forward, relative=True)
    _, (p, X) = _hidden_forward_cases()
    label = "forward(p, X) with output scores around 1000 (other weights)"
    _, P = visible._forward(forward, _copy(p), X, label, not_finite=(
        "output_no_max_shift", f"{label}: the output contains inf or nan, exp overflows. Subtract each column's "
                               "maximum score before exp"))
    near = _copy(p)
    near["W"]["output"][:, -1] -= 1000.0
    _, P_near = visible._forward(forward, near, X)
    if not np.allclose(P, P_near, rtol=1e-9, atol=1e-12):
        raise failure(None, "output_no_max_shift", f"{label}: the output differs from the output for the same scores "
                                                   "near 0; raising every score of a sample equally changes no probability")


# --- compute_grad_loss -------------------------------------------------------------------------

def _grad_loss(student):
    """The student's compute_grad_loss, with a known-good forward in place of the student's."""
    run = student.helper("with_known_good", "compute_grad_loss")
    return lambda p, X, Y: run(["forward"], p, X, Y)


def _hidden_backprop_cases():
    rng = np.random.default_rng(2002)
    cases = []
    for D, H, C, N in [(12, 7, 4, 30), (784, 6, 10, 5)]:
        p = {"W": {"hidden": rng.standard_normal((H, D + 1)), "output": rng.standard_normal((C, H + 1))}}
        X = rng.random((D, N))
        cases.append((p, X, np.eye(C)[:, rng.integers(0, C, N)]))
    return cases


def _size(p, X) -> str:
    (D, N), H, C = X.shape, p["W"]["hidden"].shape[0], p["W"]["output"].shape[0]
    return f"D={D}, H={H}, C={C}, N={N}"


def grad_loss_loss(student) -> None:
    cgl = _grad_loss(student)
    visible._check_loss(cgl)
    for p, X, Y in _hidden_backprop_cases():
        loss, _ = visible._grad_loss(cgl, p, X, Y)
        expected = float(solution.loss(p, X, Y))
        if not np.isclose(loss, expected, rtol=1e-9):
            raise failure(None, "loss_wrong", f"the loss is wrong for {_size(p, X)}: expected {expected:.6f}, "
                                              f"got {loss:.6f}")


_EXACT = "the gradient of the loss"


def _output_gradient(cgl, p, X, Y):
    _, grads = visible._grad_loss(cgl, p, X, Y)
    dW = visible._shape(grads["output"], p["W"]["output"], "output")
    visible._judge_output_gradient(dW, solution.compute_grad_loss(p, X, Y)[1]["W"]["output"], X.shape[1], _EXACT)
    return dW


def grad_loss_output(student) -> None:
    cgl = _grad_loss(student)
    _output_gradient(cgl, *visible._problem(24))
    for p, X, Y in _hidden_backprop_cases():
        dW = _output_gradient(cgl, p, X, Y)
        if not np.allclose(dW, solution.compute_grad_loss(p, X, Y)[1]["W"]["output"], rtol=1e-8, atol=1e-12):
            raise failure(None, "wrong_value", f"grads['W']['output'] is wrong for {_size(p, X)}")


def _factor(dW_output, exact: np.ndarray) -> float:
    """The factor k when the student's dW_output is k times the exact one (1 otherwise): the
    hidden layer is judged given what the output layer passed back."""
    try:
        dW = np.asarray(dW_output, dtype=np.float64)
    except (TypeError, ValueError):
        return 1.0
    if dW.shape != exact.shape or not np.all(np.isfinite(dW)):
        return 1.0
    k = float(np.sum(dW * exact) / np.sum(exact * exact))
    return k if k != 0 and np.allclose(dW, k * exact, rtol=1e-7, atol=1e-12) else 1.0


def _hidden_gradient(cgl, p, X, Y, hidden_weights: bool):
    _, grads = visible._grad_loss(cgl, p, X, Y)
    dW = visible._shape(grads["hidden"], p["W"]["hidden"], "hidden")
    exact = solution.compute_grad_loss(p, X, Y)[1]["W"]
    k = _factor(grads["output"], exact["output"])
    expected = k * exact["hidden"]
    if k != 1.0 and np.allclose(np.asarray(dW, dtype=np.float64), exact["hidden"], rtol=1e-8, atol=1e-12):
        expected = exact["hidden"]  # the factor was the output layer's own (dW_output divided again), not dZ_output's
    visible._judge_hidden_gradient(dW, expected, hidden_weights, _EXACT)
    return dW, expected


def grad_loss_hidden(student) -> None:
    cgl = _grad_loss(student)
    _hidden_gradient(cgl, *visible._problem(25, hidden_weights=False), hidden_weights=False)
    _hidden_gradient(cgl, *visible._problem(25), hidden_weights=True)
    for p, X, Y in _hidden_backprop_cases():
        dW, expected = _hidden_gradient(cgl, p, X, Y, hidden_weights=True)
        if not np.allclose(dW, expected, rtol=1e-8, atol=1e-12):
            raise failure(None, "hidden_backprop_wrong", f"grads['W']['hidden'] is wrong for {_size(p, X)}")


def grad_loss_one_sample(student) -> None:
    """The loss and both gradients of a single sample (N = 1): the part a per-sample formula
    applied to the batch, or a sum where the mean is asked, gets right."""
    cgl = _grad_loss(student)
    for p, X, Y in [visible._problem(24), *_hidden_backprop_cases()]:
        x, y = X[:, :1], Y[:, :1]
        loss, grads = visible._grad_loss(cgl, p, x, y)
        expected_loss, expected = solution.compute_grad_loss(p, x, y)
        if not np.isclose(loss, float(expected_loss), rtol=1e-9):
            raise failure(None, "loss_wrong", f"the loss of one sample is wrong for {_size(p, x)}")
        for name in ("output", "hidden"):
            dW = visible._shape(grads[name], p["W"][name], name)
            if not np.allclose(dW, expected["W"][name], rtol=1e-8, atol=1e-12):
                raise failure(None, "wrong_value", f"grads['W']['{name}'] of one sample is wrong for {_size(p, x)}")


JUDGE = AssignmentJudge(
    assignment="mlp_backprop",
    reference={"forward": solution.forward, "compute_grad_loss": solution.compute_grad_loss},
    cells={cell.grade_id: cell for cell in [
        CellJudge("forward_tests", names=("forward",), checks=(
            Check("activations in (0, 1), columns summing to 1", forward_properties, 1),
            Check("biases from the last columns", lambda s: visible._check_forward_bias(s.forward), 1),
            Check("values on random inputs (float64 and float32)", forward_values, 1),
            Check("output scores around 1000 (stability)", forward_large_scores, 1),
        )),
        CellJudge("compute_grad_loss_tests", names=("compute_grad_loss",), checks=(
            Check("the loss", grad_loss_loss, 1),
            Check("the output layer's gradient", grad_loss_output, 1.5),
            Check("the hidden layer's gradient (given the output layer's)", grad_loss_hidden, 1.5),
            Check("a single sample (N = 1)", grad_loss_one_sample, 1),
        )),
    ]},
)
