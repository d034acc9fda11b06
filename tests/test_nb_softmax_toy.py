"""The softmax toy notebook: it runs, its solutions are course_lib.solutions.softmax_toy's code, its
blanks are well formed, and its visible checks pass on the reference and name wrong answers' mistakes."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import softmax_toy as checks
from course_lib.checks.common import CheckFailure
from course_lib.solutions import softmax_regression, softmax_toy
from nbtools import (
    assert_blanks_well_formed,
    assert_nbgrader_metadata,
    assert_same_code,
    blanks_in,
    expect_mistake,
    graded_cells,
    hidden_part,
    nbgrader_meta,
    read_notebook,
    solution_cells,
)

NOTEBOOK = "softmax_toy/softmax_toy.ipynb"
FUNCTIONS = ["softmax_loss", "softmax_gradient", "softmax_loss_l2", "softmax_gradient_l2", "mini_batches"]


@pytest.mark.notebook
def test_softmax_toy_notebook_runs_top_to_bottom(run_notebook):
    nb, seconds = run_notebook(NOTEBOOK)
    printed = "".join(o.get("text", "") for c in graded_cells(nb) for o in c.get("outputs", []))
    assert printed.count("\u2714") == len(graded_cells(nb)) == 5, printed
    batches = next(c for c in nb.cells if nbgrader_meta(c)["grade_id"] == "batches")
    # The kernel may send the cell's printing as several stream messages: read them all.
    lines = "".join(o.get("text", "") for o in batches.outputs if o.get("name") == "stdout").splitlines()
    assert len(lines) == 10
    assert lines[4].startswith("iteration 4: epoch 1") and lines[9].startswith("iteration 9: epoch 2")


def test_softmax_toy_solutions_are_the_reference():
    nb = read_notebook(NOTEBOOK)
    for name in FUNCTIONS:
        assert_same_code(nb, name, getattr(softmax_toy, name))


def test_softmax_toy_blanks_and_metadata():
    nb = read_notebook(NOTEBOOK)
    assert assert_blanks_well_formed(nb) == 8
    assert_nbgrader_metadata(nb)
    graded = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in graded_cells(nb)}
    assert graded == {"softmax_loss_tests": 2, "softmax_gradient_tests": 2, "softmax_loss_l2_tests": 1,
                      "softmax_gradient_l2_tests": 2, "mini_batches_tests": 2}
    texts = [t for c in solution_cells(nb) for t in blanks_in(c.source)]
    assert texts.count("return(?)") == 2 and "dZ[?] -= 1" in texts


def test_toy_reference_agrees_with_softmax_regression():
    """The step-by-step toy functions and the vectorised softmax regression are the same maths."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((3, 5))
    X = np.vstack([rng.standard_normal((4, 7)), np.ones((1, 7))])
    y = rng.integers(0, 3, 7)
    for alpha in [0.0, 0.3]:
        assert softmax_toy.softmax_loss_l2(W, X, y, alpha) == pytest.approx(
            softmax_regression.softmax_loss(W, X, y, alpha), rel=1e-12)
        np.testing.assert_allclose(softmax_toy.softmax_gradient_l2(W, X, y, alpha),
                                   softmax_regression.softmax_gradient(W, X, y, alpha), rtol=1e-12, atol=1e-15)


def test_visible_checks_pass_on_the_reference(capsys):
    checks.check_softmax_loss(softmax_toy.softmax_loss)
    checks.check_softmax_gradient(softmax_toy.softmax_gradient, softmax_toy.softmax_loss)
    checks.check_softmax_loss_l2(softmax_toy.softmax_loss_l2, softmax_toy.softmax_loss)
    checks.check_softmax_gradient_l2(softmax_toy.softmax_gradient_l2, softmax_toy.softmax_loss_l2)
    checks.check_mini_batches(softmax_toy.mini_batches)
    assert capsys.readouterr().out.count("\u2714") == 5


def test_every_named_mistake_is_documented():
    import inspect
    import re

    source = inspect.getsource(checks)
    named = set(re.findall(r'"((?:loss|gradient|l2|modifies|batches)_[a-z_0-9]+)"[,:]', source))
    assert named <= set(checks.MISTAKES), named - set(checks.MISTAKES)


def _softmax(Z, axis=0):
    E = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)


def _picked(P, y):
    return P[y, np.arange(len(y))]


@pytest.mark.parametrize("mistake, loss", [
    ("loss_sum", lambda W, X, y: -np.sum(np.log(_picked(_softmax(W @ X), y)))),
    ("loss_per_sample", lambda W, X, y: -np.log(_picked(_softmax(W @ X), y))),
    ("loss_sign", lambda W, X, y: np.mean(np.log(_picked(_softmax(W @ X), y)))),
    ("loss_wrong_axis", lambda W, X, y: -np.mean(np.log(_picked(_softmax(W @ X, axis=1), y)))),
    ("loss_whole_matrix", lambda W, X, y: -np.mean(np.log(_picked(np.exp(W @ X) / np.exp(W @ X).sum(), y)))),
    ("loss_mean_over_classes", lambda W, X, y: -np.mean(np.eye(W.shape[0])[:, y] * np.log(_softmax(W @ X)))),
    ("loss_ignores_labels", lambda W, X, y: -np.mean(np.log(_softmax(W @ X)))),
    ("loss_log_of_zero", lambda W, X, y: -np.mean(np.log(_picked(_softmax(W @ X), y)))),
    ("loss_log_of_zero", lambda W, X, y: -np.mean(np.log(np.clip(_picked(_softmax(W @ X), y), 1e-12, 1)))),
    ("wrong_value", lambda W, X, y: 1.0),
])
def test_softmax_loss_check_names_the_mistake(mistake, loss):
    expect_mistake(checks.check_softmax_loss, loss, mistake)


def _gradient(sign=1.0, subtract=True, average=True, transpose=False, modify=False):
    def gradient(W, X, y):
        P = _softmax(W @ X)
        if subtract:
            P[y, np.arange(X.shape[1])] -= 1
        if modify:
            X *= 1.5
        dW = sign * (X @ P.T if transpose else P @ X.T)
        return dW / X.shape[1] if average else dW
    return gradient


@pytest.mark.parametrize("mistake, gradient", [
    ("gradient_not_averaged", _gradient(average=False)),
    ("gradient_missing_minus_one", _gradient(subtract=False)),
    ("gradient_sign", _gradient(sign=-1.0)),
    ("gradient_transposed", _gradient(transpose=True)),
    ("modifies_input", _gradient(modify=True)),
    ("raised", lambda W, X, y: W @ y),
])
def test_softmax_gradient_check_names_the_mistake(mistake, gradient):
    expect_mistake(lambda g: checks.check_softmax_gradient(g, softmax_toy.softmax_loss), gradient, mistake)


def test_softmax_gradient_check_uses_the_students_loss():
    wrong_loss = lambda W, X, y: 2 * softmax_toy.softmax_loss(W, X, y)  # noqa: E731
    message = expect_mistake(lambda g: checks.check_softmax_gradient(g, wrong_loss), softmax_toy.softmax_gradient,
                             "loss_first")
    assert "softmax_loss" in message
    # A gradient right on the hand case but wrong elsewhere is caught by the numerical check.
    def lucky(W, X, y):
        dW = softmax_toy.softmax_gradient(W, X, y)
        return dW if W.shape == (3, 2) else 1.01 * dW
    expect_mistake(lambda g: checks.check_softmax_gradient(g, softmax_toy.softmax_loss), lucky, "wrong_value")


def _penalty(W):
    return np.sum(W[:, :-1] ** 2)


@pytest.mark.parametrize("mistake, loss_l2", [
    ("l2_on_bias", lambda W, X, y, a: softmax_toy.softmax_loss(W, X, y) + a * np.sum(W ** 2)),
    ("l2_not_squared", lambda W, X, y, a: softmax_toy.softmax_loss(W, X, y) + a * np.sqrt(_penalty(W))),
    ("l2_loss_factor_two", lambda W, X, y, a: softmax_toy.softmax_loss(W, X, y) + 2 * a * _penalty(W)),
    ("l2_loss_half", lambda W, X, y, a: softmax_toy.softmax_loss(W, X, y) + a * _penalty(W) / 2),
    ("l2_sign", lambda W, X, y, a: softmax_toy.softmax_loss(W, X, y) - a * _penalty(W)),
    ("wrong_value", lambda W, X, y, a: softmax_toy.softmax_loss(W, X, y) + a),
])
def test_softmax_loss_l2_check_names_the_mistake(mistake, loss_l2):
    expect_mistake(lambda f: checks.check_softmax_loss_l2(f, softmax_toy.softmax_loss), loss_l2, mistake)


def _bias_zeroed(W):
    return np.hstack([W[:, :-1], np.zeros((W.shape[0], 1))])


def _in_place(W, X, y, a):
    W[:, -1] = 0
    return softmax_toy.softmax_gradient(W, X, y) + 2 * a * W


@pytest.mark.parametrize("mistake, gradient_l2", [
    ("l2_on_bias", lambda W, X, y, a: softmax_toy.softmax_gradient(W, X, y) + 2 * a * W),
    ("l2_gradient_missing_two", lambda W, X, y, a: softmax_toy.softmax_gradient(W, X, y) + a * _bias_zeroed(W)),
    ("l2_gradient_no_penalty", lambda W, X, y, a: softmax_toy.softmax_gradient(W, X, y)),
    ("l2_sign", lambda W, X, y, a: softmax_toy.softmax_gradient(W, X, y) - 2 * a * _bias_zeroed(W)),
    ("modifies_input", _in_place),
])
def test_softmax_gradient_l2_check_names_the_mistake(mistake, gradient_l2):
    expect_mistake(lambda f: checks.check_softmax_gradient_l2(f, softmax_toy.softmax_loss_l2), gradient_l2, mistake)


def _cut(permutation, batch_size, stop=None, step=None):
    stop = len(permutation) if stop is None else stop
    return [permutation[i:i + batch_size] for i in range(0, stop, step or batch_size)]


_GLOBAL = np.random.default_rng(99)


@pytest.mark.parametrize("mistake, batches", [
    ("batches_not_shuffled", lambda n, b, rng: _cut(np.arange(n), b)),
    ("batches_without_generator", lambda n, b, rng: _cut(_GLOBAL.permutation(n), b)),
    ("batches_fixed_seed", lambda n, b, rng: _cut(np.random.default_rng(0).permutation(n), b)),
    ("batches_overlap", lambda n, b, rng: _cut(rng.permutation(n), b, step=max(b - 1, 1))),
    ("batches_drop_remainder", lambda n, b, rng: _cut(rng.permutation(n), b, stop=n - b + 1)),
    ("batches_with_replacement", lambda n, b, rng: _cut(rng.integers(0, n, n), b)),
    ("batches_count_for_size", lambda n, b, rng: np.array_split(rng.permutation(n), b)),
    ("batches_of_one", lambda n, b, rng: _cut(rng.permutation(n), 1)),
    ("wrong_type", lambda n, b, rng: [p.astype(float) for p in _cut(rng.permutation(n), b)]),
    ("wrong_type", lambda n, b, rng: None),
    ("raised", lambda n, b, rng: rng.permutation(n)[b:b * n:0]),
])
def test_mini_batches_check_names_the_mistake(mistake, batches):
    expect_mistake(checks.check_mini_batches, batches, mistake)


def test_mini_batches_check_accepts_other_ways_with_the_generator(capsys):
    checks.check_mini_batches(lambda n, b, rng: np.split(rng.permutation(n), range(b, n, b)))
    checks.check_mini_batches(lambda n, b, rng: (p[i:i + b] for p in [rng.choice(n, n, replace=False)] for i in range(0, n, b)))
    assert capsys.readouterr().out.count("\u2714") == 2


# --- the hidden tests can fail ---------------------------------------------------------------

def _run_hidden(nb, grade_id, **answers):
    namespace = {"np": np, **{name: getattr(softmax_toy, name) for name in FUNCTIONS}}
    namespace.update(answers)
    exec(compile(hidden_part(nb, grade_id), grade_id, "exec"), namespace)


def test_hidden_tests_pass_on_the_reference():
    nb = read_notebook(NOTEBOOK)
    for name in FUNCTIONS:
        _run_hidden(nb, f"{name}_tests")


@pytest.mark.parametrize("grade_id, answers", [
    ("softmax_loss_tests", {"softmax_loss": lambda W, X, y: -np.mean(np.log(_picked(_softmax(W @ X), y)))}),
    ("softmax_loss_tests", {"softmax_loss": lambda W, X, y: 1.1 * softmax_toy.softmax_loss(W, X, y)}),
    ("softmax_gradient_tests", {"softmax_gradient": _gradient(average=False)}),
    ("softmax_loss_l2_tests", {"softmax_loss_l2": lambda W, X, y, a: softmax_toy.softmax_loss(W, X, y)
                               + a * np.sum(W ** 2)}),
    ("softmax_gradient_l2_tests", {"softmax_gradient_l2": _in_place}),
    ("mini_batches_tests", {"mini_batches": lambda n, b, rng: _cut(rng.permutation(n), b, stop=n - b + 1)}),
    ("mini_batches_tests", {"mini_batches": lambda n, b, rng: _cut(np.random.default_rng(0).permutation(n), b)}),
    ("mini_batches_tests", {"mini_batches": lambda n, b, rng: _cut(_GLOBAL.permutation(n), b)}),
])
def test_hidden_tests_fail_on_wrong_answers(grade_id, answers):
    nb = read_notebook(NOTEBOOK)
    with pytest.raises((AssertionError, CheckFailure)):
        with np.errstate(all="ignore"):
            _run_hidden(nb, grade_id, **answers)
