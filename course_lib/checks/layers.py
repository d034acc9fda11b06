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
from course_lib.gradient_check import numerical_gradient, numerical_gradient_array, rel_error
from course_lib.checks.spies import LOOP_LEARNING_RATE, LossCalls, loop_data, loop_trace
from course_lib.layer import Layer

# The mistakes these checks recognise by name, with what they look like.
MISTAKES = {
    "cce_per_sample": "cce returns one loss per sample instead of their mean",
    "cce_sum": "cce sums over samples instead of averaging",
    "cce_sign": "cce is missing the minus sign",
    "cce_divides_by_classes": "cce divides by the number of classes instead of samples",
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
    "softmax_forward_first": "Softmax.backward checked while Softmax.forward is still wrong",
    "softmax_backward_diagonal_only": "Softmax.backward uses only the Jacobian's diagonal a(1-a)",
    "softmax_backward_ignores_output_gradient": "Softmax.backward ignores output_gradient",
    "softmax_backward_sign": "Softmax.backward has the wrong sign",
    "softmax_backward_returns_jacobian": "Softmax.backward returns the Jacobians instead of applying them",
    "softmax_backward_missing_outer": "Softmax.backward's Jacobian is diag(a) without the outer product a a^T",
    "softmax_backward_missing_diagonal": "Softmax.backward's Jacobian is -a a^T without diag(a)",
    "softmax_backward_mixes_samples": "Softmax.backward mixes samples (einsum subscripts that sum over samples)",
    "dense_weights_gradient_transposed": "Dense weights gradient is transposed",
    "dense_weights_gradient_missing_bias": "Dense weights gradient has no bias column",
    "dense_weights_gradient_divided_by_n": "Dense weights gradient divides by the batch size again",
    "dense_weights_gradient_sign": "Dense weights gradient has the wrong sign",
    "dense_update_sign": "Dense update adds the gradient (+) instead of subtracting it",
    "dense_no_update": "Dense.backward does not update the weights",
    "dense_updated_before_input_gradient": "Dense updates the weights before computing the input gradient",
    "dense_input_gradient_bias_row": "Dense input gradient keeps the bias row",
    "dense_weights_gradient_uses_output": "Dense weights gradient uses the layer's output instead of output_gradient",
    "loop_wrong_return": "the loop does not return one mean loss per epoch",
    "loop_one_step_per_epoch": "the loop trains once per epoch instead of on every batch",
    "loop_backward_not_every_batch": "the loop does not run backward after every forward",
    "loop_reuses_one_batch": "the loop trains on the same batch again and again",
    "loop_batches_do_not_cover_epoch": "an epoch's batches do not cover every sample exactly once",
    "loop_never_reshuffles": "the loop uses the same batch order in every epoch",
    "loop_forward_not_chained": "the loop does not feed each layer's output into the next layer",
    "loop_backward_order": "the loop runs backward in the wrong order of layers",
    "loop_gradient_not_chained": "the loop does not pass each backward's result to the previous layer",
    "loop_labels_not_sliced_with_batch": "the loop takes Y_batch from other columns than X_batch",
    "loop_gradient_not_divided_by_batch_size": "the loop does not divide cce_gradient by the batch size",
    "loop_learning_rate_not_passed": "the loop does not pass learning_rate to backward",
    "loop_loss_not_reset_each_epoch": "the loop keeps adding to the loss across epochs",
    "loop_loss_sum_of_batch_means": "the loop sums the batch losses instead of averaging per sample",
    "loop_loss_last_batch_only": "the loop reports only the last batch's loss",
    **GENERIC_MISTAKES,
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
    cce_worked_examples(cce)
    cce_zero_probabilities(cce)
    passed("cce", 5)


def cce_worked_examples(cce) -> None:
    """The hand case (named mistakes: per sample, sum, sign, classes, all entries) and yhat = 1/3."""
    name = "cce"
    value = call(name, cce, _Y.copy(), _YHAT.copy())
    if np.ndim(value) > 0 and np.size(value) == _Y.shape[1]:
        raise failure(name, "cce_per_sample",
                       f"returned {np.size(value)} numbers, one per sample; cce should return their mean, "
                       f"a single number")
    got = as_float(coerce(name, value, "cce(y, yhat)", not_finite=(
        "cce_log_of_y", "got inf or nan although every yhat is > 0: is the log taken of y (which has zeros) "
                        "instead of yhat?")),
        "cce(y, yhat)")
    wrong = {
        "cce_sum": (4 * _CCE, "this is the sum over the 4 samples; divide by the number of samples y.shape[1]"),
        "cce_sign": (-_CCE, "the loss is negative: -log of a probability is >= 0, so keep the minus sign"),
        "cce_divides_by_classes": (4 * _CCE / 3, "divided by the number of classes (rows); divide by the number "
                                                 "of samples (columns)"),
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
    cce_gradient_worked_example(cce_gradient)
    cce_gradient_zero_probabilities(cce_gradient)
    passed(name, 3)


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
    # (Magnitudes only: a sign mistake is the worked example's to name.)
    defined = zeros > 0
    if not close(np.abs(got[defined]), (_Y / np.where(defined, zeros, 1.0))[defined]) or not abs(got[1, 1]) > 1e6:
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
            raise failure(name, "softmax_whole_matrix", "all entries together sum to 1; each column (sample) "
                                                         "should sum to 1: sum over axis=0")
        if close(a.sum(axis=1), np.ones(a.shape[0])):
            raise failure(name, "softmax_wrong_axis", "each row sums to 1; each column (sample) should: "
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


def check_softmax_backward(Softmax) -> None:
    """``backward(output_gradient)``: each sample's Jacobian ``diag(a) - a a^T`` applied to its column."""
    name = "Softmax.backward"
    try:
        _forward_is_right(Softmax)
    except CheckFailure as error:
        raise failure(name, "softmax_forward_first", f"fix Softmax.forward first ({error})") from None
    rng = np.random.default_rng(7)
    C, N = 4, 5
    Z = rng.standard_normal((C, N))
    G = rng.standard_normal((C, N))
    a, layer = _softmax_forward(name, Softmax, Z)
    result = call(name, layer.backward, G.copy(), 0.1)
    if np.shape(result) in {(C, C, N), (N, C, C)}:
        raise failure(name, "softmax_backward_returns_jacobian",
                       f"returned shape {np.shape(result)}, the Jacobians themselves; apply each sample's Jacobian "
                       f"to its column of output_gradient and return shape {(C, N)}")
    got = coerce(name, result, "backward(output_gradient)")
    _shape(name, got, "backward(output_gradient)", (C, N))
    numeric = numerical_gradient_array(lambda z: _plain_forward(Softmax, z), Z.copy(), G)
    error = rel_error(got, numeric)
    if error < 1e-6:
        other = coerce(name, call(name, layer.backward, 2 * G, 0.1), "backward(2 * output_gradient)")
        if not close(other, 2 * got):
            raise failure(name, "wrong_value",
                           "doubling output_gradient should double the result (backward is linear in it)")
        passed(name, 3)
        return
    if close(got, a * G):
        raise failure(name, "softmax_backward_missing_outer",
                      "this applies only diag(a): the Jacobian of softmax is diag(a) - a a^T, so subtract the outer "
                      "product of each sample's a with itself")
    if close(got, -a * np.sum(a * G, axis=0)):
        raise failure(name, "softmax_backward_missing_diagonal",
                      "this applies only -a a^T: the Jacobian of softmax is diag(a) - a a^T, so add diag(a)")
    _check_samples_separate(name, Softmax, Z, G, got)
    if close(got, a * (1 - a) * G):
        raise failure(name, "softmax_backward_diagonal_only",
                       "this is only the Jacobian's diagonal a(1 - a): every output a_i depends on every input "
                       "z_j, so also use the off-diagonal entries -a_i a_j")
    again = call(name, _softmax_forward(name, Softmax, Z)[1].backward, rng.standard_normal((C, N)), 0.1)
    if np.shape(again) == got.shape and close(coerce(name, again, "backward(another output_gradient)"), got):
        raise failure(name, "softmax_backward_ignores_output_gradient",
                       "the result does not change when output_gradient changes: apply the Jacobian to output_gradient")
    if rel_error(-got, numeric) < 1e-6:
        raise failure(name, "softmax_backward_sign", "the sign is flipped; the Jacobian is diag(a) - a a^T")
    worst = int(np.argmax(np.max(np.abs(got - numeric), axis=0)))
    raise failure(name, "wrong_value", f"does not match the numerical gradient (relative error {error:.2g}); "
                                        f"sample {worst}: expected {fmt(numeric[:, worst])}, "
                                        f"got {fmt(got[:, worst])}")


def _check_samples_separate(name: str, Softmax, Z: np.ndarray, G: np.ndarray, got: np.ndarray) -> None:
    """Sample n's input gradient depends only on sample n: changing another sample's column of
    output_gradient, or of z, must leave column n of the result as it is."""
    for column, (Z2, G2) in enumerate([(Z, _bumped(G)), (_bumped(Z), G)]):
        _, layer = _softmax_forward(name, Softmax, Z2)
        again = coerce(name, call(name, layer.backward, G2.copy(), 0.1), "backward(output_gradient)", (G.shape))
        if not close(again[:, 1:], got[:, 1:]):
            changed = "output_gradient" if column == 0 else "z"
            raise failure(name, "softmax_backward_mixes_samples",
                          f"changing only sample 0's column of {changed} changed the result for other samples "
                          f"(sample 1: {fmt(got[:, 1])} became {fmt(again[:, 1])}): each sample's Jacobian must be "
                          f"applied to that sample's own column; check which indices the einsum sums over")


def _bumped(array: np.ndarray) -> np.ndarray:
    changed = array.copy()
    changed[:, 0] += np.linspace(0.5, 1.5, array.shape[0])
    return changed


def _forward_is_right(Softmax) -> None:
    """The hand case of the forward check, without its printed line."""
    a, _ = _softmax_forward("Softmax.forward", Softmax, _Z)
    if not close(a, _A):
        raise CheckFailure("Softmax.forward does not pass check_softmax_forward")


def _plain_forward(Softmax, z):
    with np.errstate(all="ignore"):
        return as_float_array(Softmax().forward(z.copy()), "forward(z)")


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
            _weights_gradient_shape(name, getattr(layer, "weights_gradient", None), W0.shape, str(error))
        raise

    def loss_of_weights(weights):  # sum(z * G): its gradient is what backward should store
        return np.sum((weights[:, :-1] @ X + weights[:, -1:]) * G)

    expected_dW, _ = numerical_gradient(loss_of_weights, W0.copy())
    dW = coerce(name, getattr(layer, "weights_gradient", None), "self.weights_gradient")
    _weights_gradient_shape(name, dW, W0.shape)
    _shape(name, dW, "self.weights_gradient", (M, D + 1))
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


def _weights_gradient_shape(name: str, dW, shape: tuple[int, int], raised: str = "") -> None:
    """Name a weights gradient of the transposed shape, or without the bias column."""
    M, K = shape
    dW_shape = np.shape(dW) if dW is not None else None
    then = f" ({raised.split(': ', 1)[-1]})" if raised else ""
    if dW_shape == (K, M):
        raise failure(name, "dense_weights_gradient_transposed",
                      f"weights_gradient has shape {dW_shape}, the transpose of weights {shape}{then}: it must have "
                      f"the shape of weights; check the order of the factors and which one is transposed")
    if dW_shape == (M, K - 1):
        raise failure(name, "dense_weights_gradient_missing_bias",
                      f"weights_gradient has shape {dW_shape}, no bias column{then}: use self.input, which has the "
                      f"row of ones, so the gradient has the shape of weights {shape}")


# --- the training loop -----------------------------------------------------------------------

def check_training_loop(train_layers, *, num_samples=11, batch_size=3, epochs=3, seed=5) -> None:
    """``train_layers(network, X, Y, epochs, batch_size, learning_rate, rng)`` on a list of spy
    layers: every batch of every epoch goes forward through the layers in order and backward
    in reverse; the loop returns the mean loss per epoch. The loop is checked with stand-ins for
    ``cce`` and ``cce_gradient`` (when it calls them by those names), so a mistake in those two
    costs nothing here."""
    name = "train_layers"
    trace = call(name, loop_trace, train_layers, num_samples=num_samples, batch_size=batch_size, epochs=epochs, seed=seed)
    check_loop_trace(trace, num_samples=num_samples, batch_size=batch_size, epochs=epochs, seed=seed)


def check_loop_trace(trace: dict, *, num_samples=11, batch_size=3, epochs=3, seed=5) -> None:
    """The checks of ``check_training_loop`` on what ``spies.loop_trace`` recorded (plain data,
    so that the grader can judge a trace made in the grading kernel)."""
    name = "train_layers"
    X, Y, P = loop_data(num_samples, 3, np.random.default_rng(seed))
    learning_rate = LOOP_LEARNING_RATE
    result, log = trace["result"], trace["log"]
    spies = LossCalls(trace["losses"], trace["gradients"]) if trace["spied"] else None
    if result is None or np.ndim(result) != 1 or np.size(result) != epochs:
        raise failure(name, "loop_wrong_return",
                       f"should return a list of {epochs} numbers (the mean loss of each epoch), got {result!r:.80}")
    losses = coerce(name, result, "the returned losses")
    per_epoch = -(-num_samples // batch_size)
    forwards = [entry for entry in log if entry[:2] == ("forward", "table")]
    backwards = [entry for entry in log if entry[:2] == ("backward", "table")]
    if len(forwards) == epochs:
        raise failure(name, "loop_one_step_per_epoch",
                       f"{epochs} forward passes in {epochs} epochs: train on every batch ({per_epoch} per epoch)")
    if len(forwards) != epochs * per_epoch:
        raise failure(name, "loop_batches_do_not_cover_epoch",
                       f"{len(forwards)} forward passes, expected {epochs} epochs x {per_epoch} batches of "
                       f"{num_samples} samples with batch size {batch_size}")
    if len(backwards) != len(forwards):
        raise failure(name, "loop_backward_not_every_batch",
                       f"{len(forwards)} forward passes but {len(backwards)} backward passes: every batch needs both")
    if any(np.all(entry[2][0] < 50) for entry in forwards):
        raise failure(name, "loop_forward_not_chained",
                       "the last layer got X_batch instead of the previous layer's output: each layer's forward "
                       "must get the output of the layer before it")
    ids = [np.rint(entry[2][0] - 100).astype(int) for entry in forwards]
    for e in range(epochs):
        steps = ids[e * per_epoch:(e + 1) * per_epoch]
        if all(np.array_equal(steps[0], other) for other in steps):
            raise failure(name, "loop_reuses_one_batch",
                           f"every step of epoch {e} trained on the same samples {steps[0].tolist()}: slice X with "
                           f"the indices of the current batch")
    epochs_ids = [np.concatenate(ids[e * per_epoch:(e + 1) * per_epoch]) for e in range(epochs)]
    for e, seen in enumerate(epochs_ids):
        if sorted(seen.tolist()) != list(range(num_samples)):
            raise failure(name, "loop_batches_do_not_cover_epoch",
                           f"epoch {e} trained on samples {sorted(seen.tolist())}; each epoch should see every "
                           f"sample 0..{num_samples - 1} exactly once")
    if all(np.array_equal(epochs_ids[0], other) for other in epochs_ids):
        raise failure(name, "loop_never_reshuffles", "every epoch visits the samples in the same order: "
                                                      "draw new batches each epoch")
    order = [entry[:2] for entry in log]
    step = [("forward", "tag"), ("forward", "table"), ("backward", "table"), ("backward", "tag")]
    if order != step * (epochs * per_epoch):
        raise failure(name, "loop_backward_order",
                       "each step should run forward through the layers in order, then backward through them in "
                       "reverse order (for layer in reversed(network))")
    tag_backwards = [entry for entry in log if entry[:2] == ("backward", "tag")]
    for k, (table_entry, tag_entry) in enumerate(zip(backwards, tag_backwards)):
        if table_entry[3] != learning_rate or tag_entry[3] != learning_rate:
            raise failure(name, "loop_learning_rate_not_passed",
                           f"backward got learning_rate {table_entry[3]!r}, expected {learning_rate}")
        if not (tag_entry[2].shape == (2, len(ids[k])) and np.all(tag_entry[2] == 1001.0 + k)):
            raise failure(name, "loop_gradient_not_chained",
                           "each layer's backward should get the gradient returned by the backward of the layer "
                           "after it: pass the returned gradient on")
    if spies is not None:
        _check_loop_with_spies(name, spies, Y, P, ids, backwards, losses, epochs, per_epoch, num_samples)
        return
    for k, (entry, batch) in enumerate(zip(backwards, ids)):
        gradient = entry[2]
        expected = -Y[:, batch] / P[:, batch] / len(batch)
        if gradient.shape != expected.shape:
            raise failure(name, "wrong_shape", f"the last layer's backward got a gradient of shape {gradient.shape}, "
                                                f"expected {expected.shape} (classes x batch size)")
        if close(gradient, expected):
            continue
        if close(gradient, expected * len(batch)):
            raise failure(name, "loop_gradient_not_divided_by_batch_size",
                           "the loss of a batch is the mean over its samples: divide cce_gradient by len(batch)")
        if not np.array_equal(np.abs(gradient) > 0, Y[:, batch] > 0):
            raise failure(name, "loop_labels_not_sliced_with_batch",
                           "the gradient is nonzero at other classes than the batch's labels: Y_batch must hold the "
                           "labels of the same samples (columns) as X_batch")
        raise failure(name, "wrong_value", "the gradient passed to the last layer should be the per-sample "
                                            "gradient of the loss divided by the batch size (is cce_gradient right?)")
    # P is fixed, so every epoch's mean loss is the same: -mean_n log P[y_n, n].
    batch_losses = [[float(-np.mean(np.log(np.sum(Y[:, b] * P[:, b], axis=0)))) for b in
                     ids[e * per_epoch:(e + 1) * per_epoch]] for e in range(epochs)]
    _check_epoch_losses(name, losses, batch_losses, ids, per_epoch, num_samples, "(is cce right?)")


def _check_loop_with_spies(name, spies, Y, P, ids, backwards, losses, epochs, per_epoch, num_samples) -> None:
    """The loss and gradient steps of a loop that called the stand-ins: each on the batch's labels
    and the network's output, the gradient divided by the batch size, the losses averaged per sample."""
    steps = epochs * per_epoch
    for calls, what in ((spies.gradients, "cce_gradient"), (spies.losses, "cce")):
        if len(calls) != steps:
            raise failure(name, "wrong_value", f"{what} was called {len(calls)} times in {steps} steps: call it "
                                                f"once per batch")
        for k, ((y, yhat), batch) in enumerate(zip(calls, ids)):
            if y.shape != Y[:, batch].shape or not np.array_equal(y, Y[:, batch]):
                if y.shape == Y[:, batch].shape and np.array_equal(yhat, P[:, batch]):
                    raise failure(name, "loop_labels_not_sliced_with_batch",
                                  f"{what} got labels of other samples than the batch's: Y_batch must hold the "
                                  f"labels of the same samples (columns) as X_batch")
                if y.shape == P[:, batch].shape and np.array_equal(y, P[:, batch]):
                    raise failure(name, "wrong_value", f"{what} got (output, labels): its arguments are "
                                                        f"(y, yhat), the labels first")
                raise failure(name, "loop_labels_not_sliced_with_batch",
                              f"{what} got labels of shape {y.shape}, expected the batch's labels "
                              f"{Y[:, batch].shape}: Y_batch must hold the same samples (columns) as X_batch")
            if yhat.shape != P[:, batch].shape or not np.array_equal(yhat, P[:, batch]):
                raise failure(name, "wrong_value", f"{what} must get the network's output for the batch (the "
                                                    f"last layer's forward result) as yhat")
    for k, entry in enumerate(backwards):
        gradient, size = entry[2], len(ids[k])
        marker = np.full(P[:, ids[k]].shape, 4.0 + k)  # what the stand-in returned at step k
        if gradient.shape != marker.shape:
            raise failure(name, "wrong_shape", f"the last layer's backward got a gradient of shape {gradient.shape}, "
                                                f"expected {marker.shape} (classes x batch size)")
        if close(gradient, marker / size):
            continue
        if close(gradient, marker):
            raise failure(name, "loop_gradient_not_divided_by_batch_size",
                           "the loss of a batch is the mean over its samples: divide cce_gradient by len(batch)")
        raise failure(name, "wrong_value", "the last layer's backward should get cce_gradient(Y_batch, output) "
                                            "divided by the batch size")
    values = [0.5 + (k + 1) / 8 for k in range(steps)]
    batch_losses = [values[e * per_epoch:(e + 1) * per_epoch] for e in range(epochs)]
    _check_epoch_losses(name, losses, batch_losses, ids, per_epoch, num_samples, "")


def _check_epoch_losses(name, losses, batch_losses, ids, per_epoch, num_samples, hint) -> None:
    """Each epoch's loss is the mean over its samples of the batch losses (batch means weighted by size)."""
    epochs = len(batch_losses)
    sizes = [[len(b) for b in ids[e * per_epoch:(e + 1) * per_epoch]] for e in range(epochs)]
    expected = np.array([sum(v * n for v, n in zip(bl, sz)) / num_samples for bl, sz in zip(batch_losses, sizes)])
    if close(losses, expected):
        passed(name, 8)
        return
    if close(losses, np.cumsum(expected)):
        raise failure(name, "loop_loss_not_reset_each_epoch",
                       "the loss keeps growing from epoch to epoch: set total_loss = 0 at the start of each epoch")
    if close(losses, np.array([sum(b) for b in batch_losses])) or \
            close(losses, np.array([sum(b) / num_samples for b in batch_losses])):
        raise failure(name, "loop_loss_sum_of_batch_means",
                      "the batch losses were added up as they are, but each is a mean over its batch: weight "
                      "each by its number of samples (the batches differ in size) and divide the epoch's total "
                      "by the number of samples")
    if close(losses, np.array([b[-1] for b in batch_losses])):
        raise failure(name, "loop_loss_last_batch_only",
                       "this is only the last batch's loss; add up every batch's loss over the epoch")
    raise failure(name, "wrong_value", f"expected the mean loss per sample of each epoch, {fmt(expected)}, "
                                        f"got {fmt(losses)} {hint}".rstrip())
