"""Visible checks of the layers notebook: ``cce``, ``cce_gradient``, ``Softmax.forward``,
``Softmax.backward``, ``Dense.backward`` and the training loop ``train_layers``.

Each check takes the student's function or class, tries small cases worked out by hand,
properties and numerical gradients, and raises ``CheckFailure`` in the student's terms.
When it recognises a common mistake the failure carries its name in ``error.mistake``
(a key of ``MISTAKES``); other failures carry one of ``common.GENERIC_MISTAKES``
(``"wrong_value"``, ``"wrong_shape"``, ``"wrong_type"``, ``"not_finite"``, ``"raised"``,
``"modifies_input"``), which ``MISTAKES`` includes."""
from __future__ import annotations

import math

import numpy as np

from course_lib.checks.common import (
    GENERIC_MISTAKES,
    CheckFailure,
    as_float,
    as_float_array,
    call,
    close,
    coerce,
    failure,
    fmt,
    passed,
)
from course_lib.checks.diagnose import flattened, ladder, noting_replacement, shape_message
from course_lib.checks.loop import LOOP_BATCH_MISTAKES, LOOP_MISTAKES, check_loop_trace, check_training_loop
from course_lib.gradient_check import numerical_gradient, numerical_gradient_array, rel_error
from course_lib.layer import Layer

__all__ = ["MISTAKES", "BATCH_MISTAKES", "check_cce", "check_cce_gradient", "check_softmax_forward",
           "check_softmax_backward", "check_dense_backward", "check_training_loop", "check_loop_trace"]

# The mistakes these checks recognise by name, with what they look like.
MISTAKES = {
    "cce_per_sample": "cce returns one loss per sample instead of their mean",
    "cce_sum": "cce sums over samples instead of averaging",
    "cce_sign": "cce is missing the minus sign",
    "cce_divides_by_classes": "cce divides by the number of classes (rows) instead of samples: rows taken as samples",
    "cce_mean_over_all_entries": "cce averages over classes and samples",
    "cce_log_of_y": "cce takes the log of y instead of yhat",
    "cce_log_of_zero": "cce is not finite when a probability is exactly 0",
    "cce_gradient_divided_by_n": "cce_gradient divides by the number of samples",
    "cce_gradient_sign": "cce_gradient is missing the minus sign",
    "cce_gradient_fused": "cce_gradient returns yhat - y (the gradient w.r.t. the softmax input)",
    "cce_gradient_missing_y": "cce_gradient returns -1/yhat without the factor y",
    "cce_gradient_divides_by_zero": "cce_gradient is not finite when a probability is exactly 0",
    "cce_gradient_inverted": "cce_gradient divides by y instead of by yhat",
    "cce_gradient_log": "cce_gradient returns the loss terms -y log yhat instead of their derivative",
    "softmax_whole_matrix": "softmax normalised over the whole matrix instead of each column",
    "softmax_wrong_axis": "softmax normalised along rows (axis=1) instead of columns",
    "softmax_overflow": "softmax does not subtract the max before exp and overflows",
    "softmax_global_max": "softmax subtracts the max of the whole matrix instead of each column's",
    "softmax_max_over_rows": "softmax subtracts each row's max instead of each column's",
    "softmax_output_not_stored": "Softmax.forward does not store its result in self.output",
    "softmax_modifies_input": "Softmax.forward changes its input array in place",
    "softmax_backward_diagonal_only": "Softmax.backward uses only the Jacobian's diagonal a(1-a)",
    "softmax_backward_ignores_output_gradient": "Softmax.backward ignores output_gradient",
    "softmax_backward_sign": "Softmax.backward has the wrong sign",
    "softmax_backward_returns_jacobian": "Softmax.backward returns the Jacobians instead of applying them",
    "softmax_backward_missing_outer": "Softmax.backward's Jacobian is diag(a) without the outer product a a^T",
    "softmax_backward_missing_diagonal": "Softmax.backward's Jacobian is -a a^T without diag(a)",
    "softmax_backward_mixes_samples": "Softmax.backward mixes samples (einsum subscripts that sum over samples)",
    "softmax_backward_flattened_jacobian": "Softmax.backward builds one Jacobian over the whole flattened batch "
                                           "(np.identity(np.size(a)), np.outer) instead of one per sample",
    "dense_weights_gradient_transposed": "Dense weights gradient is transposed",
    "dense_weights_gradient_missing_bias": "Dense weights gradient has no bias column",
    "dense_weights_gradient_divided_by_n": "Dense weights gradient divides by the batch size again",
    "dense_weights_gradient_sign": "Dense weights gradient has the wrong sign",
    "dense_update_sign": "Dense update adds the gradient (+) instead of subtracting it",
    "dense_no_update": "Dense.backward does not update the weights",
    "dense_updated_before_input_gradient": "Dense updates the weights before computing the input gradient",
    "dense_input_gradient_bias_row": "Dense input gradient keeps the bias row",
    "dense_weights_gradient_uses_output": "Dense weights gradient uses the layer's output instead of output_gradient",
    "dense_weights_gradient_outer": "Dense weights gradient uses np.outer, which flattens a batch into one long vector",
    **LOOP_MISTAKES,
    **GENERIC_MISTAKES,
}

# The mistakes of the batch-versus-one-sample family (``diagnose.BATCH_FAMILY``): right for one
# sample, wrong on a batch. The judge gives the one-sample part its own check.
BATCH_MISTAKES = {
    "cce_per_sample": "mean_not_sum",
    "cce_sum": "sum_not_mean",
    "cce_divides_by_classes": "rows_as_samples",
    "cce_gradient_divided_by_n": "mean_not_sum",
    "softmax_whole_matrix": "per_sample_formula",
    "softmax_wrong_axis": "rows_as_samples",
    "softmax_backward_flattened_jacobian": "flattened_batch",
    "softmax_backward_mixes_samples": "per_sample_formula",
    "dense_weights_gradient_outer": "flattened_batch",
    "dense_weights_gradient_divided_by_n": "mean_not_sum",
    **LOOP_BATCH_MISTAKES,
}


def _shape(check: str, array: np.ndarray, name: str, shape) -> None:
    if array.shape != tuple(shape):
        raise failure(check, "wrong_shape", f"{name} has shape {array.shape}, expected {tuple(shape)}")


# --- cce -------------------------------------------------------------------------------------

# Three classes, four samples (columns); the correct-class probabilities are 1/2, 1/4, 1/8, 1/2.
_Y = np.array([[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=np.float64)
_YHAT = np.array([[1 / 2, 1 / 4, 1 / 2, 1 / 4],
                  [1 / 4, 1 / 4, 3 / 8, 1 / 2],
                  [1 / 4, 1 / 2, 1 / 8, 1 / 4]])
# -(log 1/2 + log 1/4 + log 1/8 + log 1/2) = 7 log 2, over 4 samples.
_CCE = 7 * math.log(2) / 4


def check_cce(cce) -> None:
    """``cce(y, yhat)``: the mean over samples of ``-sum_k y_k log yhat_k``."""
    with noting_replacement(cce, "cce"):
        cce_worked_examples(cce)
        cce_one_sample(cce)
        cce_zero_probabilities(cce)
    passed("cce", 6)


def cce_worked_examples(cce) -> None:
    """The hand case (named mistakes: per sample, sum, sign, classes, all entries) and yhat = 1/3."""
    name = "cce"
    value = call(name, cce, _Y.copy(), _YHAT.copy())
    if np.ndim(value) > 0 and np.size(value) == _Y.shape[1]:
        raise failure(name, "cce_per_sample",
                       f"returned {np.size(value)} numbers, one per sample (each right for its sample); cce should "
                       f"return their mean over the batch, a single number")
    got = as_float(coerce(name, value, "cce(y, yhat)", not_finite=(
        "cce_log_of_y", "got inf or nan although every yhat is > 0: is the log taken of y (which has zeros) "
                        "instead of yhat?")),
        "cce(y, yhat)")
    wrong = {
        "cce_sum": (4 * _CCE, "right for one sample, but on a batch this is the sum over the 4 samples where their mean "
                              "is asked: divide by the number of samples y.shape[1]"),
        "cce_sign": (-_CCE, "the loss is negative: -log of a probability is >= 0, so keep the minus sign"),
        "cce_divides_by_classes": (4 * _CCE / 3, "divided by the number of classes (rows), as if rows were samples; "
                                                 "in this course samples are the columns of y and yhat: divide by "
                                                 "y.shape[1]"),
        "cce_mean_over_all_entries": (_CCE / 3, "averaged over every entry of the classes x samples matrix; only "
                                                "average over samples"),
    }
    if not math.isclose(got, _CCE, rel_tol=1e-9):
        for mistake, (value_, hint) in wrong.items():
            if math.isclose(got, value_, rel_tol=1e-9):
                raise failure(name, mistake, f"got {got:.6f}, expected {_CCE:.6f} (= 7 log 2 / 4): {hint}")
        raise failure(name, "wrong_value", f"for correct-class probabilities 1/2, 1/4, 1/8, 1/2 expected "
                                            f"(log 2 + log 4 + log 8 + log 2) / 4 = {_CCE:.6f}, got {got:.6f}")
    uniform = as_float(coerce(name, call(name, cce, _Y.copy(), np.full(_Y.shape, 1 / 3)), "cce(y, 1/3)"),
                       "cce(y, 1/3)")
    if not math.isclose(uniform, math.log(3), rel_tol=1e-9):
        raise failure(name, "wrong_value",
                       f"yhat = 1/3 everywhere should cost log 3 = {math.log(3):.6f}, got {uniform:.6f}")


def cce_one_sample(cce) -> None:
    """One sample (a single column): -log of its correct class's probability."""
    name = "cce"
    y, yhat = np.array([[0.0], [1.0], [0.0]]), np.array([[0.25], [0.5], [0.25]])
    got = as_float(coerce(name, call(name, cce, y.copy(), yhat.copy()), "cce(y, yhat) for one sample"),
                   "cce(y, yhat) for one sample")
    if math.isclose(got, _LN2_ / 3, rel_tol=1e-9):
        raise failure(name, "cce_divides_by_classes", "for one sample (y and yhat of shape (3, 1)) this is log 2 / 3, "
                                                      "divided by the 3 classes (rows) as if rows were samples; the "
                                                      "samples are the columns: divide by y.shape[1]")
    if not math.isclose(got, _LN2_, rel_tol=1e-9):
        raise failure(name, "wrong_value", f"for one sample whose correct class has probability 1/2 the loss is "
                                           f"-log(1/2) = {_LN2_:.6f}, got {got:.6f}")


_LN2_ = math.log(2)


def cce_zero_probabilities(cce) -> None:
    """Probabilities of exactly 0: the loss stays finite and a perfect prediction costs 0."""
    name = "cce"
    log_of_zero = ("cce_log_of_zero", "got inf or nan when yhat has entries exactly 0 (softmax can underflow, and "
                                      "0 * log 0 is nan): clip yhat to [EPS, 1] before taking the log")
    # Exact zeros: a wrong class at 0, then a correct class at 0.
    zeros = _YHAT.copy()
    zeros[:, 0] = [1.0, 0.0, 0.0]
    zeros[:, 1] = [0.5, 0.0, 0.5]
    zero_value = as_float(coerce(name, call(name, cce, _Y.copy(), zeros), "cce(y, yhat with zeros)",
                                  not_finite=log_of_zero), "cce(y, yhat with zeros)")
    if zero_value < _CCE:
        raise failure(name, "wrong_value", "a correct class with probability 0 must make the loss larger, not smaller")
    perfect = as_float(coerce(name, call(name, cce, _Y.copy(), _Y.copy()), "cce(y, y)", not_finite=log_of_zero),
                       "cce(y, y)")
    if abs(perfect) > 1e-9:
        raise failure(name, "wrong_value", f"a perfect prediction (yhat = y) should cost 0, got {perfect:.6g}")


def check_cce_gradient(cce_gradient) -> None:
    """``cce_gradient(y, yhat)``: the per-sample gradient ``-y / yhat`` (classes x samples)."""
    name = "cce_gradient"
    with noting_replacement(cce_gradient, name):
        cce_gradient_worked_example(cce_gradient)
        cce_gradient_one_sample(cce_gradient)
        cce_gradient_zero_probabilities(cce_gradient)
    passed(name, 4)


def cce_gradient_one_sample(cce_gradient) -> None:
    """One sample (a single column): -y / yhat."""
    name = "cce_gradient"
    y, yhat = np.array([[0.0], [1.0], [0.0]]), np.array([[0.25], [0.5], [0.25]])
    got = coerce(name, call(name, cce_gradient, y.copy(), yhat.copy()), "cce_gradient(y, yhat) for one sample")
    _shape(name, got, "cce_gradient(y, yhat) for one sample", (3, 1))
    if not close(got, -y / yhat):
        raise failure(name, "wrong_value", f"for one sample y = [0, 1, 0], yhat = [1/4, 1/2, 1/4] expected "
                                           f"-y / yhat = [0, -2, 0], got {fmt(got[:, 0])}")


def cce_gradient_worked_example(cce_gradient) -> None:
    """The hand case, with its named mistakes."""
    name = "cce_gradient"
    # -y / yhat of the hand case: -2, -4, -8, -2 at the correct classes, 0 elsewhere.
    expected = np.array([[-2, 0, 0, 0], [0, -4, 0, -2], [0, 0, -8, 0]], dtype=np.float64)
    got = coerce(name, call(name, cce_gradient, _Y.copy(), _YHAT.copy()), "cce_gradient(y, yhat)", not_finite=(
        "cce_gradient_inverted", "got inf or nan although every yhat is > 0: something divides by y (or takes its "
                                 "log), which has zeros; the gradient of -y log yhat divides y by yhat"))
    _shape(name, got, "cce_gradient(y, yhat)", _Y.shape)
    if not close(got, expected):
        wrong = {
            "cce_gradient_divided_by_n": (expected / 4, "this is divided by the number of samples; cce_gradient is "
                                                        "the per-sample gradient and the training loop divides by "
                                                        "the batch size"),
            "cce_gradient_sign": (-expected, "the sign is flipped: raising the correct class's probability lowers "
                                             "the loss"),
            "cce_gradient_fused": (_YHAT - _Y, "yhat - y is the gradient with respect to the softmax's input z "
                                              "(softmax and loss together); here we need dL/dyhat of the loss alone"),
            "cce_gradient_missing_y": (-1 / _YHAT, "the wrong classes have y = 0, so their gradient is 0: "
                                                   "multiply by y"),
            "cce_gradient_log": (-_Y * np.log(_YHAT), "this is each entry's loss -y log yhat; return its derivative "
                                                      "with respect to yhat (d/dp of -log p is -1/p)"),
        }
        for mistake, (value, hint) in wrong.items():
            if close(got, value):
                raise failure(name, mistake, hint)
        raise failure(name, "wrong_value", f"for y =\n{fmt(_Y)}\nand yhat =\n{fmt(_YHAT)}\n"
                                            f"expected\n{fmt(expected)}\ngot\n{fmt(got)}")


def cce_gradient_zero_probabilities(cce_gradient) -> None:
    """Probabilities of exactly 0: the gradient stays finite."""
    name = "cce_gradient"
    zeros = _YHAT.copy()
    zeros[:, 0] = [1.0, 0.0, 0.0]
    zeros[:, 1] = [0.5, 0.0, 0.5]
    got = coerce(name, call(name, cce_gradient, _Y.copy(), zeros), "cce_gradient(y, yhat with zeros)", not_finite=(
        "cce_gradient_divides_by_zero", "got inf or nan when yhat has entries exactly 0: clip yhat to [EPS, 1] "
                                        "before dividing"))
    _shape(name, got, "cce_gradient(y, yhat with zeros)", _Y.shape)
    # Where yhat > 0 nothing changes; the correct class at probability 0 gets a huge (finite) gradient.
    # (Magnitudes relative to the student's own scale: a sign or a factor is the worked example's to name.)
    defined = (zeros > 0) & (_Y > 0)
    expected = (_Y / np.where(zeros > 0, zeros, 1.0))[defined]
    scale = np.abs(got[defined]) / expected
    if not (np.all(scale > 0) and close(scale, np.full(scale.shape, scale[0]))) or not abs(got[1, 1]) > 1e6 * scale[0] \
            or np.any(got[(zeros > 0) & (_Y == 0)] != 0):
        raise failure(name, "wrong_value", "with probabilities of exactly 0 the gradient should still be -y / yhat, "
                                           "with yhat clipped to [EPS, 1] (a correct class at 0 gets -1/EPS)")


# --- Softmax ---------------------------------------------------------------------------------

_LN2, _LN3, _LN4 = math.log(2), math.log(3), math.log(4)
# Columns: e^z proportional to (1, 2, 3); to (1, 1, 1); to (4, 1, 1); the first column shifted by 10.
_Z = np.array([[0.0, 0.0, _LN4, 10.0],
               [_LN2, 0.0, 0.0, 10.0 + _LN2],
               [_LN3, 0.0, 0.0, 10.0 + _LN3]])
_A = np.array([[1 / 6, 1 / 3, 4 / 6, 1 / 6],
               [2 / 6, 1 / 3, 1 / 6, 2 / 6],
               [3 / 6, 1 / 3, 1 / 6, 3 / 6]])


def _softmax_forward(check: str, Softmax, Z: np.ndarray, not_finite=None) -> tuple[np.ndarray, Layer]:
    layer = call(check, Softmax)
    given = Z.copy()
    returned = call(check, layer.forward, given)
    if not np.array_equal(given, Z):
        raise failure(check, "softmax_modifies_input", "forward changed its input array in place; compute a new array")
    output = coerce(check, returned, "forward(z)", not_finite=not_finite)
    _shape(check, output, "forward(z)", Z.shape)
    stored = getattr(layer, "output", None)
    if stored is None or np.shape(stored) != Z.shape or not close(as_float_array(stored, "self.output"), output):
        raise failure(check, "softmax_output_not_stored",
                       "forward must store its result in self.output (backward needs it) and return it")
    return output, layer


def check_softmax_forward(Softmax) -> None:
    """``Softmax().forward(z)``: each column ``exp(z - max z) / sum exp(z - max z)``."""
    softmax_forward_worked_example(Softmax)
    softmax_forward_large_scores(Softmax)
    passed("Softmax.forward", 4)


def softmax_forward_worked_example(Softmax) -> None:
    """The hand case, with the axis mistakes named; the output stored, the input left as it was."""
    name = "Softmax.forward"
    a, _ = _softmax_forward(name, Softmax, _Z)
    if not close(a, _A):
        if math.isclose(a.sum(), 1.0, rel_tol=1e-9):
            raise failure(name, "softmax_whole_matrix", "right for one sample (a single column), but on a batch all "
                                                         "entries together sum to 1; each column (sample) should sum "
                                                         "to 1: take the max and the sum over axis=0 with "
                                                         "keepdims=True")
        if close(a.sum(axis=1), np.ones(a.shape[0])):
            raise failure(name, "softmax_wrong_axis", "each row sums to 1, as if rows were samples; each column "
                                                       "(sample) should: "
                                                       "take the max and the sum over axis=0")
        shifted = np.exp(_Z - _Z.max(axis=1, keepdims=True))
        if close(a, shifted / shifted.sum(axis=0)):
            raise failure(name, "softmax_max_over_rows", "each row's max was subtracted (axis=1): that shifts the "
                                                         "scores of one sample by different amounts and changes its "
                                                         "probabilities; subtract each column's max (axis=0)")
        raise failure(name, "wrong_value", f"for z =\n{fmt(_Z)}\nexpected\n{fmt(_A)}\n(e.g. z = [0, log 2, log 3] "
                                            f"gives [1/6, 2/6, 3/6]), got\n{fmt(a)}")


def softmax_forward_large_scores(Softmax) -> None:
    """Scores of 1000 and columns of very different scales: no overflow, each column's own max."""
    name = "Softmax.forward"
    big = np.array([[1000.0], [1000.0], [0.0]])
    a, _ = _softmax_forward(name, Softmax, big, not_finite=(
        "softmax_overflow", "got inf or nan for z = [1000, 1000, 0]: exp(1000) overflows; subtract each "
                            "column's max before exp (the result does not change)"))
    if not close(a, np.array([[0.5], [0.5], [0.0]])):
        raise failure(name, "wrong_value", f"for z = [1000, 1000, 0] expected [1/2, 1/2, 0], got {fmt(a[:, 0])}")
    scales = np.array([[1000.0, -1000.0], [999.0, -1000.0], [0.0, -1000.0 + _LN2]])
    a, _ = _softmax_forward(name, Softmax, scales, not_finite=(
        "softmax_global_max", "got inf or nan when the columns have very different scales: subtract each column's "
                              "own max (axis=0, keepdims=True), not the max of the whole matrix"))
    if not close(a[:, 1], np.array([1 / 4, 1 / 4, 1 / 2])):
        raise failure(name, "wrong_value", f"for the column z = [-1000, -1000, -1000 + log 2] expected "
                                            f"[1/4, 1/4, 1/2], got {fmt(a[:, 1])}")


def softmax(Z: np.ndarray) -> np.ndarray:
    """Each column's softmax (the state the backward checks set, whatever forward does)."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def jacobians_applied(a: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Each sample's Jacobian diag(a_n) - a_n a_n^T applied to its column of G: (C, N)."""
    return a * G - a * np.sum(a * G, axis=0, keepdims=True)


def softmax_from_state(check: str, Softmax, Z: np.ndarray):
    """A student's Softmax whose input and output the check sets (its forward is not used)."""
    layer = call(check, Softmax)
    layer.input = Z.copy()
    layer.output = softmax(Z)
    return layer


def check_softmax_backward(Softmax) -> None:
    """``backward(output_gradient)``: each sample's Jacobian ``diag(a) - a a^T`` applied to its
    column, from probabilities the check sets (a mistake in forward is forward's alone)."""
    softmax_backward_one_sample(Softmax)
    softmax_backward_batch(Softmax, 4, 5, np.random.default_rng(7))
    passed("Softmax.backward", 4)


def softmax_backward_one_sample(Softmax, seed: int = 17) -> None:
    """One sample (N = 1): ``(diag(a) - a a^T) g``, against its numerical gradient."""
    name = "Softmax.backward"
    rng = np.random.default_rng(seed)
    Z, G = rng.standard_normal((4, 1)), rng.standard_normal((4, 1))
    got = _backward(name, softmax_from_state(name, Softmax, Z), G, "for one sample")
    if not close(got, jacobians_applied(softmax(Z), G), rtol=1e-8, atol=1e-12):
        _name_wrong(name, Softmax, Z, G, got, "for one sample (N = 1)")


def softmax_backward_batch(Softmax, C: int, N: int, rng) -> None:
    """A batch of N samples: each sample's Jacobian applied to its own column; a result right
    for one sample and wrong on the batch is named as the batch mistake it is."""
    name = "Softmax.backward"
    Z, G = 2 * rng.standard_normal((C, N)), rng.standard_normal((C, N))
    layer = softmax_from_state(name, Softmax, Z)
    try:
        got = _backward(name, layer, G, f"for a batch of {N} samples")
    except CheckFailure as error:
        if error.mistake in ("raised", "wrong_shape") and _one_sample_right(Softmax):
            raise _flattened_jacobian(name, str(error), C, N) from None
        raise
    if close(got, jacobians_applied(softmax(Z), G), rtol=1e-8, atol=1e-12):
        other = coerce(name, call(name, softmax_from_state(name, Softmax, Z).backward, 2 * G, 0.1),
                       "backward(2 * output_gradient)")
        if not close(other, 2 * got):
            raise failure(name, "wrong_value", "doubling output_gradient should double the result (backward is "
                                               "linear in it)")
        return
    _name_wrong(name, Softmax, Z, G, got, f"for {C} classes and {N} samples")


def _backward(name: str, layer, G: np.ndarray, what: str) -> np.ndarray:
    C, N = G.shape
    result = call(name, layer.backward, G.copy(), 0.1)
    if np.shape(result) in {(C, C, N), (N, C, C)} and C != N:
        raise failure(name, "softmax_backward_returns_jacobian",
                      f"returned shape {np.shape(result)}, the Jacobians themselves; apply each sample's Jacobian "
                      f"to its column of output_gradient and return shape {(C, N)}")
    got = coerce(name, result, f"backward(output_gradient) {what}")
    if got.shape != (C, N):
        raise failure(name, "wrong_shape", shape_message(f"input gradient {what}", got.shape, (C, N),
                                                         "output_gradient (classes x samples)"))
    return got


def _name_wrong(name: str, Softmax, Z: np.ndarray, G: np.ndarray, got: np.ndarray, what: str) -> None:
    """Name a wrong input gradient: the wrong formula it equals (the mistake ladder), samples
    mixed (right for one sample), output_gradient ignored, or else how far off it is."""
    a = softmax(Z)
    expected = jacobians_applied(a, G)
    rungs = [
        ("softmax_backward_missing_outer", a * G, "this applies only diag(a): the Jacobian of softmax is "
                                                  "diag(a) - a a^T, so subtract the outer product of each sample's "
                                                  "a with itself"),
        ("softmax_backward_missing_diagonal", -a * np.sum(a * G, axis=0), "this applies only -a a^T: the Jacobian "
                                                                          "of softmax is diag(a) - a a^T, so add diag(a)"),
        ("softmax_backward_diagonal_only", a * (1 - a) * G, "this is only the Jacobian's diagonal a(1 - a): every "
                                                            "output a_i depends on every input z_j, so also use the "
                                                            "off-diagonal entries -a_i a_j"),
        ("softmax_backward_sign", -expected, "the sign is flipped; the Jacobian is diag(a) - a a^T"),
    ]
    found = ladder(got, rungs)
    if found:
        raise failure(name, *found)
    if G.shape[1] > 1 and _one_sample_right(Softmax):
        _check_samples_separate(name, Softmax, Z, G, got)
    again = call(name, softmax_from_state(name, Softmax, Z).backward, G[::-1].copy() + 1.0, 0.1)
    if np.shape(again) == got.shape and close(coerce(name, again, "backward(another output_gradient)"), got):
        raise failure(name, "softmax_backward_ignores_output_gradient",
                      "the result does not change when output_gradient changes: apply the Jacobian to output_gradient")
    worst = int(np.argmax(np.max(np.abs(got - expected), axis=0)))
    raise failure(name, "wrong_value", f"{what} it does not match the numerical gradient (relative error "
                                       f"{rel_error(got, expected):.2g}); sample {worst}: expected "
                                       f"{fmt(expected[:, worst])}, got {fmt(got[:, worst])}")


def _one_sample_right(Softmax) -> bool:
    try:
        softmax_backward_one_sample(Softmax)
    except CheckFailure:
        return False
    return True


def _flattened_jacobian(name: str, error: str, C: int, N: int) -> CheckFailure:
    """Right for one sample, raised or misshapen on a batch: the Jacobian saw the batch flattened."""
    what = error.split(": ", 1)[-1]
    return failure(name, "softmax_backward_flattened_jacobian",
                   f"your Jacobian is correct for one sample, but on a batch of {N} samples it fails ({what}): "
                   f"np.size(self.output), np.identity and np.outer see the whole batch as one vector of {C} x {N} "
                   f"= {C * N} numbers. Build one C x C Jacobian per sample, e.g. with einsum over the batch: "
                   f"T[:, :, n] = diag(a_n) - a_n a_n^T, then apply T[:, :, n] to column n of output_gradient")


def _check_samples_separate(name: str, Softmax, Z: np.ndarray, G: np.ndarray, got: np.ndarray) -> None:
    """Sample n's input gradient depends only on sample n: changing another sample's column of
    output_gradient, or of z, must leave column n of the result as it is."""
    for column, (Z2, G2) in enumerate([(Z, bumped(G)), (bumped(Z), G)]):
        layer = softmax_from_state(name, Softmax, Z2)
        again = coerce(name, call(name, layer.backward, G2.copy(), 0.1), "backward(output_gradient)", G.shape)
        if not close(again[:, 1:], got[:, 1:]):
            changed = "output_gradient" if column == 0 else "z"
            raise failure(name, "softmax_backward_mixes_samples",
                          f"right for one sample, but on a batch changing only sample 0's column of {changed} changed "
                          f"the result for other samples (sample 1: {fmt(got[:, 1])} became {fmt(again[:, 1])}): each "
                          f"sample's Jacobian must be applied to that sample's own column; check which indices the "
                          f"einsum sums over")


def bumped(array: np.ndarray) -> np.ndarray:
    """``array`` with its first column (sample 0) changed."""
    changed = array.copy()
    changed[:, 0] += np.linspace(0.5, 1.5, array.shape[0])
    return changed


_bumped = bumped


# --- Dense -----------------------------------------------------------------------------------

def check_dense_backward(Dense) -> None:
    """``Dense.backward``: weights gradient ``dL/dz [x; 1]^T``, input gradient with the weights
    before the update, then ``weights -= learning_rate * weights_gradient``."""
    name = "Dense.backward"
    rng = np.random.default_rng(11)
    D, M, N, learning_rate = 4, 3, 6, 0.1
    layer = call(name, Dense, D, M, rng=rng)
    W = coerce(name, getattr(layer, "weights", None), "weights")
    _shape(name, W, "weights (output_size, input_size + 1)", (M, D + 1))
    W0 = rng.standard_normal((M, D + 1))  # a nonzero bias column to exercise it
    layer.weights = W0.copy()
    X = rng.standard_normal((D, N))
    G = rng.standard_normal((M, N))
    out = coerce(name, call(name, layer.forward, X.copy()), "forward(x)")
    _shape(name, out, "forward(x)", (M, N))
    if not close(out, W0[:, :-1] @ X + W0[:, -1:]):
        raise failure(name, "wrong_value",
                       "forward(x) should be weights @ [x; 1] (the last column of weights is the bias)")
    try:
        input_gradient = call(name, layer.backward, G.copy(), learning_rate)
    except CheckFailure as error:
        if error.mistake == "raised":
            _weights_gradient_shape(name, getattr(layer, "weights_gradient", None), W0.shape, str(error), N)
        raise

    def loss_of_weights(weights):  # sum(z * G): its gradient is what backward should store
        return np.sum((weights[:, :-1] @ X + weights[:, -1:]) * G)

    expected_dW, _ = numerical_gradient(loss_of_weights, W0.copy())
    dW = coerce(name, getattr(layer, "weights_gradient", None), "self.weights_gradient")
    _weights_gradient_shape(name, dW, W0.shape, N=N)
    if rel_error(dW, expected_dW) > 1e-6:
        if rel_error(dW, expected_dW / N) < 1e-6:
            raise failure(name, "dense_weights_gradient_divided_by_n",
                           "weights_gradient is divided by the batch size: output_gradient already is the gradient "
                           "of the mean loss (the training loop divided it)")
        if rel_error(dW, -expected_dW) < 1e-6:
            raise failure(name, "dense_weights_gradient_sign", "weights_gradient has the wrong sign")
        if rel_error(dW, out @ np.vstack([X, np.ones((1, N))]).T) < 1e-6:
            raise failure(name, "dense_weights_gradient_uses_output",
                          "weights_gradient was computed from the layer's output z; the chain rule needs "
                          "output_gradient, dL/dz, times the input with its row of ones")
        raise failure(name, "wrong_value", f"weights_gradient does not match the numerical gradient of "
                                            f"sum(z * output_gradient) "
                                            f"(relative error {rel_error(dW, expected_dW):.2g})")
    W1 = coerce(name, layer.weights, "weights after backward")
    _shape(name, W1, "weights after backward", W0.shape)
    if close(W1, W0):
        raise failure(name, "dense_no_update", "the weights did not change: update them with "
                                                "weights -= learning_rate * weights_gradient")
    if close(W1, W0 + learning_rate * expected_dW):
        raise failure(name, "dense_update_sign", "the weights moved up the gradient: subtract "
                                                  "learning_rate * weights_gradient (gradient descent)")
    if not close(W1, W0 - learning_rate * expected_dW):
        raise failure(name, "wrong_value", "after backward the weights should be "
                                            "weights - learning_rate * weights_gradient")
    if np.shape(input_gradient) == (D + 1, N):
        raise failure(name, "dense_input_gradient_bias_row",
                       f"the input gradient has shape {(D + 1, N)}: drop the bias row so it matches the input {(D, N)}")
    dX = coerce(name, input_gradient, "the returned input gradient")
    _shape(name, dX, "the returned input gradient", (D, N))
    expected_dX = numerical_gradient_array(lambda x: W0[:, :-1] @ x + W0[:, -1:], X.copy(), G)
    if rel_error(dX, expected_dX) > 1e-6:
        after = numerical_gradient_array(lambda x: W1[:, :-1] @ x + W1[:, -1:], X.copy(), G)
        if rel_error(dX, after) < 1e-6:
            raise failure(name, "dense_updated_before_input_gradient",
                           "the input gradient was computed with the updated weights: compute it before the update")
        raise failure(name, "wrong_value", "the returned input gradient does not match the numerical gradient "
                                            "with respect to the input")
    passed(name, 4)


def _weights_gradient_shape(name: str, dW, shape: tuple[int, int], raised: str = "", N: int = 1) -> None:
    """Name a weights gradient of the transposed shape, without the bias column, or flattened
    over the batch of N samples (np.outer), saying its shape by its meaning."""
    M, K = shape
    dW_shape = np.shape(dW) if dW is not None else None
    then = f" ({raised.split(': ', 1)[-1]})" if raised else ""
    if dW_shape is None or dW_shape == shape:
        return
    said = shape_message("weights gradient", dW_shape, shape, "W")
    if dW_shape == (K, M):
        raise failure(name, "dense_weights_gradient_transposed",
                      f"{said}, not its transpose{then}: check the order of the factors and which one is transposed")
    if dW_shape == (M, K - 1):
        raise failure(name, "dense_weights_gradient_missing_bias",
                      f"{said}; it has no bias column{then}: use self.input, which has the row of ones")
    if flattened(dW_shape, shape, N):
        raise failure(name, "dense_weights_gradient_outer",
                      f"{said}. np.outer flattens its arguments, so on a batch of {N} samples it multiplies two long "
                      f"vectors of {M} x {N} and {K} x {N} numbers. It is right for one sample; for a batch, add up "
                      f"the samples' outer products: np.dot(output_gradient, self.input.T)")
    raise failure(name, "wrong_shape", f"{said}{then}")


def dense_one_sample(Dense, seed: int = 19) -> None:
    """One sample (N = 1): the weights gradient g [x; 1]^T, the step, the input gradient."""
    name = "Dense.backward"
    rng = np.random.default_rng(seed)
    D, M = 3, 2
    W0, x, g = rng.standard_normal((M, D + 1)), rng.standard_normal((D, 1)), rng.standard_normal((M, 1))
    layer = call(name, Dense, D, M, rng=np.random.default_rng(0))
    layer.weights = W0.copy()
    x1 = np.vstack([x, np.ones((1, 1))])
    layer.input = x1.copy()
    layer.output = W0 @ x1
    returned = call(name, layer.backward, g.copy(), 0.05)
    dW = getattr(layer, "weights_gradient", None)
    _weights_gradient_shape(name, dW, W0.shape)
    dW = coerce(name, dW, "self.weights_gradient for one sample", W0.shape)
    if not close(dW, g @ x1.T, rtol=1e-10, atol=1e-12):
        raise failure(name, "wrong_value", "for one sample the weights gradient is the outer product of "
                                           "output_gradient and the input with its 1 appended, g [x; 1]^T")
    W1 = coerce(name, getattr(layer, "weights", None), "weights after backward for one sample", W0.shape)
    if not close(W1, W0 - 0.05 * (g @ x1.T), rtol=1e-10, atol=1e-12):
        raise failure(name, "wrong_value", "for one sample, after backward the weights should be "
                                           "weights - learning_rate * weights_gradient")
    dx = coerce(name, returned, "the returned input gradient for one sample", (D, 1))
    if not close(dx, W0[:, :-1].T @ g, rtol=1e-10, atol=1e-12):
        raise failure(name, "wrong_value", "for one sample the input gradient is W^T g without the bias column, "
                                           "with the weights before the step")
