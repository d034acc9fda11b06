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

from course_lib.checks.common import CheckFailure, as_float, as_float_array, close, passed
from course_lib.gradient_check import numerical_gradient, rel_error
from course_lib.pytree import tree_leaves, tree_map

MISTAKES = {
    "raised": "the student's function raised an exception",
    "wrong_shape": "the result has the wrong shape",
    "not_finite": "the result holds inf or nan",
    "wrong_type": "the result is None or not numbers",
    "wrong_value": "the result is wrong in a way no named mistake explains",
    "modifies_input": "the function changes an array it was given",
    "softmax_whole_matrix": "softmax normalised over the whole matrix instead of each column",
    "softmax_wrong_axis": "softmax normalised each row (axis 1) instead of each column (axis 0)",
    "softmax_not_normalised": "softmax's columns do not sum to 1",
    "softmax_no_max_shift": "softmax does not subtract the column maximum, so large scores overflow",
    "predict_wrong_axis": "predict took the argmax over samples instead of classes",
    "predict_returns_scores": "predict returned scores or probabilities instead of labels",
    "loss_gradient_not_pair": "the loss-and-gradient function did not return (loss, dW)",
    "loss_per_sample": "the loss is returned per sample instead of as their mean",
    "loss_summed": "the loss is the sum over samples instead of the mean",
    "loss_sign": "the loss is missing its minus sign",
    "loss_no_max_shift": "the loss overflows for large scores (no max-shift)",
    "loss_log_of_zero": "the loss takes the log of a probability that rounds to 0",
    "l2_missing": "the L2 term is missing from the loss",
    "l2_on_bias": "the L2 term also penalises the bias column",
    "gradient_transposed": "dW is transposed",
    "gradient_missing_bias_column": "dW has no bias column",
    "gradient_missing_1_over_N": "dW is N times too large (the 1/N is missing)",
    "gradient_sign": "dW has the wrong sign",
    "l2_gradient_missing": "the L2 term is missing from dW",
    "l2_gradient_on_bias": "the L2 term of dW also touches the bias column",
    "l2_gradient_missing_factor_2": "the L2 term of dW is l2_reg W instead of 2 l2_reg W",
}


def mistake(name: str, message: str, catalog: dict[str, str] = MISTAKES) -> CheckFailure:
    """A CheckFailure tagged with the name (a key of ``catalog``) of the mistake it recognised."""
    assert name in catalog, name
    error = CheckFailure(message)
    error.mistake = name
    return error


def call(fn, label: str, *args, hint: str = ""):
    """Call the student's function on copies of ``args`` (arrays or dicts of arrays); an
    exception becomes a CheckFailure (followed by ``hint`` when one is given)."""
    copies = [tree_map(lambda a: np.array(a, copy=True), a) if isinstance(a, (np.ndarray, dict)) else a
              for a in args]
    try:
        with np.errstate(all="ignore"):
            result = fn(*copies)
    except CheckFailure:
        raise
    except Exception as error:  # the student's code failed: say where
        hint = hint if isinstance(error, ValueError) else ""
        raise mistake("raised", f"{label} raised {type(error).__name__}: {str(error).strip()}{hint}") from error
    for original, copy in zip(args, copies):
        if isinstance(original, (np.ndarray, dict)) and not all(
                a.shape == b.shape and np.array_equal(a, b) for a, b in zip(tree_leaves(original), tree_leaves(copy))):
            raise mistake("modifies_input", f"{label} changed one of its input arrays in place; "
                                            "work on a new array (e.g. `Z = Z - ...` instead of `Z -= ...`)")
    return result


def coerce(value, label: str, shape=None, nonfinite: tuple[str, str] | None = None) -> np.ndarray:
    """``as_float_array`` that names a mistake (``nonfinite = (name, message)``) for inf/nan."""
    try:
        array = as_float_array(value, label)
    except CheckFailure as error:
        error.mistake = "not_finite" if "inf or nan" in str(error) else "wrong_type"
        if nonfinite is not None and error.mistake == "not_finite":
            raise mistake(*nonfinite) from None
        raise
    if shape is not None and array.shape != tuple(shape):
        raise mistake("wrong_shape", f"{label} has shape {array.shape}, expected {tuple(shape)}")
    return array


def _scalar(value, label: str, nonfinite: tuple[str, str] | None = None) -> float:
    array = coerce(value, label, nonfinite=nonfinite)
    if array.size != 1:
        raise mistake("loss_per_sample" if array.ndim == 1 else "wrong_shape",
                      f"{label} should be a single number (the mean over samples), "
                      f"got an array of shape {array.shape}")
    return as_float(array, label)


# ---------------------------------------------------------------- softmax

def _softmax_shape_and_normalisation(softmax) -> None:
    Z = np.random.default_rng(0).standard_normal((3, 4))
    P = coerce(call(softmax, "softmax(Z)", Z), "softmax(Z) for Z of shape (3, 4)")
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


def _softmax_hand_worked(softmax, shift: float = 0.0) -> None:
    # Column 0: equal scores -> (1/2, 1/2). Column 1: scores (ln 3, 0) -> (3/4, 1/4).
    Z = np.array([[0.0, np.log(3.0)], [0.0, 0.0]]) + shift
    expected = np.array([[0.5, 0.75], [0.5, 0.25]])
    label = "softmax(Z) for Z = [[0, ln 3], [0, 0]]" + (f" + {shift:g}" if shift else "")
    nonfinite = None
    if shift:
        nonfinite = ("softmax_no_max_shift",
                     f"{label} contains inf or nan: exp overflows for large scores. Subtract each column's "
                     "maximum score before taking exp; it does not change the probabilities")
    P = coerce(call(softmax, label, Z), label, Z.shape, nonfinite)
    if not close(P, expected):
        if shift:
            raise mistake("softmax_no_max_shift", f"{label} gives {P.tolist()}, expected {expected.tolist()}: adding "
                          "the same number to every score of a column must not change its probabilities")
        raise mistake("wrong_value", f"{label} gives {np.round(P, 4).tolist()}, expected {expected.tolist()}")


def check_softmax(softmax) -> None:
    """Check ``softmax(Z)``: (C, N) scores -> (C, N) probabilities, each column summing to 1."""
    _softmax_shape_and_normalisation(softmax)
    _softmax_hand_worked(softmax)
    _softmax_hand_worked(softmax, shift=1000.0)
    _softmax_hand_worked(softmax, shift=-1000.0)
    passed("softmax", 4)


# ---------------------------------------------------------------- predict

def check_predict(predict) -> None:
    """Check ``predict(W, X)``: the label with the highest score for each sample, shape (N,)."""
    C, D, N = 3, 4, 6
    rng = np.random.default_rng(1)
    W = rng.standard_normal((C, D + 1))
    X = np.vstack([rng.standard_normal((D, N)), np.ones((1, N))])
    labels = coerce(call(predict, "predict(W, X)", W, X), f"predict(W, X) for W {W.shape}, X {X.shape}")
    if labels.shape == (C,):
        raise mistake("predict_wrong_axis", f"predict(W, X) has shape {labels.shape}, expected ({N},): one label "
                                            "per sample, i.e. the argmax over the classes (axis 0) of the scores")
    if labels.shape == (C, N):
        raise mistake("predict_returns_scores", f"predict(W, X) has shape {labels.shape}: return one label per "
                                                f"sample (shape ({N},)), the index of the highest score")
    if labels.shape != (N,):
        raise mistake("wrong_shape", f"predict(W, X) has shape {labels.shape}, expected ({N},)")
    if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() >= C:
        raise mistake("predict_returns_scores", f"predict(W, X) returned {np.round(labels, 3).tolist()}; expected "
                                                f"class labels, whole numbers from 0 to {C - 1}")
    scores = W @ X
    chosen = scores[labels.astype(int), np.arange(N)]
    wrong = np.flatnonzero(chosen < scores.max(axis=0))
    if wrong.size:
        n = int(wrong[0])
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
    result = call(fn, label, W, X, y, l2_reg)
    if not isinstance(result, tuple) or len(result) != 2:
        raise mistake("loss_gradient_not_pair", f"{label} returned a {type(result).__name__}; "
                                                "return the pair `loss, dW`")
    return result


def _loss(fn, W, X, y, l2_reg=0.0, nonfinite=None) -> float:
    label = f"the loss for W {W.shape}, X {X.shape}, l2_reg={l2_reg:g}"
    return _scalar(_loss_and_gradient(fn, W, X, y, l2_reg)[0], label, nonfinite)


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
        raise mistake("wrong_value", f"two samples of labels (0, 1), both with scores (ln 3, 0), i.e. probabilities "
                                     f"(3/4, 1/4): the loss should be -(ln 3/4 + ln 1/4)/2 = {expected:.6f}, "
                                     f"got {loss:.6f}")
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
    raise mistake("wrong_value", f"l2_reg={l2_reg} adds {added:.6f} to the loss, expected l2_reg x (sum of squared "
                                 f"weights without the bias column) = {expected:.6f}")


def check_loss(softmax_loss_and_gradient) -> None:
    """Check the loss returned by ``softmax_loss_and_gradient(W, X, y, l2_reg)``."""
    _check_loss_at_zero(softmax_loss_and_gradient)
    _check_loss_hand_worked(softmax_loss_and_gradient)
    _check_l2_in_loss(softmax_loss_and_gradient)
    passed("softmax loss", 5)


def _gradient(fn, W, X, y, l2_reg) -> np.ndarray:
    C, K = W.shape
    dW = coerce(_loss_and_gradient(fn, W, X, y, l2_reg)[1], f"dW for W of shape {W.shape}")
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


def relation(dW: np.ndarray, numeric: np.ndarray, scaled: dict[str, float] | None = None) -> str | None:
    """How an analytic gradient relates to the numerical one (relative error < 1e-6):
    ``"equal"``; a key of ``scaled`` when ``dW = factor * numeric``; ``"negated"``;
    ``"bias_column"`` when only the last (bias) column differs; None otherwise."""
    if rel_error(dW, numeric) < 1e-6:
        return "equal"
    for name, factor in (scaled or {}).items():
        if rel_error(dW, factor * numeric) < 1e-6:
            return name
    if rel_error(dW, -numeric) < 1e-6:
        return "negated"
    if rel_error(dW[:, :-1], numeric[:, :-1]) < 1e-6:
        return "bias_column"
    return None


def _check_gradient_no_l2(fn) -> None:
    W, X, y = _problem()
    N = X.shape[1]
    dW = _gradient(fn, W, X, y, 0.0)
    numeric = _numerical(fn, W, X, y, 0.0)
    found = relation(dW, numeric, {"gradient_missing_1_over_N": N})
    if found == "equal":
        return
    if found == "gradient_missing_1_over_N":
        raise mistake(found, f"dW is {N} times the numerical gradient with {N} samples: "
                             "the loss is a mean, so its gradient has a 1/N too")
    if found == "negated":
        raise mistake("gradient_sign", "dW is minus the numerical gradient: check the sign of (P - Y)")
    if found == "bias_column":
        raise mistake("wrong_value", "dW's weight columns are right but its bias (last) column is not "
                                     f"(got {np.round(dW[:, -1], 5).tolist()}, numerically "
                                     f"{np.round(numeric[:, -1], 5).tolist()})")
    raise mistake("wrong_value", f"dW differs from the numerical gradient of your loss (relative error "
                                 f"{rel_error(dW, numeric):.1e}, should be < 1e-6). Compare dW = "
                                 f"{np.round(dW, 4).tolist()} with {np.round(numeric, 4).tolist()}")


def _check_gradient_l2(fn) -> None:
    W, X, y = _problem(seed=3)
    l2_reg = 0.1
    added = _gradient(fn, W, X, y, l2_reg) - _gradient(fn, W, X, y, 0.0)
    expected = _numerical(fn, W, X, y, l2_reg) - _numerical(fn, W, X, y, 0.0)
    if np.allclose(added, expected, rtol=1e-5, atol=1e-7):
        return
    if np.allclose(added, 0.0, atol=1e-12):
        raise mistake("l2_gradient_missing", f"l2_reg={l2_reg} does not change dW: the L2 term of the loss has a "
                                             "gradient too")
    if np.allclose(added[:, :-1], expected[:, :-1], rtol=1e-5, atol=1e-7) and np.any(added[:, -1] != 0):
        raise mistake("l2_gradient_on_bias", "the L2 part of dW also changes the bias column; the bias is not "
                                             "penalised, so that column gets no L2 term")
    if np.allclose(2 * added, expected, rtol=1e-5, atol=1e-7):
        raise mistake("l2_gradient_missing_factor_2", "the L2 part of dW is half what it should be: the derivative "
                                                      "of l2_reg w^2 is 2 l2_reg w")
    raise mistake("wrong_value", f"the L2 part of dW (dW with l2_reg={l2_reg} minus dW without) is "
                                 f"{np.round(added, 4).tolist()}, numerically {np.round(expected, 4).tolist()}")


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
