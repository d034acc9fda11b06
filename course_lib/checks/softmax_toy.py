"""Visible checks of the softmax toy notebook: ``softmax_loss``, ``softmax_gradient``, their
L2-regularised versions ``softmax_loss_l2``, ``softmax_gradient_l2``, and one epoch's
``mini_batches`` (checked from ``batch_trace``, plain data the judge gets from the kernel too).

W is (C, D+1) with the bias as its last column, X is (D+1, N) with a last row of ones, y holds
N integer labels. The checks use cases worked out by hand and numerical gradients of the
student's own loss, and raise ``CheckFailure`` in the student's terms; a recognised mistake is
named in ``error.mistake`` (a key of ``MISTAKES``), other failures carry one of
``common.GENERIC_MISTAKES`` (``"wrong_value"``, ``"wrong_shape"``, ``"wrong_type"``, ``"not_finite"``,
``"raised"``, ``"modifies_input"``), which ``MISTAKES`` includes."""
from __future__ import annotations

import math

import numpy as np

from course_lib.checks.common import (
    GENERIC_MISTAKES,
    CheckFailure,
    as_float,
    call,
    close,
    coerce,
    coerce_scalar,
    failure,
    fmt,
    passed,
)
from course_lib.gradient_check import check_gradient

MISTAKES = {
    "loss_per_sample": "softmax_loss returns one loss per sample instead of their mean",
    "loss_sum": "softmax_loss sums over samples instead of averaging",
    "loss_sign": "softmax_loss is missing the minus sign",
    "loss_wrong_axis": "the probabilities are normalised along rows instead of columns",
    "loss_whole_matrix": "the probabilities are normalised over the whole matrix",
    "loss_mean_over_classes": "softmax_loss averages over classes and samples",
    "loss_ignores_labels": "softmax_loss averages -log P over every class, not the correct ones",
    "loss_log_of_zero": "softmax_loss takes the log of a probability that underflowed to 0",
    "gradient_not_averaged": "softmax_gradient is not divided by the number of samples",
    "gradient_missing_minus_one": "softmax_gradient does not subtract 1 at the correct classes",
    "gradient_sign": "softmax_gradient has the wrong sign (Y - P instead of P - Y)",
    "gradient_transposed": "softmax_gradient is transposed",
    "gradient_whole_rows": "softmax_gradient subtracts 1 from whole rows (every sample) of the correct classes",
    "gradient_indices_swapped": "softmax_gradient subtracts 1 at [sample, class] instead of [class, sample]",
    "modifies_input": "the function changes W or X in place",
    "loss_first": "the gradient was checked while softmax_loss is still wrong",
    "l2_on_bias": "L2 also penalises the bias column",
    "l2_not_squared": "the L2 penalty uses the norm instead of its square",
    "l2_loss_factor_two": "the L2 loss has a factor 2 (it belongs in the gradient)",
    "l2_loss_half": "the L2 loss has a factor 1/2",
    "l2_sign": "the L2 term is subtracted instead of added",
    "l2_gradient_missing_two": "the L2 gradient is alpha W instead of 2 alpha W",
    "l2_gradient_no_penalty": "the L2 gradient leaves out the penalty",
    "l2_loss_missing_alpha": "the L2 loss leaves out alpha",
    "l2_gradient_missing_alpha": "the L2 gradient leaves out alpha",
    "l2_gradient_replaces": "the L2 gradient replaces the softmax gradient instead of being added to it",
    "l2_gradient_squared": "the L2 gradient is 2 alpha W^2 instead of 2 alpha W",
    "batches_not_shuffled": "mini_batches keeps the samples in order (never shuffled)",
    "batches_without_generator": "mini_batches shuffles with np.random (or a Generator of its own), not the rng given",
    "batches_fixed_seed": "mini_batches shuffles with a Generator of its own with a fixed seed: the same batches "
                          "whatever the rng given",
    "batches_overlap": "mini_batches makes overlapping batches (samples in more than one batch of an epoch)",
    "batches_drop_remainder": "mini_batches drops the last, smaller batch",
    "batches_with_replacement": "mini_batches draws the indices with replacement (some twice, others never)",
    "batches_count_for_size": "mini_batches makes batch_size batches instead of batches of batch_size",
    "batches_of_one": "mini_batches makes batches of one sample",
    **GENERIC_MISTAKES,
}

# The mistakes of the batch-versus-one-sample family (``diagnose.BATCH_FAMILY``): right for one
# sample, wrong on a batch (the judge gives the one-sample part its own check), or rows as samples.
BATCH_MISTAKES = {
    "loss_per_sample": "mean_not_sum",
    "loss_sum": "sum_not_mean",
    "loss_whole_matrix": "per_sample_formula",
    "loss_wrong_axis": "rows_as_samples",
    "gradient_not_averaged": "sum_not_mean",
    "gradient_transposed": "rows_as_samples",
    "batches_not_shuffled": "shuffle_without_generator",
    "batches_without_generator": "shuffle_without_generator",
    "batches_fixed_seed": "shuffle_without_generator",
    "batches_overlap": "overlapping_batches",
    "batches_drop_remainder": "dropped_remainder",
    "batches_of_one": "per_sample_steps",
}


def _call(check: str, function, *args):
    """The student's function on copies of W, X, y: an exception or an in-place change of an
    argument becomes a failure that says so."""
    return call(check, function, *args, protect=True, names=("W", "X", "y"))


def _array(check: str, value, name: str, shape, not_finite=None) -> np.ndarray:
    return coerce(check, value, name, shape, not_finite)


def _number(check: str, value, name: str, not_finite=None) -> float:
    return coerce_scalar(check, value, name, "loss_per_sample" if check == "softmax_loss" else "wrong_shape",
                         not_finite)


# The hand case: three classes, one feature (3, 2, 1) and the bias row; W has only bias weights
# (0, log 2, log 3), so every column of probabilities is (1, 2, 3) / 6. Labels 0, 2, 2.
_LN2, _LN3 = math.log(2), math.log(3)
_W = np.array([[0.0, 0.0], [0.0, _LN2], [0.0, _LN3]])
_X = np.array([[3.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
_y = np.array([0, 2, 2])
# -(log 1/6 + log 1/2 + log 1/2) / 3 = log(24) / 3
_LOSS = math.log(24) / 3
# (P - Y) X^T / 3 with P = (1, 2, 3)/6 in every column.
_GRADIENT = np.array([[-2 / 3, -1 / 6], [2 / 3, 1 / 3], [0.0, -1 / 6]])
# For the L2 checks: the same case with feature weights (1, 2, -1) and a feature row of zeros.
_W_L2 = np.array([[1.0, 0.0], [2.0, _LN2], [-1.0, _LN3]])
_X_L2 = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
_ALPHA = 0.1


def _random_case(seed: int, C: int = 3, D: int = 4, N: int = 6):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((C, D + 1))
    X = np.vstack([rng.standard_normal((D, N)), np.ones((1, N))])
    return W, X, rng.integers(0, C, N)


def check_softmax_loss(softmax_loss) -> None:
    """``softmax_loss(W, X, y)``: the mean over samples of ``-log softmax(W X)[y_n, n]``."""
    loss_worked_example(softmax_loss)
    loss_random_data(softmax_loss)
    loss_far_apart(softmax_loss)
    passed("softmax_loss", 4)


def loss_worked_example(softmax_loss) -> None:
    """The hand case (with its named mistakes) and W = 0."""
    name = "softmax_loss"
    got = _number(name, _call(name, softmax_loss, _W, _X, _y), "softmax_loss(W, X, y)")
    if not math.isclose(got, _LOSS, rel_tol=1e-9):
        wrong = {
            "loss_sum": (3 * _LOSS, "right for one sample, but on a batch this is the sum over the 3 samples where "
                                    "their mean is asked: divide by the number of samples N (or use np.mean)"),
            "loss_sign": (-_LOSS, "the loss is negative: -log of a probability is >= 0, so keep the minus sign"),
            "loss_wrong_axis": (_LN3, "the probabilities were normalised along rows, as if rows were samples; "
                                      "samples are the columns of W X, so each column must sum to 1: use axis=0"),
            "loss_whole_matrix": (math.log(648) / 3, "right for one sample, but on a batch the probabilities were "
                                                     "normalised over the whole matrix; each column (sample) must sum "
                                                     "to 1: use axis=0 with keepdims=True"),
            "loss_mean_over_classes": (_LOSS / 3, "this also averages over the 3 classes; only average over samples"),
            "loss_ignores_labels": (2 * math.log(6) / 3, "this averages -log P over every class; take only the "
                                                         "correct class y_n of each sample n"),
        }
        wrong = list(wrong.items()) + [
            ("loss_ignores_labels", (2 * math.log(6), "this adds up -log P over every class; take only the correct "
                                                      "class y_n of each sample n"))]
        for mistake, (value, hint) in wrong:
            if math.isclose(got, value, rel_tol=1e-9):
                raise failure(name, mistake, f"got {got:.6f}, expected {_LOSS:.6f}: {hint}")
        raise failure(name, "wrong_value", f"with probabilities (1/6, 2/6, 3/6) in every column and labels (0, 2, 2) "
                                            f"expected -(log 1/6 + log 1/2 + log 1/2) / 3 = {_LOSS:.6f}, got {got:.6f}")
    uniform = _number(name, _call(name, softmax_loss, np.zeros((3, 2)), _X, _y), "softmax_loss(0, X, y)")
    if not math.isclose(uniform, _LN3, rel_tol=1e-9):
        raise failure(name, "wrong_value", f"W = 0 gives probability 1/3 everywhere and loss log 3 = {_LN3:.6f}, "
                                            f"got {uniform:.6f}")


def loss_random_data(softmax_loss) -> None:
    """Random data: every sample with its own column and its own label."""
    name = "softmax_loss"
    # Every sample with its own probabilities: each sample's loss must use its own column and label.
    W, X, y = _random_case(5)
    Z = W @ X
    per_sample = np.log(np.sum(np.exp(Z - Z.max(axis=0)), axis=0)) + Z.max(axis=0) - Z[y, np.arange(len(y))]
    random = _number(name, _call(name, softmax_loss, W, X, y), "softmax_loss on random data")
    if not math.isclose(random, per_sample.mean(), rel_tol=1e-9):
        raise failure(name, "wrong_value", f"on random data (3 classes, 6 samples, labels {y.tolist()}) the "
                                           f"per-sample losses are {fmt(per_sample)}, their mean {per_sample.mean():.6f}; "
                                           f"got {random:.6f}: does each sample use its own column and its own label?")


def loss_far_apart(softmax_loss, relative: bool = False) -> None:
    """Scores 0 and 800: the probability of the correct class underflows, the loss stays exact.
    ``relative``: compared with 800/30 times the student's own loss for scores (0, 30), where
    nothing underflows (the loss grows linearly with scores that far apart), so that this part
    is judged apart from the loss's other mistakes."""
    name = "softmax_loss"
    # Scores 0 and 800 for a sample of class 0: its probability underflows to 0, the loss is 800.
    far = _number(name, _call(name, softmax_loss, np.array([[0.0, 0.0], [0.0, 800.0]]), np.array([[0.0], [1.0]]),
                              np.array([0])), "softmax_loss with scores (0, 800)", not_finite=(
        "loss_log_of_zero", "got inf or nan for scores (0, 800) and label 0: the probability exp(-800) underflows "
                            "to 0 and log(0) = -inf; compute the log-probabilities directly from the shifted scores "
                            "(log-softmax) instead of taking the log of the probabilities"))
    expected = 800.0
    if relative:
        near = _number(name, _call(name, softmax_loss, np.array([[0.0, 0.0], [0.0, 30.0]]), np.array([[0.0], [1.0]]),
                                   np.array([0])), "softmax_loss with scores (0, 30)")
        expected = near * 800.0 / 30.0
    if not math.isclose(far, expected, rel_tol=1e-9, abs_tol=1e-9):
        raise failure(name, "loss_log_of_zero", f"for scores (0, 800) and label 0 the loss is 800 (log-softmax: "
                                                 f"0 - 800 - log(1 + e^-800)), got {far:.6g}; clipping the probability "
                                                 f"hides how wrong the prediction is")


def loss_one_sample(softmax_loss) -> None:
    """One sample (X of shape (D+1, 1)): -log of its correct class's probability."""
    name = "softmax_loss"
    W, X, y = _W, _X[:, :1], _y[:1]
    got = _number(name, _call(name, softmax_loss, W, X, y), "softmax_loss for one sample")
    if not math.isclose(got, math.log(6), rel_tol=1e-9):
        raise failure(name, "wrong_value", f"for one sample with probabilities (1/6, 2/6, 3/6) and label 0 the loss "
                                           f"is -log(1/6) = {math.log(6):.6f}, got {got:.6f}")


def gradient_one_sample(softmax_gradient) -> None:
    """One sample: (p - y) x^T."""
    name = "softmax_gradient"
    W, X, y = _W, _X[:, :1], _y[:1]
    result = _call(name, softmax_gradient, W, X, y)
    if np.shape(result) == W.shape[::-1]:
        raise failure(name, "gradient_transposed", f"your gradient has shape {np.shape(result)}; it must have the "
                                                    f"shape of W, {W.shape}, not its transpose")
    got = _array(name, result, "softmax_gradient for one sample", W.shape)
    p = np.array([[1.0], [2.0], [3.0]]) / 6
    p[0] -= 1
    if not close(got, p @ X.T):
        raise failure(name, "wrong_value", f"for one sample the gradient is (p - y) x^T = {fmt(p @ X.T)}, "
                                           f"got {fmt(got)}")


def check_softmax_gradient(softmax_gradient, softmax_loss) -> None:
    """``softmax_gradient(W, X, y)``: ``(P - Y) X^T / N``, and the numerical gradient of your
    ``softmax_loss``."""
    gradient_worked_example(softmax_gradient)
    gradient_matches_loss(softmax_gradient, softmax_loss)
    passed("softmax_gradient", 2)


def gradient_worked_example(softmax_gradient) -> None:
    """The hand case, with its named mistakes."""
    name = "softmax_gradient"
    result = _call(name, softmax_gradient, _W, _X, _y)
    if np.shape(result) == (2, 3):
        raise failure(name, "gradient_transposed", "your gradient has shape (2, 3); it must have the shape of W, "
                                                    "(3, 2), not its transpose: (P - Y) times X transposed")
    got = _array(name, result, "softmax_gradient(W, X, y)", _W.shape)
    if not close(got, _GRADIENT):
        P = np.array([1, 2, 3]) / 6
        wrong = {
            "gradient_not_averaged": (3 * _GRADIENT, "right for one sample, but on a batch this adds up the 3 samples' "
                                                     "gradients where their mean is asked: divide by the number of "
                                                     "samples N"),
            "gradient_missing_minus_one": (np.outer(P, _X.sum(axis=1)) / 3,
                                           "subtract 1 from the probability of each sample's correct class"),
            "gradient_sign": (-_GRADIENT, "the sign is flipped: the gradient is (P - Y) X^T / N"),
            "gradient_whole_rows": (_wrong_ones(lambda M: M.__setitem__(_y, M[_y] - 1)),
                                    "1 was subtracted from whole rows: indexing with the labels alone selects every "
                                    "sample's entry of those classes; index with the labels and the sample numbers"),
            "gradient_indices_swapped": (_wrong_ones(lambda M: M.__setitem__((np.arange(3), _y), M[np.arange(3), _y] - 1)),
                                         "1 was subtracted at [sample, label]; rows are classes and columns are "
                                         "samples, so the class index comes first"),
        }
        for mistake, (value, hint) in wrong.items():
            if close(got, value):
                raise failure(name, mistake, hint)
        raise failure(name, "wrong_value", f"for the hand case (probabilities (1/6, 2/6, 3/6) in every column, "
                                            f"labels (0, 2, 2), X =\n{fmt(_X)})\nexpected\n{fmt(_GRADIENT)}\n"
                                            f"got\n{fmt(got)}")


def gradient_matches_loss(softmax_gradient, softmax_loss) -> None:
    """Random data: the numerical gradient of the student's softmax_loss (which must be right)."""
    name = "softmax_gradient"
    try:
        _loss_is_right(softmax_loss)
    except CheckFailure as error:
        raise failure(name, "loss_first", f"fix softmax_loss first ({error})") from None
    W, X, y = _random_case(3)
    analytic = _array(name, _call(name, softmax_gradient, W, X, y), "softmax_gradient(W, X, y)", W.shape)
    error = check_gradient(lambda W_: as_float(softmax_loss(W_, X, y), "softmax_loss"), W.copy(), analytic)
    if error > 1e-6:
        raise failure(name, "wrong_value", f"does not match the numerical gradient of your softmax_loss on random "
                                            f"data (relative error {error:.2g})")


def _wrong_ones(subtract) -> np.ndarray:
    """The hand case's gradient when ``subtract`` takes the 1s off the wrong entries of P."""
    P = np.repeat(np.array([[1.0], [2.0], [3.0]]) / 6, 3, axis=1)
    subtract(P)
    return P @ _X.T / 3


def _loss_is_right(softmax_loss) -> None:
    """The hand case of ``check_softmax_loss`` without its printed line."""
    with np.errstate(all="ignore"):
        got = as_float(softmax_loss(_W.copy(), _X.copy(), _y.copy()), "softmax_loss(W, X, y)")
    if not math.isclose(got, _LOSS, rel_tol=1e-9):
        raise CheckFailure("softmax_loss does not pass check_softmax_loss")


def check_softmax_loss_l2(softmax_loss_l2, softmax_loss) -> None:
    """``softmax_loss_l2(W, X, y, alpha)``: ``softmax_loss + alpha ||W without its bias column||^2``."""
    name = "softmax_loss_l2"
    base = _number(name, _call(name, softmax_loss, _W_L2, _X_L2, _y), "softmax_loss(W, X, y)")
    if not math.isclose(base, _LOSS, rel_tol=1e-9):
        raise failure(name, "loss_first", "fix softmax_loss first (check_softmax_loss)")
    loss_l2_worked_example(softmax_loss_l2)
    passed(name, 2)


def loss_l2_worked_example(softmax_loss_l2) -> None:
    """alpha = 0 and alpha = 0.1 on the hand case with feature weights (1, 2, -1), with the named
    mistakes of the penalty."""
    name = "softmax_loss_l2"
    no_penalty = _number(name, _call(name, lambda *a: softmax_loss_l2(*a, 0.0), _W_L2, _X_L2, _y),
                         "softmax_loss_l2(W, X, y, 0)")
    if math.isclose(no_penalty, _LOSS + 6.0, rel_tol=1e-9):
        raise failure(name, "l2_loss_missing_alpha", f"with alpha = 0 it gives {no_penalty:.6f} = softmax_loss + 6, "
                                                     f"the squared norm of the feature weights (1, 2, -1): multiply "
                                                     f"the penalty by alpha")
    if not math.isclose(no_penalty, _LOSS, rel_tol=1e-9):
        raise failure(name, "wrong_value",
                       f"with alpha = 0 it should equal softmax_loss = {_LOSS:.6f}, got {no_penalty:.6f}")
    got = _number(name, _call(name, lambda *a: softmax_loss_l2(*a, _ALPHA), _W_L2, _X_L2, _y),
                  f"softmax_loss_l2(W, X, y, {_ALPHA})")
    # Feature weights (1, 2, -1): ||.||^2 = 6, so the penalty is 0.1 * 6 = 0.6.
    expected = _LOSS + 0.6
    if not math.isclose(got, expected, rel_tol=1e-9):
        wrong = {
            "l2_on_bias": (expected + _ALPHA * (_LN2 ** 2 + _LN3 ** 2), "the bias column is penalised too; "
                                                                        "leave out the last column of W"),
            "l2_not_squared": (_LOSS + _ALPHA * math.sqrt(6), "use the squared norm, the sum of the squared weights"),
            "l2_loss_factor_two": (_LOSS + 1.2, "the penalty is alpha times the squared norm; the 2 appears in "
                                                "its gradient"),
            "l2_loss_half": (_LOSS + 0.3, "the penalty is alpha times the squared norm, without 1/2"),
            "l2_sign": (_LOSS - 0.6, "the penalty is added to the loss"),
        }
        for mistake, (value, hint) in wrong.items():
            if math.isclose(got, value, rel_tol=1e-9):
                raise failure(name, mistake, f"got {got:.6f}, expected {expected:.6f}: {hint}")
        raise failure(name, "wrong_value", f"with feature weights (1, 2, -1), alpha = {_ALPHA} and softmax_loss = "
                                            f"{_LOSS:.6f} expected {_LOSS:.6f} + 0.1 * 6 = {expected:.6f}, "
                                            f"got {got:.6f}")


def check_softmax_gradient_l2(softmax_gradient_l2, softmax_loss_l2) -> None:
    """``softmax_gradient_l2(W, X, y, alpha)``: ``softmax_gradient + 2 alpha W`` with a zero bias
    column, and the numerical gradient of your loss without penalty plus the L2 penalty."""
    gradient_l2_worked_example(softmax_gradient_l2)
    gradient_l2_matches_loss(softmax_gradient_l2, softmax_loss_l2)
    passed("softmax_gradient_l2", 2)


def gradient_l2_worked_example(softmax_gradient_l2) -> None:
    """The hand case with feature weights (1, 2, -1), with the named mistakes of the penalty."""
    name = "softmax_gradient_l2"
    # The softmax part: feature row 0 gives a zero first column, the bias column is (-1/6, 1/3, -1/6);
    # the penalty 2 * 0.1 * (1, 2, -1) goes in the first column only.
    base = np.array([[0.0, -1 / 6], [0.0, 1 / 3], [0.0, -1 / 6]])
    penalty = np.array([[0.2, 0.0], [0.4, 0.0], [-0.2, 0.0]])
    got = _array(name, _call(name, lambda *a: softmax_gradient_l2(*a, _ALPHA), _W_L2, _X_L2, _y),
                 f"softmax_gradient_l2(W, X, y, {_ALPHA})", _W_L2.shape)
    if not close(got, base + penalty):
        wrong = {
            "l2_on_bias": (base + 2 * _ALPHA * _W_L2, "the bias column got a penalty too; its penalty gradient is 0"),
            "l2_gradient_missing_two": (base + penalty / 2, "the derivative of alpha w^2 is 2 alpha w"),
            "l2_gradient_no_penalty": (base, "this is the gradient without the penalty; add 2 alpha W (bias column 0)"),
            "l2_gradient_missing_alpha": (base + penalty / _ALPHA, "the penalty's gradient is missing alpha: "
                                                                   "the derivative of alpha w^2 is 2 alpha w"),
            "l2_gradient_replaces": (penalty, "this is the penalty's gradient alone: add it to the gradient of "
                                              "softmax_loss instead of replacing that"),
            "l2_gradient_squared": (base + penalty * _W_L2, "the derivative of alpha w^2 is 2 alpha w, "
                                                            "not 2 alpha w^2"),
            "l2_sign": (base - penalty, "the penalty's gradient is added, +2 alpha W"),
        }
        wrong = list(wrong.items()) + [
            ("l2_gradient_replaces", (2 * _ALPHA * _W_L2, "this is 2 alpha W alone: add the penalty's gradient (with "
                                                          "a zero bias column) to the gradient of softmax_loss"))]
        for mistake, (value, hint) in wrong:
            if close(got, value):
                raise failure(name, mistake, hint)
        raise failure(name, "wrong_value", f"for W =\n{fmt(_W_L2)}\nX =\n{fmt(_X_L2)}\ny = {_y}, alpha = {_ALPHA}: "
                                            f"expected\n{fmt(base + penalty)}\ngot\n{fmt(got)}")


def gradient_l2_matches_loss(softmax_gradient_l2, softmax_loss_l2) -> None:
    """Random data: the numerical gradient of the student's loss at alpha = 0 plus the penalty."""
    name = "softmax_gradient_l2"
    try:
        _loss_is_right(lambda W, X, y: softmax_loss_l2(W, X, y, 0.0))
    except CheckFailure:
        raise failure(name, "loss_first", "fix softmax_loss_l2 first (check_softmax_loss_l2)") from None
    W, X, y = _random_case(4)
    analytic = _array(name, _call(name, lambda *a: softmax_gradient_l2(*a, 0.3), W, X, y),
                      "softmax_gradient_l2(W, X, y, 0.3)", W.shape)
    # The penalty is built here, not taken from softmax_loss_l2: a mistake in the loss's penalty is
    # charged to the loss alone.
    error = check_gradient(lambda W_: as_float(softmax_loss_l2(W_, X, y, 0.0), "softmax_loss_l2")
                           + 0.3 * float(np.sum(W_[:, :-1] ** 2)), W.copy(), analytic)
    if error > 1e-6:
        raise failure(name, "wrong_value", f"does not match the numerical gradient of softmax_loss (your "
                                            f"softmax_loss_l2 with alpha = 0) + 0.3 ||W without its bias column||^2 "
                                            f"on random data (relative error {error:.2g})")


# --- mini_batches ------------------------------------------------------------------------------

# The cases: (num_samples, batch_size). The first is the notebook's (11 samples, batches of 3).
BATCH_CASE = (11, 3)
OTHER_BATCH_CASES = ((12, 4), (5, 8), (7, 1))
BATCH_SEEDS = (7, 7, 8)  # twice the same Generator state, then another
BATCH_EPOCHS = 3


def batch_trace(mini_batches, num_samples: int, batch_size: int, seeds=BATCH_SEEDS, epochs: int = BATCH_EPOCHS) -> list:
    """What ``mini_batches`` gives, as plain data: for each seed a fresh
    ``np.random.default_rng(seed)`` passed to ``epochs`` calls in a row, one list of index arrays
    per epoch (at most ``num_samples + 2`` batches are read)."""
    runs = []
    for seed in seeds:
        rng = np.random.default_rng(int(seed))
        epochs_seen = []
        for _ in range(int(epochs)):
            batches = mini_batches(int(num_samples), int(batch_size), rng)
            if batches is None:
                epochs_seen.append(None)
                continue
            epochs_seen.append([np.array(b) for b in _first(batches, int(num_samples) + 2)])
        runs.append(epochs_seen)
    return runs


def _first(batches, count: int) -> list:
    out = []
    for batch in batches:
        if len(out) == count:
            break
        out.append(batch)
    return out


def _batches_of(check: str, epoch, num_samples: int) -> list[np.ndarray]:
    """An epoch's batches as 1-D integer arrays, or a failure saying what they are instead."""
    if epoch is None:
        raise failure(check, "wrong_type", "mini_batches returned None: did you forget a `return`?")
    if not isinstance(epoch, (list, tuple)) or not epoch:
        raise failure(check, "wrong_type", "mini_batches should return a list of index arrays, one per batch")
    batches = []
    for batch in epoch:
        array = np.asarray(batch)
        if array.ndim != 1:
            raise failure(check, "wrong_shape", f"a batch has shape {array.shape}; each batch is a 1-D array of "
                                                f"sample indices")
        if array.size and array.dtype.kind not in "iu":
            raise failure(check, "wrong_type", f"a batch holds {array.dtype} values, not integer indices (indexing "
                                               f"X[:, batch] needs integers; rng.permutation gives them)")
        if array.size and (array.min() < 0 or array.max() >= num_samples):
            raise failure(check, "wrong_value", f"a batch holds the index {int(array.max() if array.max() >= num_samples else array.min())}, "
                                                f"outside 0 .. {num_samples - 1}")
        batches.append(array.astype(np.int64))
    return batches


def batches_epoch(check: str, epoch, num_samples: int, batch_size: int) -> None:
    """One epoch: every index once, in batches of ``batch_size``, the last one possibly smaller;
    the batch family's structural mistakes named."""
    batches = _batches_of(check, epoch, num_samples)
    sizes = [len(b) for b in batches]
    expected = [batch_size] * (num_samples // batch_size) + ([num_samples % batch_size] if num_samples % batch_size else [])
    counts = np.bincount(np.concatenate(batches), minlength=num_samples)
    case = f"for {num_samples} samples and batch_size = {batch_size}"
    if np.all(counts == 1):
        if sizes == expected:
            return
        if len(sizes) == batch_size and len(sizes) != len(expected):
            raise failure(check, "batches_count_for_size", f"{case} you made {batch_size} batches (sizes {sizes}); "
                                                           f"batch_size is the size of each batch, so there are "
                                                           f"ceil(N / batch_size) = {len(expected)} of them, sizes {expected}")
        if batch_size > 1 and all(s == 1 for s in sizes):
            raise failure(check, "batches_of_one", f"{case} every batch holds one sample: right for batch_size = 1, "
                                                   f"but a mini-batch holds batch_size samples (sizes {expected})")
        raise failure(check, "wrong_value", f"{case} every sample is there once, but the batch sizes are {sizes}; "
                                            f"expected {expected}")
    if counts.max() > 1 and counts.min() >= 1:
        raise failure(check, "batches_overlap", f"{case} some samples are in more than one batch of the epoch "
                                                f"({int(np.sum(counts))} indices in {len(sizes)} batches): the batches "
                                                f"overlap; step the start by batch_size so each sample is in exactly "
                                                f"one batch")
    if counts.max() > 1:
        raise failure(check, "batches_with_replacement", f"{case} some samples come twice and {int(np.sum(counts == 0))} "
                                                         f"never: the indices were drawn with replacement; shuffle a "
                                                         f"permutation of all of them (rng.permutation)")
    missing = int(np.sum(counts == 0))
    if sizes == expected[:len(sizes)] and len(sizes) == num_samples // batch_size and missing == num_samples % batch_size:
        raise failure(check, "batches_drop_remainder", f"{case} the last, smaller batch of the {missing} leftover "
                                                       f"samples is dropped, so they are never used: keep it (the "
                                                       f"last batch may be smaller)")
    raise failure(check, "wrong_value", f"{case} {missing} of the samples are in no batch; every sample must be in "
                                        f"one batch per epoch")


def batches_generator(check: str, runs, num_samples: int) -> None:
    """Shuffled with the Generator given: reproducible from its state, different for another
    state, and a new order every epoch."""
    first, again, other = runs[:3]
    flat = [[np.concatenate(_batches_of(check, epoch, num_samples)) for epoch in run] for run in (first, again, other)]
    same = lambda a, b: len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    if all(np.array_equal(order, np.arange(len(order))) for order in flat[0]):
        raise failure(check, "batches_not_shuffled", "the samples come in their order 0, 1, 2, ... every epoch: "
                                                     "shuffle them first with the Generator given, rng.permutation(num_samples)")
    if not same(flat[0], flat[1]):
        raise failure(check, "batches_without_generator", "two runs with Generators in the same state "
                                                          "(np.random.default_rng(7)) gave different batches: shuffle with "
                                                          "the rng you are given (rng.permutation), not with np.random, so "
                                                          "that a run can be repeated")
    if same(flat[0], flat[2]):
        raise failure(check, "batches_fixed_seed", "Generators with other seeds gave the same batches: shuffle with the "
                                                   "rng you are given, not a Generator of your own with a fixed seed")
    if all(np.array_equal(order, flat[0][0]) for order in flat[0]):
        raise failure(check, "wrong_value", "every epoch came in the same order: draw a new permutation with the "
                                            "Generator at each call")


def check_mini_batches(mini_batches) -> None:
    """``mini_batches(num_samples, batch_size, rng)``: one epoch's batches, every sample once, in
    batches of ``batch_size`` (the last one possibly smaller), shuffled with the Generator ``rng``."""
    name = "mini_batches"
    runs = call(name, batch_trace, mini_batches, *BATCH_CASE)
    for epoch in runs[0]:
        batches_epoch(name, epoch, *BATCH_CASE)
    batches_generator(name, runs, BATCH_CASE[0])
    for num_samples, batch_size in OTHER_BATCH_CASES:
        for epoch in call(name, batch_trace, mini_batches, num_samples, batch_size, seeds=(1,), epochs=1)[0]:
            batches_epoch(name, epoch, num_samples, batch_size)
    passed(name, 3)
