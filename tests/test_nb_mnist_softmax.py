"""The MNIST softmax regression notebook: it runs (and reaches 91.5% test accuracy), its solutions
are course_lib.solutions' code, its blanks and nbgrader cells are well formed, and its visible
checks pass on the reference and name the mistakes of wrong answers."""
from __future__ import annotations

import re

import numpy as np
import pytest

from course_lib.checks import mnist_softmax as checks
from course_lib.checks.common import CheckFailure
from course_lib.judges import known_good
from course_lib.solutions.softmax import softmax
from course_lib.solutions.softmax_regression import choose_hyperparameters, predict, softmax_loss_and_gradient
from nbtools import (
    assert_notebook_conventions,
    assert_same_code,
    expect_mistake,
    graded_cells,
    hidden_part,
    nbgrader_meta,
    printed,
    read_notebook,
    release,
    solution_cells,
)

NOTEBOOK = "mnist_softmax/mnist_softmax.ipynb"

# --- the notebook ----------------------------------------------------------------------------

@pytest.mark.notebook
def test_notebook_runs_and_reaches_91_5_percent(run_notebook):
    nb, seconds = run_notebook(NOTEBOOK)
    out = printed(nb)
    assert out.count("\u2714") == len(graded_cells(nb)) == 5, out
    test_accuracy = float(re.search(r"^test accuracy: ([\d.]+)%$", out, re.M)[1]) / 100
    val_accuracy = float(re.search(r"^validation accuracy: ([\d.]+)%$", out, re.M)[1]) / 100
    graded_seconds = float(re.search(r"^chose l2_reg = \S+ and batch size \d+; trained in ([\d.]+) s$", out, re.M)[1])
    smooth = float(re.search(r"^l2_reg = 1e-3, trained in [\d.]+ s: test accuracy ([\d.]+)%$", out, re.M)[1]) / 100
    print(f"test accuracy {test_accuracy:.2%}, validation {val_accuracy:.2%}, the graded training {graded_seconds} s, "
          f"l2_reg = 1e-3: {smooth:.2%}")
    assert test_accuracy >= 0.915 and val_accuracy >= checks.VALIDATION_THRESHOLD
    assert 0.91 <= smooth <= test_accuracy + 0.002
    error = float(re.search(r"relative error of dW against central differences on 300 entries: (\S+)$", out, re.M)[1])
    assert error < 1e-6
    best_l2, best_batch = re.search(r"^best l2_reg = (\S+), best batch size = (\d+);", out, re.M).groups()
    assert float(best_l2) in (0.0, 1e-4, 1e-3, 1e-2) and int(best_batch) in (50, 500)
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert figures == 5  # digits, loss curve, validation table, templates, confusion matrix


def test_solutions_are_the_reference():
    nb = read_notebook(NOTEBOOK)
    assert_same_code(nb, "softmax", softmax)
    assert_same_code(nb, "predict", predict)
    assert_same_code(nb, "softmax_loss_and_gradient", softmax_loss_and_gradient)
    assert_same_code(nb, "choose_hyperparameters", choose_hyperparameters)


def test_blanks_and_nbgrader_cells():
    nb = read_notebook(NOTEBOOK)
    texts = assert_notebook_conventions(nb)
    assert texts == {
        "softmax": ["E = np.exp(?)", "return ?"],
        "predict": ["return ?"],
        "loss_and_gradient": ["Z -= ?", "loss = ?", "E[?, ?] -= 1", "dW = ?", "dW[?] += ?"],
        "choose_model": ["W, _ = ?", "table[i, j] = ?", "i, j = ?", "W_final, history = ?"],
    }
    points = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in graded_cells(nb)}
    assert points == {"softmax_tests": 2, "predict_tests": 1, "loss_tests": 3, "gradient_tests": 4,
                      "chosen_model_tests": 3}
    released = release(next(c.source for c in solution_cells(nb) if nbgrader_meta(c)["grade_id"] == "loss_and_gradient"))
    assert "    E = np.exp(Z)\n" in released and "np.log(S)" not in released and "    loss = ?\n" in released


# --- the visible checks ----------------------------------------------------------------------

def test_visible_checks_pass_on_the_reference(capsys):
    checks.check_softmax(softmax)
    checks.check_predict(predict)
    checks.check_loss(softmax_loss_and_gradient)
    checks.check_loss_gradient(softmax_loss_and_gradient)
    assert capsys.readouterr().out.count("\u2714") == 4


def test_every_named_mistake_is_documented():
    import inspect

    named = set(re.findall(r'mistake\(\s*"([a-z0-9_]+)"', inspect.getsource(checks)))
    assert named <= set(checks.MISTAKES), named - set(checks.MISTAKES)


def _stable(Z):
    return np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)


def _shift_in_place(Z):
    Z -= Z.max(axis=0)
    return np.exp(Z) / np.exp(Z).sum(axis=0)


@pytest.mark.parametrize("mistake, answer", [
    ("softmax_whole_matrix", lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum()),
    ("softmax_wrong_axis", lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)),
    ("softmax_no_max_shift", lambda Z: np.exp(Z) / np.exp(Z).sum(axis=0)),
    ("softmax_not_normalised", lambda Z: np.exp(Z - Z.max(axis=0))),
    ("modifies_input", _shift_in_place),
    ("wrong_type", lambda Z: None),
    ("wrong_shape", lambda Z: _stable(Z)[:, 0]),
    ("raised", lambda Z: np.exp(Z) / np.sum(np.exp(Z), axis=2)),
])
def test_softmax_check_names_the_mistake(mistake, answer):
    expect_mistake(checks.check_softmax, answer, mistake)


def test_softmax_check_says_which_axis():
    message = expect_mistake(checks.check_softmax, lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True),
                             "softmax_wrong_axis")
    assert "row" in message and "column" in message and "axis 0" in message


@pytest.mark.parametrize("mistake, answer", [
    ("predict_wrong_axis", lambda W, X: np.argmax(W @ X, axis=1)),
    ("predict_returns_scores", lambda W, X: W @ X),
    ("predict_returns_scores", lambda W, X: np.max(_stable(W @ X), axis=0)),
    ("predict_argmin", lambda W, X: np.argmin(W @ X, axis=0)),
    ("predict_ignores_bias", lambda W, X: np.argmax(W[:, :-1] @ X[:-1], axis=0)),
    ("predict_flat_argmax", lambda W, X: np.argmax(W @ X)),
    ("wrong_value", lambda W, X: (np.argmax(W @ X, axis=0) + 2) % W.shape[0]),
])
def test_predict_check_names_the_mistake(mistake, answer):
    expect_mistake(checks.check_predict, answer, mistake)


def loss_and_gradient(*, loss_kind="mean", l2_kind="weights", shift=True, log_of_p=False, grad_kind="right",
                      l2_grad_kind="2W"):
    """A softmax loss-and-gradient with one deliberate mistake (written out, not the reference)."""
    def fn(W, X, y, l2_reg=0.0):
        N = X.shape[1]
        Z = W @ X
        if shift:
            Z = Z - Z.max(axis=0)
        P = np.exp(Z) / np.exp(Z).sum(axis=0)
        log_p = np.log(P[y, np.arange(N)]) if log_of_p else Z[y, np.arange(N)] - np.log(np.exp(Z).sum(axis=0))
        if loss_kind == "rows":  # Z[y]: the per-sample z_y applied to the batch (whole rows)
            log_p = Z[y] - np.log(np.exp(Z).sum(axis=0))
        penalty = {"weights": np.sum(W[:, :-1] ** 2), "all": np.sum(W ** 2), "none": 0.0}[l2_kind] * l2_reg
        loss = {"mean": -np.mean(log_p), "sum": -np.sum(log_p), "per_sample": -log_p, "rows": -np.mean(log_p),
                "no_minus": np.mean(log_p)}[loss_kind] + penalty
        P[y, np.arange(N)] -= 1
        dW = P @ X.T / N
        if l2_grad_kind == "2W":
            dW[:, :-1] += 2 * l2_reg * W[:, :-1]
        elif l2_grad_kind == "W":
            dW[:, :-1] += l2_reg * W[:, :-1]
        elif l2_grad_kind == "with_bias":
            dW += 2 * l2_reg * W
        dW = {"right": dW, "no_1_over_N": dW * N, "sign": -dW, "transposed": dW.T, "no_bias": dW[:, :-1],
              "bias_zero": np.hstack([dW[:, :-1], np.zeros((dW.shape[0], 1))])}[grad_kind]
        return loss, dW
    return fn


def test_the_written_out_loss_is_right():
    """The wrong answers below differ from a right one only by their mistake."""
    checks.check_loss(loss_and_gradient())
    checks.check_loss_gradient(loss_and_gradient())


@pytest.mark.parametrize("mistake, answer", [
    ("loss_summed", loss_and_gradient(loss_kind="sum")),
    ("loss_labels_select_rows", loss_and_gradient(loss_kind="rows")),
    ("loss_per_sample", loss_and_gradient(loss_kind="per_sample")),
    ("loss_sign", loss_and_gradient(loss_kind="no_minus")),
    ("loss_no_max_shift", loss_and_gradient(shift=False)),
    ("loss_log_of_zero", loss_and_gradient(log_of_p=True)),
    ("l2_missing", loss_and_gradient(l2_kind="none")),
    ("l2_on_bias", loss_and_gradient(l2_kind="all")),
    ("loss_gradient_not_pair", lambda W, X, y, l2_reg=0.0: 0.0),
])
def test_loss_check_names_the_mistake(mistake, answer):
    expect_mistake(checks.check_loss, answer, mistake)


@pytest.mark.parametrize("mistake, answer", [
    ("gradient_missing_1_over_N", loss_and_gradient(grad_kind="no_1_over_N")),
    ("gradient_sign", loss_and_gradient(grad_kind="sign")),
    ("gradient_transposed", loss_and_gradient(grad_kind="transposed")),
    ("gradient_missing_bias_column", loss_and_gradient(grad_kind="no_bias")),
    ("wrong_value", loss_and_gradient(grad_kind="bias_zero")),
    ("l2_gradient_missing", loss_and_gradient(l2_grad_kind="none")),
    ("l2_gradient_missing_factor_2", loss_and_gradient(l2_grad_kind="W")),
    ("l2_gradient_on_bias", loss_and_gradient(l2_grad_kind="with_bias")),
    ("loss_summed", loss_and_gradient(loss_kind="sum")),  # the loss is checked first
])
def test_gradient_check_names_the_mistake(mistake, answer):
    expect_mistake(checks.check_loss_gradient, answer, mistake)


def test_gradient_check_sends_a_wrong_loss_back_to_check_loss():
    message = expect_mistake(checks.check_loss_gradient, loss_and_gradient(l2_kind="all"), "l2_on_bias")
    assert message.startswith("fix the loss first")


def test_checks_do_not_accept_lookalike_results():
    class Always(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), dtype=bool)

    with pytest.raises(CheckFailure):
        checks.check_softmax(lambda Z: np.zeros_like(Z).view(Always))


# --- the hidden tests ------------------------------------------------------------------------

@pytest.mark.parametrize("grade_id, name, right, wrong", [
    ("softmax_tests", "softmax", softmax, lambda Z: np.exp(Z) / np.exp(Z).sum(axis=0)),
    ("predict_tests", "predict", predict, lambda W, X: np.argmax(W @ X, axis=1)),
    ("loss_tests", "softmax_loss_and_gradient", softmax_loss_and_gradient, loss_and_gradient(l2_kind="all")),
    ("gradient_tests", "softmax_loss_and_gradient", softmax_loss_and_gradient,
     loss_and_gradient(l2_grad_kind="with_bias")),
])
def test_hidden_tests_pass_the_reference_and_fail_a_wrong_answer(grade_id, name, right, wrong):
    code = hidden_part(read_notebook(NOTEBOOK), grade_id)
    exec(code, {"np": np, name: right})
    with pytest.raises(CheckFailure), np.errstate(all="ignore"):
        exec(code, {"np": np, name: wrong})


# --- the final task: the chosen model ----------------------------------------------------------

def _separable(rng, N=200):
    """Samples X (785, N) with a last row of ones and the labels y that W_true gives them."""
    W_true = rng.standard_normal((10, 785))
    X = np.vstack([rng.standard_normal((784, N)), np.ones((1, N))])
    return W_true, X, np.argmax(W_true @ X, axis=0)


def test_the_final_model_is_measured_and_its_mistakes_named():
    W_true, X_val, y_val = _separable(np.random.default_rng(0))
    assert checks.judge_final_model(W_true, X_val, y_val) == 1.0
    nan = W_true.copy()
    nan[0, 0] = np.nan
    for W, named in [(np.zeros_like(W_true), "model_not_trained"), (W_true.T, "model_wrong_shape"),
                     (nan, "model_not_finite"), (np.random.default_rng(1).standard_normal((10, 785)), "model_below_threshold")]:
        expect_mistake(lambda w: checks.judge_final_model(w, X_val, y_val), W, named)


def test_the_choice_is_named_by_the_data_its_accuracies_were_measured_on():
    grid, sizes = checks.SELECTION_GRID
    on = lambda n: np.array([[100, 200], [150, 120]]) / n
    assert checks.judge_choice((0.0, 500, on(301)), grid, sizes, 500, 301) is not None
    for table, named in [(on(500), "selection_on_training_data"), (on(10_000), "selection_on_test_data"),
                         (np.array([[0.5, 0.6], [0.7, 0.123456]]), "selection_not_on_validation")]:
        expect_mistake(lambda t: checks.judge_choice((10.0, 100, t), grid, sizes, 500, 301), table, named)
    for chosen in [(10.0, 100), (1e-3, 500)]:  # not the table's maximum; not a value of the grid
        expect_mistake(lambda c: checks.judge_choice((*c, on(301)), grid, sizes, 500, 301), chosen, "selection_not_best")
    # Against the grader's own table: a choice right for the student's table but not for the grader's.
    expect_mistake(lambda t: checks.judge_choice((10.0, 100, t), grid, sizes, 500, 301, expected=on(301)[::-1],
                                                 tolerance=2.5 / 301), on(301), "selection_not_on_validation")


def test_the_choice_is_judged_with_known_good_loss_and_predict():
    namespace = {"np": np}
    exec("def predict(W, X):\n    raise RuntimeError('a broken predict')\n"
         "def choose(W, X):\n    return predict(W, X), softmax_loss_and_gradient(W, X, np.array([0]))[0]", namespace)
    W, X = np.zeros((2, 3)), np.ones((3, 1))
    labels, loss = checks.choose_with_known_good(known_good, namespace["choose"], W, X)
    assert labels.tolist() == [0] and np.isclose(loss, np.log(2))
    assert "softmax_loss_and_gradient" not in namespace
    with pytest.raises(RuntimeError, match="a broken predict"):
        namespace["choose"](W, X)
