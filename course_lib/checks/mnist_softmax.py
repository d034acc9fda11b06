"""Visible checks for the MNIST softmax regression notebook.

Each check runs the student's function on small seeded cases (hand-worked values,
properties, numerical gradients of the student's own loss) and raises ``CheckFailure``
with a message in the student's terms. When a failure matches a common mistake, the
error carries that mistake's name in ``error.mistake`` (a key of ``MISTAKES``);
otherwise ``error.mistake`` is ``"wrong_value"`` or another generic name.

Shapes follow the lecture: W is (C, D+1) with the bias as its last column, X is
(D+1, N) with a last row of ones, y holds N integer labels.
"""
from __future__ import annotations

import numpy as np

from course_lib.checks.common import (
    GENERIC_MISTAKES,
    CheckFailure,
    call,
    close,
    coerce,
    coerce_scalar,
    failure,
    passed,
    relation,
    replaced_globals,
)
from course_lib.gradient_check import numerical_gradient, rel_error

MISTAKES = {
    **GENERIC_MISTAKES,
    "softmax_whole_matrix": "softmax normalised over the whole matrix instead of each column",
    "softmax_wrong_axis": "softmax normalised each row (axis 1) instead of each column (axis 0)",
    "softmax_not_normalised": "softmax's columns do not sum to 1",
    "softmax_no_max_shift": "softmax does not subtract the column maximum, so large scores overflow",
    "softmax_global_max": "softmax subtracts the maximum of the whole matrix instead of each column's",
    "softmax_max_over_rows": "softmax subtracts each row's maximum instead of each column's",
    "predict_wrong_axis": "predict took the argmax over samples instead of classes",
    "predict_returns_scores": "predict returned scores or probabilities instead of labels",
    "predict_argmin": "predict took the class with the lowest score",
    "predict_off_by_one": "predict counts the labels from 1 instead of 0",
    "predict_flat_argmax": "predict took one argmax over the whole score matrix",
    "predict_ignores_bias": "predict leaves out the bias (the last column of W and row of X)",
    "loss_gradient_not_pair": "the loss-and-gradient function did not return (loss, dW)",
    "loss_per_sample": "the loss is returned per sample instead of as their mean",
    "loss_summed": "the loss is the sum over samples instead of the mean",
    "loss_sign": "the loss is missing its minus sign",
    "loss_labels_select_rows": "the loss indexes the scores with the labels alone (whole rows) instead of one entry per sample",
    "loss_no_max_shift": "the loss overflows for large scores (no max-shift)",
    "loss_log_of_zero": "the loss takes the log of a probability that rounds to 0",
    "loss_global_max": "the loss subtracts the maximum of the whole score matrix instead of each column's",
    "loss_max_over_rows": "the loss subtracts each row's maximum score instead of each column's",
    "l2_loss_factor": "the L2 term has a factor (1/2 or 2) that does not belong in the loss",
    "l2_missing": "the L2 term is missing from the loss",
    "l2_on_bias": "the L2 term also penalises the bias column",
    "gradient_transposed": "dW is transposed",
    "gradient_missing_bias_column": "dW has no bias column",
    "gradient_missing_1_over_N": "dW is N times too large (the 1/N is missing)",
    "gradient_sign": "dW has the wrong sign",
    "gradient_missing_minus_one": "dW uses P instead of P - Y (1 is not subtracted at the correct classes)",
    "gradient_whole_rows": "dW subtracts 1 from whole rows of P instead of at each sample's correct class",
    "l2_gradient_missing": "the L2 term is missing from dW",
    "l2_gradient_on_bias": "the L2 term of dW also touches the bias column",
    "l2_gradient_missing_factor_2": "the L2 term of dW is l2_reg W instead of 2 l2_reg W",
    "l2_gradient_sign": "the L2 term of dW is subtracted",
    "model_missing": "the final model W_final was never defined (its cell stopped before, or is not filled in)",
    "model_wrong_shape": "the final model W_final does not have W's shape (C, D+1)",
    "model_not_finite": "the final model W_final holds inf or nan (the training diverged)",
    "model_not_trained": "the final model W_final is still all zeros (never trained)",
    "model_below_threshold": "the final model's validation accuracy is below the threshold",
    "selection_on_training_data": "the hyperparameters are chosen by accuracy on the training data",
    "selection_on_test_data": "the hyperparameters are chosen by accuracy on the test set",
    "selection_not_on_validation": "the table does not hold accuracies on the validation data given",
    "selection_not_best": "the chosen pair is not the one with the highest validation accuracy",
}


def mistake(name: str, message: str) -> CheckFailure:
    """A CheckFailure naming the mistake ``name`` (a key of ``MISTAKES``)."""
    return failure(None, name, message)


def call_student(fn, label: str, *args, hint: str = ""):
    """The student's function on copies of ``args``; an exception or an in-place change fails."""
    return call(label, fn, *args, protect=True, hint=hint)


# ---------------------------------------------------------------- softmax

def _softmax_shape_and_normalisation(softmax) -> None:
    Z = np.random.default_rng(0).standard_normal((3, 4))
    P = coerce(None, call_student(softmax, "softmax(Z)", Z), "softmax(Z) for Z of shape (3, 4)")
    if P.shape in ((3,), (4,), (1, 4), (3, 1)):
        raise mistake("wrong_shape", f"softmax(Z) has shape {P.shape} for Z of shape (3, 4): return the "
                                     "whole probability matrix (one column of probabilities per sample)")
    if P.shape != Z.shape:
        raise mistake("wrong_shape", f"softmax(Z) has shape {P.shape}, expected {Z.shape} (the shape of Z)")
    if np.any(P < 0):
        raise mistake("wrong_value", "softmax(Z) has negative entries; probabilities are >= 0")
    columns, rows = P.sum(axis=0), P.sum(axis=1)
    if not close(columns, np.ones(4)):
        if close(rows, np.ones(3)):
            raise mistake("softmax_wrong_axis", "each row of softmax(Z) sums to 1, but each column should: "
                                                "a column holds one sample's class probabilities (sum over axis 0)")
        if abs(P.sum() - 1) < 1e-9:
            raise mistake("softmax_whole_matrix", "softmax(Z) sums to 1 over the whole matrix, but each column "
                                                  f"should sum to 1 (column sums: {np.round(columns, 4)})")
        raise mistake("softmax_not_normalised", f"the columns of softmax(Z) sum to {np.round(columns, 4)}, "
                                                "expected 1 each")


def _softmax_hand_worked(softmax, shift: float = 0.0, expected=None) -> None:
    """The hand case, its scores raised by ``shift``; ``expected`` (default: the probabilities)
    lets the grader compare with the student's own result without the shift."""
    # Column 0: equal scores -> (1/2, 1/2). Column 1: scores (ln 3, 0) -> (3/4, 1/4).
    Z = np.array([[0.0, np.log(3.0)], [0.0, 0.0]]) + shift
    expected = np.array([[0.5, 0.75], [0.5, 0.25]]) if expected is None else np.asarray(expected)
    label = "softmax(Z) for Z = [[0, ln 3], [0, 0]]" + (f" + {shift:g}" if shift else "")
    nonfinite = None
    if shift:
        nonfinite = ("softmax_no_max_shift",
                     f"{label} contains inf or nan: exp overflows for large scores. Subtract each column's "
                     "maximum score before taking exp; it does not change the probabilities")
    P = coerce(None, call_student(softmax, label, Z), label, Z.shape, nonfinite)
    if not close(P, expected):
        if shift:
            raise mistake("softmax_no_max_shift", f"{label} gives {P.tolist()}, expected {expected.tolist()}: adding "
                          "the same number to every score of a column must not change its probabilities")
        rows = np.exp(Z - Z.max(axis=1, keepdims=True))
        if close(P, rows / rows.sum(axis=0)):
            raise mistake("softmax_max_over_rows", f"{label} gives {np.round(P, 4).tolist()}, expected "
                                                   f"{expected.tolist()}: each row's maximum was subtracted (axis 1), "
                                                   "which shifts one sample's scores by different amounts; subtract "
                                                   "each column's maximum")
        raise mistake("wrong_value", f"{label} gives {np.round(P, 4).tolist()}, expected {expected.tolist()}")


def _softmax_far_apart(softmax, expected=None) -> None:
    """Two samples whose scores are 1000 apart; ``expected`` as in ``_softmax_hand_worked``."""
    # Column 0: scores (0, 0) -> (1/2, 1/2); column 1: scores (-1000, -1000 + ln 3) -> (1/4, 3/4).
    Z = np.array([[0.0, -1000.0], [0.0, -1000.0 + np.log(3.0)]])
    expected = np.array([[0.5, 0.25], [0.5, 0.75]]) if expected is None else np.asarray(expected)
    label = "softmax(Z) for Z = [[0, -1000], [0, -1000 + ln 3]]"
    P = coerce(None, call_student(softmax, label, Z), label, Z.shape, (
        "softmax_global_max", f"{label} contains inf or nan: the second sample's scores are far below the first's, "
                              "so subtracting the maximum of the whole matrix leaves exp(-1000) = 0 for all of them; "
                              "subtract each column's own maximum"))
    if not close(P, expected):
        raise mistake("wrong_value", f"{label} gives {np.round(P, 4).tolist()}, expected {expected.tolist()}: "
                                     "each sample's probabilities depend only on its own scores")


def _softmax_float32(softmax) -> None:
    # The MNIST data are float32: softmax must work on float32 scores (to float32 precision).
    Z = (10 * np.random.default_rng(3).standard_normal((10, 6))).astype(np.float32)
    label = "softmax(Z) for float32 scores Z (10, 6)"
    P = coerce(None, call_student(softmax, label, Z), label, Z.shape)
    Z64 = Z.astype(np.float64)
    expected = np.exp(Z64 - Z64.max(axis=0)) / np.exp(Z64 - Z64.max(axis=0)).sum(axis=0)
    if not np.allclose(P, expected, rtol=1e-4, atol=1e-6):
        raise mistake("wrong_value", f"{label} differs from the probabilities by up to "
                                     f"{np.max(np.abs(P - expected)):.2g}; float32 scores must give the same "
                                     "probabilities as float64 ones, to float32 precision")


def check_softmax(softmax) -> None:
    """Check ``softmax(Z)``: (C, N) scores -> (C, N) probabilities, each column summing to 1."""
    _softmax_shape_and_normalisation(softmax)
    _softmax_hand_worked(softmax)
    _softmax_hand_worked(softmax, shift=1000.0)
    _softmax_hand_worked(softmax, shift=-1000.0)
    _softmax_far_apart(softmax)
    _softmax_float32(softmax)
    passed("softmax", 6)


# ---------------------------------------------------------------- predict

def check_predict(predict) -> None:
    """Check ``predict(W, X)``: the label with the highest score for each sample, shape (N,)."""
    C, D, N = 3, 4, 6
    rng = np.random.default_rng(1)
    W = rng.standard_normal((C, D + 1))
    X = np.vstack([rng.standard_normal((D, N)), np.ones((1, N))])
    labels = coerce(None, call_student(predict, "predict(W, X)", W, X), f"predict(W, X) for W {W.shape}, X {X.shape}")
    if labels.shape == (C,):
        raise mistake("predict_wrong_axis", f"predict(W, X) has shape {labels.shape}, expected ({N},): one label "
                                            "per sample, i.e. the argmax over the classes (axis 0) of the scores")
    if labels.shape == (C, N):
        raise mistake("predict_returns_scores", f"predict(W, X) has shape {labels.shape}: return one label per "
                                                f"sample (shape ({N},)), the index of the highest score")
    if labels.shape == ():
        raise mistake("predict_flat_argmax", f"predict(W, X) returned one number, {labels.item():g}: an argmax "
                                             f"without an axis looks at the whole ({C}, {N}) score matrix; take the "
                                             f"argmax over the classes (axis 0), one label per sample")
    if labels.shape != (N,):
        raise mistake("wrong_shape", f"predict(W, X) has shape {labels.shape}, expected ({N},)")
    if np.array_equal(labels, np.argmax(W @ X, axis=0) + 1):
        raise mistake("predict_off_by_one", f"predict(W, X) returned {labels.astype(int).tolist()}, one more than "
                                            f"the index of each sample's highest score: labels count from 0 (row 0 of "
                                            f"W is class 0)")
    if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() >= C:
        raise mistake("predict_returns_scores", f"predict(W, X) returned {np.round(labels, 3).tolist()}; expected "
                                                f"class labels, whole numbers from 0 to {C - 1}")
    scores = W @ X
    chosen = scores[labels.astype(int), np.arange(N)]
    wrong = np.flatnonzero(chosen < scores.max(axis=0))
    if wrong.size:
        n = int(wrong[0])
        if np.array_equal(labels, np.argmin(scores, axis=0)):
            raise mistake("predict_argmin", f"for sample {n} the scores are {np.round(scores[:, n], 3).tolist()} and "
                                            f"predict chose class {int(labels[n])}, the lowest score: the prediction is "
                                            "the class with the highest score")
        if np.array_equal(labels, np.argmax(W[:, :-1] @ X[:-1], axis=0)):
            raise mistake("predict_ignores_bias", f"for sample {n} the scores are {np.round(scores[:, n], 3).tolist()} "
                                                  f"but predict chose class {int(labels[n])}, the highest score "
                                                  "without the bias: X's last row of ones carries the bias (W's last "
                                                  "column), so use all of W and X")
        raise mistake("wrong_value", f"for sample {n} the scores are {np.round(scores[:, n], 3).tolist()} but "
                                     f"predict chose class {int(labels[n])}, not the one with the highest score")
    passed("predict", 3)


# ---------------------------------------------------------------- loss and gradient

def _problem(seed: int = 2, C: int = 3, D: int = 4, N: int = 7):
    rng = np.random.default_rng(seed)
    W = 0.5 * rng.standard_normal((C, D + 1))
    X = np.vstack([rng.standard_normal((D, N)), np.ones((1, N))])
    y = rng.integers(0, C, N)
    y[:C] = np.arange(C)  # every class present
    return W, X, y


def _loss_and_gradient(fn, W, X, y, l2_reg):
    label = f"softmax_loss_and_gradient(W, X, y, l2_reg={l2_reg:g})"
    result = call_student(fn, label, W, X, y, l2_reg)
    if not isinstance(result, (tuple, list)) or len(result) != 2:  # `loss, dW = ...` takes either
        raise mistake("loss_gradient_not_pair", f"{label} returned a {type(result).__name__}; "
                                                "return the pair `loss, dW`")
    return result


def _loss(fn, W, X, y, l2_reg=0.0, nonfinite=None) -> float:
    label = f"the loss for W {W.shape}, X {X.shape}, l2_reg={l2_reg:g}"
    return coerce_scalar(None, _loss_and_gradient(fn, W, X, y, l2_reg)[0], label, "loss_per_sample", nonfinite)


def _check_loss_at_zero(fn) -> None:
    _, X, y = _problem()
    C, N = 3, X.shape[1]
    loss = _loss(fn, np.zeros((C, X.shape[0])), X, y)
    expected = np.log(C)
    if np.isclose(loss, expected, rtol=1e-9):
        return
    if np.isclose(loss, N * expected, rtol=1e-9):
        raise mistake("loss_summed", f"with W = 0 the loss is {loss:.6f} = {N} x ln {C}: you summed over the {N} "
                                     f"samples; the loss is their mean (expected ln {C} = {expected:.6f})")
    if np.isclose(loss, -expected, rtol=1e-9):
        raise mistake("loss_sign", f"with W = 0 the loss is {loss:.6f}, expected +ln {C} = {expected:.6f}: the loss "
                                   "is minus the mean log-probability of the correct classes")
    raise mistake("wrong_value", f"with W = 0 every class has probability 1/{C}, so the loss should be "
                                 f"ln {C} = {expected:.6f}; got {loss:.6f}")


def _check_loss_hand_worked(fn) -> None:
    # Two features plus bias; the bias gives scores (ln 3, 0): probabilities (3/4, 1/4) for both samples.
    W = np.array([[0.0, 0.0, np.log(3.0)], [0.0, 0.0, 0.0]])
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1])
    expected = -(np.log(0.75) + np.log(0.25)) / 2
    loss = _loss(fn, W, X, y)
    if not np.isclose(loss, expected, rtol=1e-9):
        if np.isclose(loss, _mean_cross_entropy(W @ X - np.max(W @ X, axis=1, keepdims=True), y), rtol=1e-9):
            raise mistake("loss_max_over_rows", f"two samples of labels (0, 1), both with scores (ln 3, 0): expected "
                          f"{expected:.6f}, got {loss:.6f}, the loss after subtracting each row's maximum (axis 1); "
                          "that shifts one sample's scores by different amounts. Subtract each column's maximum")
        raise mistake("wrong_value", f"two samples of labels (0, 1), both with scores (ln 3, 0), i.e. probabilities "
                                     f"(3/4, 1/4): the loss should be -(ln 3/4 + ln 1/4)/2 = {expected:.6f}, "
                                     f"got {loss:.6f}")


def _check_loss_stability(fn, relative: bool = False) -> None:
    """The hand case with every score raised by 1000, a correct class of probability 0, and two
    samples whose scores are far apart. ``relative``: compared with the student's own loss of the
    same samples with their scores moved back near 0 (stability judged apart from the loss's value)."""
    W = np.array([[0.0, 0.0, np.log(3.0)], [0.0, 0.0, 0.0]])
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1])
    expected = _loss(fn, W, X, y) if relative else -(np.log(0.75) + np.log(0.25)) / 2
    big = W.copy()
    big[:, -1] += 1000.0
    label = "the loss with every score raised by 1000"
    loss_big = _loss(fn, big, X, y, nonfinite=(
        "loss_no_max_shift", f"{label} is inf or nan: exp overflows. Subtract each column's maximum score first"))
    if not np.isclose(loss_big, expected, rtol=1e-9):
        raise mistake("loss_no_max_shift", f"{label} is {loss_big:.6f}, expected the same {expected:.6f}: "
                                           "raising all scores of a sample equally changes no probability")
    confident = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 800.0]])
    _loss(fn, confident, X[:, :1], y[:1], nonfinite=(
        "loss_log_of_zero", "the loss is inf or nan when the correct class's probability rounds to 0 "
                            "(scores (0, 800), label 0): compute log p_y as z_y - max z - log sum exp(z - max z), "
                            "never log(0)"))
    # Column 0 scores (0, 0), column 1 scores (-1000, -1000 + ln 3): probabilities (1/2, 1/2) and (1/4, 3/4).
    far_W = np.array([[0.0, -1000.0, 0.0], [0.0, -1000.0 + np.log(3.0), 0.0]])
    far_X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    far = -(np.log(0.5) + np.log(0.75)) / 2
    near_W = far_W + np.array([[0.0, 1000.0, 0.0], [0.0, 1000.0, 0.0]])  # the second sample's scores (0, ln 3)
    far = _loss(fn, near_W, far_X, y) if relative else far
    label = "the loss for scores (0, 0) and (-1000, -1000 + ln 3), labels (0, 1)"
    loss_far = _loss(fn, far_W, far_X, y, nonfinite=(
        "loss_global_max", f"{label} is inf or nan: subtracting the maximum of the whole score matrix leaves "
                           "exp(-1000) = 0 for every class of the second sample; subtract each column's own maximum"))
    if not np.isclose(loss_far, far, rtol=1e-9):
        raise mistake("wrong_value", f"{label} is {loss_far:.6f}, expected "
                                     f"{'the same as for scores (0, 0) and (0, ln 3), ' if relative else '-(ln 1/2 + ln 3/4)/2 = '}"
                                     f"{far:.6f}")


def _mean_cross_entropy(Z: np.ndarray, y: np.ndarray) -> float:
    """-mean_n log softmax(Z)[y_n, n] for scores Z whose columns need no shift."""
    return float(-np.mean(Z[y, np.arange(len(y))] - np.log(np.sum(np.exp(Z), axis=0))))


def _check_l2_in_loss(fn) -> None:
    W, X, y = _problem()
    l2_reg = 0.1
    added = _loss(fn, W, X, y, l2_reg) - _loss(fn, W, X, y, 0.0)
    expected = l2_reg * np.sum(W[:, :-1] ** 2)
    if np.isclose(added, expected, rtol=1e-7):
        return
    if np.isclose(added, 0.0, atol=1e-12):
        raise mistake("l2_missing", f"l2_reg={l2_reg} does not change the loss: add l2_reg times the sum of "
                                    "the squared weights")
    if np.isclose(added, l2_reg * np.sum(W ** 2), rtol=1e-7):
        raise mistake("l2_on_bias", f"the L2 term also penalises the bias column (adds {added:.6f}, expected "
                                    f"{expected:.6f}): leave the last column of W out of the penalty")
    for factor in (0.5, 2.0):
        if np.isclose(added, factor * expected, rtol=1e-7):
            raise mistake("l2_loss_factor", f"l2_reg={l2_reg} adds {added:.6f} to the loss, {factor:g} times the "
                                            f"expected l2_reg x (sum of squared weights without the bias column) = "
                                            f"{expected:.6f}: the loss's L2 term has no factor (the 2 appears in dW)")
    raise mistake("wrong_value", f"l2_reg={l2_reg} adds {added:.6f} to the loss, expected l2_reg x (sum of squared "
                                 f"weights without the bias column) = {expected:.6f}")


def _check_loss_picks_one_entry_per_sample(fn) -> None:
    """Two samples with different scores: log p of each sample's own correct class."""
    # Sample 0 scores (ln 3, 0), label 0: p = 3/4; sample 1 scores (0, 0), label 1: p = 1/2.
    W = np.array([[np.log(3.0), 0.0, 0.0], [0.0, 0.0, 0.0]])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([0, 1])
    expected = -(np.log(0.75) + np.log(0.5)) / 2
    loss = _loss(fn, W, X, y)
    if np.isclose(loss, expected, rtol=1e-9):
        return
    Z = W @ X
    log_P = Z - np.log(np.sum(np.exp(Z), axis=0))
    if np.isclose(loss, -np.mean(log_P[y]), rtol=1e-9):
        raise mistake("loss_labels_select_rows", f"two samples, scores (ln 3, 0) with label 0 and (0, 0) with label 1: "
                      f"expected -(ln 3/4 + ln 1/2)/2 = {expected:.6f}, got {loss:.6f}, the mean over whole rows Z[y] "
                      f"(every sample's scores of the classes in y). That is right for one sample, but for a batch "
                      f"index one entry per sample, Z[y, np.arange(N)]: row y[n] of column n")
    raise mistake("wrong_value", f"two samples, scores (ln 3, 0) with label 0 and (0, 0) with label 1: the loss "
                                 f"should be -(ln 3/4 + ln 1/2)/2 = {expected:.6f}, got {loss:.6f}")


def check_loss(softmax_loss_and_gradient) -> None:
    """Check the loss returned by ``softmax_loss_and_gradient(W, X, y, l2_reg)``."""
    _check_loss_at_zero(softmax_loss_and_gradient)
    _check_loss_hand_worked(softmax_loss_and_gradient)
    _check_loss_picks_one_entry_per_sample(softmax_loss_and_gradient)
    _check_loss_stability(softmax_loss_and_gradient)
    _check_l2_in_loss(softmax_loss_and_gradient)
    passed("softmax loss", 6)


def _gradient(fn, W, X, y, l2_reg) -> np.ndarray:
    C, K = W.shape
    dW = coerce(None, _loss_and_gradient(fn, W, X, y, l2_reg)[1], f"dW for W of shape {W.shape}")
    if dW.shape == (K, C):
        raise mistake("gradient_transposed", f"dW has shape {dW.shape}, W has shape {W.shape}: dW is transposed "
                                             "(it must have W's shape, one row per class)")
    if dW.shape == (C, K - 1):
        raise mistake("gradient_missing_bias_column", f"dW has shape {dW.shape}, W has shape {W.shape}: the bias "
                                                      "column is missing (X already holds the row of ones)")
    if dW.shape != W.shape:
        raise mistake("wrong_shape", f"dW has shape {dW.shape}, expected W's shape {W.shape}")
    return dW


def _numerical(fn, W, X, y, l2_reg) -> np.ndarray:
    return numerical_gradient(lambda w: _loss(fn, w, X, y, l2_reg), W.copy())[0]


def _check_gradient_no_l2(fn) -> None:
    W, X, y = _problem()
    dW = _gradient(fn, W, X, y, 0.0)
    _judge_gradient_no_l2(dW, _numerical(fn, W, X, y, 0.0), W, X, y)


def _judge_gradient_no_l2(dW, numeric, W, X, y, reference: str = "the numerical gradient of your loss") -> None:
    """dW (l2_reg = 0) against ``numeric``, the gradient it should be, with the mistakes named."""
    N = X.shape[1]
    found = relation(dW, numeric, {"gradient_missing_1_over_N": N})
    if found == "equal":
        return
    if found == "gradient_missing_1_over_N":
        raise mistake(found, f"dW is {N} times the numerical gradient with {N} samples: "
                             "the loss is a mean, so its gradient has a 1/N too")
    if found == "negated":
        raise mistake("gradient_sign", "dW is minus the numerical gradient: check the sign of (P - Y)")
    Z = W @ X
    P = np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)
    rows = P.copy()
    rows[y] -= 1
    for name, wrong, hint in [
        ("gradient_missing_minus_one", P, "dW is P X^T / N: the 1 of each sample's correct class was not subtracted "
                                          "from P (the gradient of the scores is P - Y)"),
        ("gradient_whole_rows", rows, "1 was subtracted from whole rows of P: indexing with the labels alone selects "
                                      "every sample's entry of those classes; index with the labels and the columns"),
    ]:
        if rel_error(dW, wrong @ X.T / N) < 1e-6:
            raise mistake(name, hint)
    if found == "bias_column":
        raise mistake("wrong_value", "dW's weight columns are right but its bias (last) column is not "
                                     f"(got {np.round(dW[:, -1], 5).tolist()}, numerically "
                                     f"{np.round(numeric[:, -1], 5).tolist()})")
    raise mistake("wrong_value", f"dW differs from {reference} (relative error "
                                 f"{rel_error(dW, numeric):.1e}, should be < 1e-6). Compare dW = "
                                 f"{np.round(dW, 4).tolist()} with {np.round(numeric, 4).tolist()}")


def _check_gradient_l2(fn) -> None:
    W, X, y = _problem(seed=3)
    l2_reg = 0.1
    added = _gradient(fn, W, X, y, l2_reg) - _gradient(fn, W, X, y, 0.0)
    expected = _numerical(fn, W, X, y, l2_reg) - _numerical(fn, W, X, y, 0.0)
    _judge_gradient_l2(added, expected, l2_reg)


def _judge_gradient_l2(added, expected, l2_reg, reference: str = "numerically") -> None:
    """The L2 part of dW (dW with ``l2_reg`` minus dW without) against ``expected``."""
    if np.allclose(added, expected, rtol=1e-5, atol=1e-7):
        return
    if np.allclose(added, 0.0, atol=1e-12):
        raise mistake("l2_gradient_missing", f"l2_reg={l2_reg} does not change dW: the L2 term of the loss has a "
                                             "gradient too")
    if np.allclose(added[:, :-1], expected[:, :-1], rtol=1e-5, atol=1e-7) and np.any(added[:, -1] != 0):
        raise mistake("l2_gradient_on_bias", "the L2 part of dW also changes the bias column; the bias is not "
                                             "penalised, so that column gets no L2 term")
    if np.allclose(-added, expected, rtol=1e-5, atol=1e-7):
        raise mistake("l2_gradient_sign", "the L2 part of dW has the wrong sign: the penalty adds to the loss, so "
                                          "its gradient 2 l2_reg W is added to dW")
    if np.allclose(2 * added, expected, rtol=1e-5, atol=1e-7):
        raise mistake("l2_gradient_missing_factor_2", "the L2 part of dW is half what it should be: the derivative "
                                                      "of l2_reg w^2 is 2 l2_reg w")
    raise mistake("wrong_value", f"the L2 part of dW (dW with l2_reg={l2_reg} minus dW without) is "
                                 f"{np.round(added, 4).tolist()}, {reference} {np.round(expected, 4).tolist()}")


def check_loss_gradient(softmax_loss_and_gradient) -> None:
    """Check dW returned by ``softmax_loss_and_gradient(W, X, y, l2_reg)`` against numerical gradients
    of the same function's loss (the loss must pass ``check_loss`` first)."""
    try:
        _check_loss_at_zero(softmax_loss_and_gradient)
        _check_l2_in_loss(softmax_loss_and_gradient)
    except CheckFailure as error:
        raise mistake(getattr(error, "mistake", "wrong_value"),
                      f"fix the loss first (run check_loss): {error}") from None
    _check_gradient_no_l2(softmax_loss_and_gradient)
    _check_gradient_l2(softmax_loss_and_gradient)
    passed("softmax gradient", 3)


# ---------------------------------------------------------------- the chosen model

VALIDATION_THRESHOLD = 0.905
MODEL_NOT_FINITE = ("model_not_finite", "W_final contains inf or nan: the training diverged. Make "
                                        "softmax_loss_and_gradient pass its tests first (a gradient N times too "
                                        "large makes every step N times too long)")
MODEL_MISSING = ("model_missing", "W_final is not defined: the cell of choose_hyperparameters stopped with an error "
                                  "before W_final was trained, or its blanks are not filled in yet. Run that cell and "
                                  "fix its first error (it calls train, predict and accuracy)")


def judge_final_model(W_final, X_val, y_val, C: int = 10) -> float:
    """W_final's accuracy on (X_val, y_val), or the named failure: W's shape (C, D+1), trained,
    at least ``VALIDATION_THRESHOLD``. Used by the visible check and by the grader (on its own data)."""
    shape = (C, X_val.shape[0])
    W = coerce(None, W_final, "W_final", not_finite=MODEL_NOT_FINITE)
    if W.shape != shape:
        hint = " (transposed: one row per class)" if W.shape == shape[::-1] else ""
        raise mistake("model_wrong_shape", f"W_final has shape {W.shape}, expected W's shape {shape}{hint}")
    if not np.any(W):
        raise mistake("model_not_trained", "W_final is all zeros: it was never trained. Train it with "
                                           "`train(X_fit, y_fit, best_l2, epochs=3, batch_size=best_batch_size)`")
    found = float(np.mean(np.argmax(W @ np.asarray(X_val, dtype=np.float64), axis=0) == np.asarray(y_val)))
    if found < VALIDATION_THRESHOLD:
        raise mistake("model_below_threshold", f"W_final classifies {found:.2%} of the validation images correctly; "
                      f"at least {VALIDATION_THRESHOLD:.1%} is expected. Train it on all 50,000 fitting images for 3 "
                      f"epochs with the l2_reg and batch size your function chose (a strong penalty underfits)")
    return found


def judge_choice(chosen, l2_grid, batch_sizes, n_fit: int, n_val: int, expected: np.ndarray | None = None,
                 tolerance: float = 0.0) -> np.ndarray:
    """What ``choose_hyperparameters`` returned, ``chosen = (best_l2, best_batch_size, table)``, for
    ``n_fit`` training and ``n_val`` validation samples: a table of accuracies on the validation
    samples (an accuracy on n samples is a multiple of 1/n, which names the data measured on) and
    the pair at its maximum. ``expected``: the grader's own validation table."""
    if not isinstance(chosen, (tuple, list)) or len(chosen) != 3:
        raise mistake("wrong_type", "choose_hyperparameters must return the three values "
                                    "`best_l2, best_batch_size, table`")
    best_l2, best_batch_size, table = chosen
    shape = (len(l2_grid), len(batch_sizes))
    table = coerce(None, table, "the table of validation accuracies", shape)
    where = f"for l2_grid {list(l2_grid)} and batch_sizes {list(batch_sizes)}"

    def counted_on(n: int) -> bool:
        return bool(np.allclose(table * n, np.round(table * n), rtol=0, atol=1e-6))

    if not counted_on(n_val):
        for n, name, data in [(n_fit, "selection_on_training_data", f"the {n_fit} training samples X_fit"),
                              (10_000, "selection_on_test_data", "the 10,000 test images")]:
            if counted_on(n):
                raise mistake(name, f"the table {where} holds accuracies on {data}, not on the {n_val} validation "
                                    f"samples passed as X_val, y_val: measure each model on X_val, y_val. Choosing "
                                    f"on the data the model was trained on, or on the test set, picks what fits "
                                    f"those samples, not what generalises (and the test score is no longer honest)")
        raise mistake("selection_not_on_validation", f"the table {where} does not hold accuracies on the {n_val} "
                                                     f"validation samples passed as X_val, y_val: train each model on "
                                                     f"X_fit, y_fit and measure it with accuracy(y_val, predict(W, X_val))")
    if expected is not None and not np.allclose(table, expected, atol=tolerance + 1e-9, rtol=0):
        raise mistake("selection_not_on_validation", f"the table {where} is {np.round(table, 4).tolist()}, expected "
                      f"the validation accuracies {np.round(expected, 4).tolist()} of models trained on X_fit, y_fit "
                      f"with each l2_reg and batch size for the given epochs")
    reference = table if expected is None else expected
    cells = [(i, j) for i, l2 in enumerate(l2_grid) for j, b in enumerate(batch_sizes)
             if _same_value(best_l2, l2) and _same_value(best_batch_size, b)]
    if not cells:
        raise mistake("selection_not_best", f"choose_hyperparameters returned l2_reg = {best_l2!r} and batch size "
                                            f"{best_batch_size!r}, which are not values of the grid {where}")
    i, j = cells[0]
    if reference[i, j] < reference.max() - tolerance - 1e-9:
        raise mistake("selection_not_best", f"choose_hyperparameters chose a pair {where} whose validation accuracy "
                                            f"is not the highest of its table: return the l2_reg and batch size at the "
                                            f"table's maximum, np.unravel_index(np.argmax(table), table.shape)")
    return table


def _same_value(value, grid_value) -> bool:
    try:
        return float(value) == float(grid_value)
    except (TypeError, ValueError):
        return False


# The choice is tried on a small problem whose validation split has 301 samples: the accuracy of
# a model on 301 samples is a multiple of 1/301, which no accuracy on the 500 training samples or
# on the 10,000 test images is (except 0 and 1).
SELECTION_GRID = ([0.0, 10.0], [100, 500])


def check_chosen_model(W_final, choose_hyperparameters, X_val, y_val) -> None:
    """Check the final task: ``W_final`` (C, D+1) reaches 91% on (X_val, y_val), and
    ``choose_hyperparameters`` picks the pair with the best accuracy on the validation data it is given."""
    found = judge_final_model(W_final, X_val, y_val)
    l2_grid, batch_sizes = SELECTION_GRID
    fit, val = slice(0, 500), slice(500, 801)
    chosen = call_student(choose_hyperparameters, "choose_hyperparameters(...)", X_val[:, fit], y_val[fit],
                          X_val[:, val], y_val[val], l2_grid, batch_sizes, 1)
    judge_choice(chosen, l2_grid, batch_sizes, 500, 301)
    print(f"W_final: validation accuracy {found:.2%}")
    passed("chosen model", 2)


def choose_with_known_good(known_good, function, *args, **kwargs):
    """``function(*args, **kwargs)`` (the student's ``choose_hyperparameters``) with the notebook's
    ``softmax_loss_and_gradient`` and ``predict`` replaced by ``known_good``'s while it runs, so
    that a mistake in those is charged to their own cells, not again to the choice."""
    with replaced_globals(function, softmax_loss_and_gradient=known_good.softmax_loss_and_gradient,
                          predict=known_good.predict):
        return function(*args, **kwargs)
