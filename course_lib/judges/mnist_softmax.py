"""The judge of the MNIST softmax regression notebook: the named checks of each graded cell.

Every part is judged on its own: the loss and dW of ``softmax_loss_and_gradient`` each against
the grader's own numbers (dW never through the student's loss), the L2 terms as the difference
they make, and an argument changed in place by its own check. Failures name mistakes of
``course_lib.checks.mnist_softmax.MISTAKES``.
"""
from __future__ import annotations

import functools

import numpy as np

from course_lib.checks import mnist_softmax as visible
from course_lib.checks.common import CheckFailure, close, coerce, computes, failure
from course_lib.grading.judge import AssignmentJudge, CellJudge, Check
from course_lib.solutions import softmax_regression as solution
from course_lib.solutions.softmax import softmax as reference_softmax


def _copying(function):
    """``function`` called on copies of its array arguments: a change in place is not seen here
    (it costs the check that looks for it, once)."""
    return lambda *args: function(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args])


# --- softmax -----------------------------------------------------------------------------------

def _hidden_softmax_cases():
    rng = np.random.default_rng(1001)
    for shape, offset in [((10, 1), 0.0), ((10, 64), 800.0), ((3, 5), -800.0), ((2, 7), 0.0)]:
        yield 20 * rng.standard_normal(shape) + offset, offset


_FAR = np.array([[0.0, -1000.0, 700.0], [3.0, -1000.0 + np.log(3.0), 690.0]])


def _softmax_against(softmax, Z, what: str, not_finite=None, expected=None) -> None:
    label = f"softmax(Z) for {what}"
    P = coerce(None, visible.call_student(softmax, label, Z), label, Z.shape, not_finite)
    if expected is not None and not np.allclose(P, expected, rtol=1e-9, atol=1e-12):
        raise failure(None, "softmax_no_max_shift", f"{label} differs from softmax of the same scores moved near 0: "
                                                    f"adding the same number to every score of a column must not "
                                                    f"change its probabilities")
    if expected is None and not np.allclose(P, reference_softmax(Z), rtol=1e-9, atol=1e-12):
        raise failure(None, "wrong_value", f"{label} gives wrong probabilities")


def _own(function, *args):
    """The student's own result for scores near 0 (None when it is no usable array): stability is
    judged as ``the same result for the same scores moved far from 0``, apart from the values."""
    try:
        return coerce(None, visible.call_student(function, "the same scores near 0", *args), "the result")
    except CheckFailure:
        return None


def softmax_worked_example(student) -> None:
    softmax = _copying(student.softmax)
    visible._softmax_shape_and_normalisation(softmax)
    visible._softmax_hand_worked(softmax)


_SOFTMAX_CASES = [(np.array([[0.0, np.log(3.0)], [0.0, 0.0]]),), (np.array([[1.0, -2.0], [0.0, 3.0]]),)]


def softmax_stability(student) -> None:
    softmax = _copying(student.softmax)
    computes(None, softmax, _SOFTMAX_CASES, "softmax(Z)")
    hand = _own(softmax, np.array([[0.0, np.log(3.0)], [0.0, 0.0]]))
    visible._softmax_hand_worked(softmax, shift=1000.0, expected=hand)
    visible._softmax_hand_worked(softmax, shift=-1000.0, expected=hand)
    visible._softmax_far_apart(softmax, expected=_own(softmax, np.array([[0.0, 0.0], [0.0, np.log(3.0)]])))
    overflow = ("softmax_no_max_shift", "softmax(Z) contains inf or nan for scores around 800: exp overflows. Subtract "
                                        "each column's maximum score before taking exp")
    for Z, offset in _hidden_softmax_cases():
        if offset:
            _softmax_against(softmax, Z, f"scores of shape {Z.shape} around {offset:g}", overflow,
                             _own(softmax, Z - offset))
    _softmax_against(softmax, _FAR, "samples whose scores are far apart (around 0, -1000 and 700)", (
        "softmax_global_max", "softmax(Z) contains inf or nan when the samples' scores are far apart: subtract each "
                              "column's own maximum"), _own(softmax, _FAR - _FAR.max(axis=0)))


def softmax_random(student) -> None:
    softmax = _copying(student.softmax)
    visible._softmax_float32(softmax)
    for Z, offset in _hidden_softmax_cases():
        if not offset:
            _softmax_against(softmax, Z, f"random scores of shape {Z.shape}")


def softmax_leaves_z(student) -> None:
    computes(None, student.softmax, _SOFTMAX_CASES, "softmax(Z)")
    visible.call_student(student.softmax, "softmax(Z)", np.random.default_rng(0).standard_normal((3, 4)))
    visible.call_student(student.softmax, "softmax(Z) for samples far apart", _FAR)


# --- predict -----------------------------------------------------------------------------------

def predict_random(student) -> None:
    predict = _copying(student.predict)
    rng = np.random.default_rng(1002)
    for C, D, N in [(10, 20, 50), (4, 3, 1), (2, 6, 9)]:
        W = rng.standard_normal((C, D + 1))
        X = np.vstack([rng.standard_normal((D, N)), np.ones((1, N))])
        labels = coerce(None, visible.call_student(predict, "predict(W, X)", W, X), "predict(W, X)", (N,))
        if not np.array_equal(labels, np.argmax(W @ X, axis=0).astype(np.float64)):
            raise failure(None, "wrong_value", f"predict(W, X) gives wrong labels for {C} classes and {N} samples")


# --- the loss ----------------------------------------------------------------------------------

def _hidden_loss_problem(rng, offset=0.0):
    W = 0.3 * rng.standard_normal((10, 21))
    W[:, -1] += offset
    X = np.vstack([rng.standard_normal((20, 40)), np.ones((1, 40))])
    return W, X, rng.integers(0, 10, 40)


def _hidden_loss_cases():
    """The hidden tests' three problems: (l2_reg, W, X, y)."""
    rng = np.random.default_rng(1003)
    return [(l2, *_hidden_loss_problem(rng, offset)) for l2, offset in [(0.0, 0.0), (0.01, 0.0), (0.3, 1000.0)]]


def _loss_against(fn, W, X, y, what: str, not_finite=None) -> None:
    got = visible._loss(fn, W, X, y, 0.0, not_finite)
    expected = float(solution.softmax_loss(W, X, y))
    if not np.isclose(got, expected, rtol=1e-9):
        if np.isclose(got, X.shape[1] * expected, rtol=1e-9):
            raise failure(None, "loss_summed", f"the loss {what} is {got:.6f}, {X.shape[1]} times the mean "
                                               f"{expected:.6f}: the loss is the mean over samples")
        raise failure(None, "wrong_value", f"the loss is wrong {what}: expected {expected:.6f}, got {got:.6f}")


def loss_worked_example(student) -> None:
    fn = _copying(student.softmax_loss_and_gradient)
    visible._check_loss_at_zero(fn)
    visible._check_loss_hand_worked(fn)
    visible._check_loss_picks_one_entry_per_sample(fn)
    _, W, X, y = _hidden_loss_cases()[0]
    _loss_against(fn, W, X, y, "for 10 classes and 40 samples")


def _loss_cases():
    (_, W, X, y), (_, W2, X2, y2) = _hidden_loss_cases()[:2]
    return [(W, X, y, 0.0), (W2, X2, y2, 0.0)]


def loss_stability(student) -> None:
    fn = _copying(student.softmax_loss_and_gradient)
    computes(None, fn, _loss_cases(), "the loss", pick=lambda result: result[0])
    visible._check_loss_stability(fn, relative=True)
    _, W, X, y = _hidden_loss_cases()[2]
    label = "the loss for 10 classes, 40 samples and scores around 1000"
    got = visible._loss(fn, W, X, y, 0.0, (
        "loss_no_max_shift", f"{label} is inf or nan: exp overflows. Subtract each column's maximum score first"))
    near = W.copy()
    near[:, -1] -= 1000.0
    own = visible._loss(fn, near, X, y, 0.0)
    if not np.isclose(got, own, rtol=1e-9):
        raise failure(None, "loss_no_max_shift", f"{label} is {got:.6f}, expected the same {own:.6f} as for the scores "
                                                 f"near 0: raising all scores of a sample equally changes no probability")
    # Samples whose scores are far apart, and a correct class whose probability underflows to 0.
    W = np.array([[0.0, -1000.0, 0.0, 0.0], [0.0, -1000.0 + np.log(3.0), 800.0, 0.0]])
    X = np.vstack([np.eye(3), np.ones((1, 3))])
    visible._loss(fn, W, X, np.array([0, 1, 0]), 0.0, (
        "loss_log_of_zero", "the loss is inf or nan when the samples' scores are far apart or a correct class's "
                            "probability rounds to 0: compute log p_y as z_y - max z - log sum exp(z - max z)"))


def loss_l2(student) -> None:
    fn = _copying(student.softmax_loss_and_gradient)
    visible._check_l2_in_loss(fn)
    for l2_reg, W, X, y in _hidden_loss_cases()[1:]:
        W = W.copy()
        W[:, -1] = np.where(np.abs(W[:, -1]) > 100, W[:, -1] - 1000.0, W[:, -1])  # the scores around 1000: stability's
        added = visible._loss(fn, W, X, y, l2_reg) - visible._loss(fn, W, X, y, 0.0)
        expected = l2_reg * float(np.sum(W[:, :-1] ** 2))
        if not np.isclose(added, expected, rtol=1e-7):
            raise failure(None, "wrong_value", f"l2_reg={l2_reg} adds {added:.6f} to the loss for 10 classes and 40 "
                                               f"samples, expected l2_reg x (sum of squared weights without the bias "
                                               f"column) = {expected:.6f}")


# --- dW ----------------------------------------------------------------------------------------

_EXACT = "the gradient of the loss"


def _hidden_gradient_cases():
    rng = np.random.default_rng(1004)
    cases = []
    for l2 in [0.0, 0.01, 0.5]:
        W = 0.3 * rng.standard_normal((10, 21))
        X = np.vstack([rng.standard_normal((20, 40)), np.ones((1, 40))])
        cases.append((l2, W, X, rng.integers(0, 10, 40)))
    return cases


def gradient_worked_example(student) -> None:
    fn = _copying(student.softmax_loss_and_gradient)
    W, X, y = visible._problem()
    dW = visible._gradient(fn, W, X, y, 0.0)
    visible._judge_gradient_no_l2(dW, solution.softmax_gradient(W, X, y), W, X, y, _EXACT)


def gradient_random(student) -> None:
    fn = _copying(student.softmax_loss_and_gradient)
    for _, W, X, y in _hidden_gradient_cases():
        dW = visible._gradient(fn, W, X, y, 0.0)
        if not np.allclose(dW, solution.softmax_gradient(W, X, y), rtol=1e-8, atol=1e-12):
            visible._judge_gradient_no_l2(dW, solution.softmax_gradient(W, X, y), W, X, y, _EXACT)
            raise failure(None, "wrong_value", "dW is wrong for 10 classes and 40 samples")


def _l2_part(W, l2_reg):
    part = 2 * l2_reg * W
    part[:, -1] = 0.0
    return part


def gradient_l2(student) -> None:
    fn = _copying(student.softmax_loss_and_gradient)
    W, X, y = visible._problem(seed=3)
    added = visible._gradient(fn, W, X, y, 0.1) - visible._gradient(fn, W, X, y, 0.0)
    visible._judge_gradient_l2(added, _l2_part(W, 0.1), 0.1, "expected")
    for l2_reg, W, X, y in _hidden_gradient_cases()[1:]:
        added = visible._gradient(fn, W, X, y, l2_reg) - visible._gradient(fn, W, X, y, 0.0)
        if not close(added, _l2_part(W, l2_reg), rtol=1e-7, atol=1e-10):
            visible._judge_gradient_l2(added, _l2_part(W, l2_reg), l2_reg, "expected")


def gradient_leaves_arguments(student) -> None:
    computes(None, student.softmax_loss_and_gradient, _loss_cases(), "dW", pick=lambda result: result[1])
    W, X, y = visible._problem()
    visible._loss_and_gradient(student.softmax_loss_and_gradient, W, X, y, 0.0)
    l2_reg, W, X, y = _hidden_gradient_cases()[1]
    visible._loss_and_gradient(student.softmax_loss_and_gradient, W, X, y, l2_reg)


# --- one sample (a single column) -------------------------------------------------------------
# The batch-versus-one-sample mistakes (a per-sample formula applied to the whole batch, a sum
# where the mean is asked) are right on a single sample: this check gives that part its credit.

def _one_sample_problems():
    rng = np.random.default_rng(1005)
    problems = []
    for C, D in [(10, 20), (3, 4)]:
        W = 0.5 * rng.standard_normal((C, D + 1))
        X = np.vstack([rng.standard_normal((D, 1)), np.ones((1, 1))])
        problems.append((W, X, rng.integers(0, C, 1)))
    return problems


def softmax_one_sample(student) -> None:
    softmax = _copying(student.softmax)
    for W, X, _ in _one_sample_problems():
        Z = W @ X
        label = f"softmax(Z) for one sample (Z of shape {Z.shape})"
        P = coerce(None, visible.call_student(softmax, label, Z), label, Z.shape)
        if not np.allclose(P, reference_softmax(Z), rtol=1e-9, atol=1e-12):
            raise failure(None, "wrong_value", f"{label} gives wrong probabilities")


def predict_one_sample(student) -> None:
    predict = _copying(student.predict)
    for W, X, _ in _one_sample_problems():
        labels = coerce(None, visible.call_student(predict, "predict(W, X) for one sample", W, X), "predict(W, X)")
        if labels.size != 1 or labels.reshape(()) != np.argmax(W @ X):
            raise failure(None, "wrong_value", f"predict(W, X) for one sample (X of shape {X.shape}) returned "
                                               f"{labels.tolist()}, expected its label {int(np.argmax(W @ X))}")


def loss_one_sample(student) -> None:
    fn = _copying(student.softmax_loss_and_gradient)
    for W, X, y in _one_sample_problems():
        got = visible._loss(fn, W, X, y, 0.0)
        expected = float(solution.softmax_loss(W, X, y))
        if not np.isclose(got, expected, rtol=1e-9):
            raise failure(None, "wrong_value", f"the loss of one sample is wrong: expected {expected:.6f} "
                                               f"(-log p of its class), got {got:.6f}")


def gradient_one_sample(student) -> None:
    fn = _copying(student.softmax_loss_and_gradient)
    for W, X, y in _one_sample_problems():
        dW = visible._gradient(fn, W, X, y, 0.0)
        if not np.allclose(dW, solution.softmax_gradient(W, X, y), rtol=1e-8, atol=1e-12):
            raise failure(None, "wrong_value", "dW of one sample is wrong: it is (p - y) [x; 1]^T")


# --- the chosen model ---------------------------------------------------------------------------

FIT_SAMPLE = slice(1000, 1500)   # the fitting images of the selection problem
VAL_SAMPLE = slice(2000, 2301)   # and its validation images


@functools.lru_cache(maxsize=1)
def _grader_data():
    """The grader's own copy of the data the judge uses, prepared as the notebook does (the mean
    training image subtracted, a row of ones appended, the same validation split, seed 2): the
    10,000 validation images, the selection problem's fitting images and the test set. Read-only:
    the judge keeps it for every submission its process grades."""
    from course_lib import add_bias_row, load_mnist
    from course_lib.data import find_data_file
    from course_lib.mnist_cache import machine_cache

    data = load_mnist(dtype=np.float32, cache=machine_cache(find_data_file().parent))
    mean_image = data.X_train.mean(axis=1, keepdims=True)
    order = np.random.default_rng(2).permutation(data.X_train.shape[1])
    fit, val = order[10_000:][FIT_SAMPLE], order[:10_000]
    prepared = {"X_fit_sample": add_bias_row(data.X_train[:, fit] - mean_image), "y_fit_sample": data.y_train[fit],
                "X_val": add_bias_row(data.X_train[:, val] - mean_image), "y_val": data.y_train[val],
                "X_test": add_bias_row(data.X_test - mean_image), "y_test": np.array(data.y_test)}
    for array in prepared.values():
        array.setflags(write=False)
    return prepared


@functools.lru_cache(maxsize=1)
def _selection_problem():
    """The grader's small problem for ``choose_hyperparameters``: 500 fitting images, 301
    validation images, and the validation accuracies of the reference training for each pair of
    the grid (and, to look at, those on the training and the test data)."""
    data = _grader_data()
    X_fit, y_fit = data["X_fit_sample"], data["y_fit_sample"]
    X_val, y_val = data["X_val"][:, VAL_SAMPLE], data["y_val"][VAL_SAMPLE]
    l2_grid, batch_sizes = visible.SELECTION_GRID
    shape = (len(l2_grid), len(batch_sizes))
    tables = {name: np.zeros(shape) for name in ("validation", "training", "test")}
    for i, l2_reg in enumerate(l2_grid):
        for j, batch_size in enumerate(batch_sizes):
            W, _ = solution.train(X_fit, y_fit, l2_reg, epochs=1, batch_size=batch_size)
            for name, (X, y) in {"validation": (X_val, y_val), "training": (X_fit, y_fit),
                                 "test": (data["X_test"], data["y_test"])}.items():
                tables[name][i, j] = np.mean(solution.predict(W, X) == y)
    return (X_fit, y_fit, X_val, y_val), tables


def _final_model(student):
    """The student's W_final, as data (never anything the kernel computed about it)."""
    try:
        return student.helper("value", "W_final")()
    except NameError:
        raise failure(None, *visible.MODEL_MISSING) from None


def final_model_shape(student) -> None:
    W = coerce(None, _final_model(student), "W_final", not_finite=visible.MODEL_NOT_FINITE)
    shape = (10, 785)
    if W.shape != shape:
        hint = " (transposed: one row per class)" if W.shape == shape[::-1] else ""
        raise failure(None, "model_wrong_shape", f"W_final has shape {W.shape}, expected W's shape {shape}{hint}")


def final_model_accuracy(student) -> None:
    data = _grader_data()
    visible.judge_final_model(_final_model(student), data["X_val"], data["y_val"])


def choice_on_validation(student) -> None:
    arguments, tables = _selection_problem()
    l2_grid, batch_sizes = visible.SELECTION_GRID
    chosen = visible.call_student(student.helper("choose_with_known_good", "choose_hyperparameters"),
                                  "choose_hyperparameters(X_fit, y_fit, X_val, y_val, l2_grid, batch_sizes, epochs=1)",
                                  *arguments, list(l2_grid), list(batch_sizes), 1)
    # BLAS may round differently in the kernel: a prediction or two may flip.
    visible.judge_choice(chosen, l2_grid, batch_sizes, arguments[1].size, arguments[3].size, tables["validation"],
                         tolerance=2.5 / arguments[3].size)


JUDGE = AssignmentJudge(
    assignment="mnist_softmax",
    warm=_selection_problem,
    reference={"softmax": reference_softmax, "predict": solution.predict,
               "softmax_loss_and_gradient": solution.softmax_loss_and_gradient},
    cells={cell.grade_id: cell for cell in [
        CellJudge("softmax_tests", names=("softmax",), checks=(
            Check("columns sum to 1 (the worked example)", softmax_worked_example, 2),
            Check("large scores and samples far apart (stability)", softmax_stability, 1),
            Check("random and float32 scores", softmax_random, 1),
            Check("Z left unchanged", softmax_leaves_z, 1),
            Check("a single sample (one column)", softmax_one_sample, 1),
        )),
        CellJudge("predict_tests", names=("predict",), checks=(
            Check("the worked example (one label per sample)", lambda s: visible.check_predict(_copying(s.predict)), 2),
            Check("random weights", predict_random, 1),
            Check("a single sample (one column)", predict_one_sample, 1),
        )),
        CellJudge("loss_tests", names=("softmax_loss_and_gradient",), checks=(
            Check("W = 0 and the worked example", loss_worked_example, 2),
            Check("large and far-apart scores (stability)", loss_stability, 1),
            Check("the L2 term", loss_l2, 1),
            Check("the loss of a single sample", loss_one_sample, 1),
        )),
        CellJudge("gradient_tests", names=("softmax_loss_and_gradient",), checks=(
            Check("dW against the exact gradient", gradient_worked_example, 2),
            Check("dW on random batches", gradient_random, 1),
            Check("the L2 term of dW", gradient_l2, 1),
            Check("W, X and y left unchanged", gradient_leaves_arguments, 1),
            Check("dW of a single sample", gradient_one_sample, 1),
        )),
        CellJudge("chosen_model_tests", names=("choose_hyperparameters",), checks=(
            Check("W_final: a model of W's shape", final_model_shape, 1),
            Check("W_final's validation accuracy (measured by the grader) reaches 90.5%", final_model_accuracy, 2),
            Check("the choice is made on the validation data", choice_on_validation, 1),
        )),
    ]},
)
