"""Visible checks of the layers notebook's ``Softmax`` layer: ``forward`` (each column) and
``backward`` (each sample's Jacobian, judged from a state the check sets). Mistakes are keys of
``checks.layers.MISTAKES``."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_lib.checks.common import (CheckFailure, as_float_array, call, close, coerce, expect_shape, failure, fmt, passed,
                                      from_state_note, precision_note)
from course_lib.checks.diagnose import softmax_axis, ladder, shape_message
from course_lib.layer import Layer
from course_lib.gradient_check import rel_error

_shape = expect_shape

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
        axis = softmax_axis(a, _Z)
        if axis == "whole_matrix":
            raise failure(name, "softmax_whole_matrix", "right for one sample (a single column), but on a batch all "
                                                         "entries together sum to 1; each column (sample) should sum "
                                                         "to 1: take the max and the sum over axis=0 with "
                                                         "keepdims=True")
        if axis == "rows":
            raise failure(name, "softmax_wrong_axis", "each row sums to 1, as if rows were samples; each column "
                                                       "(sample) should: "
                                                       "take the max and the sum over axis=0")
        if axis == "max_over_rows":
            raise failure(name, "softmax_max_over_rows", "each row's max was subtracted (axis=1): that shifts the "
                                                         "scores of one sample by different amounts and changes its "
                                                         "probabilities; subtract each column's max (axis=0)")
        raise failure(name, "wrong_value", f"for z =\n{fmt(_Z)}\nexpected\n{fmt(_A)}\n(e.g. z = [0, log 2, log 3] "
                                            f"gives [1/6, 2/6, 3/6]), got\n{fmt(a)}{precision_note(a, _A)}")


def softmax_forward_large_scores(Softmax) -> None:
    """Scores of 1000 and columns of very different scales: no overflow, each column's own max."""
    name = "Softmax.forward"
    big = np.array([[1000.0], [1000.0], [0.0]])
    a, _ = _softmax_forward(name, Softmax, big, not_finite=(
        "softmax_overflow", "got inf or nan for z = [1000, 1000, 0]: exp(1000) overflows; subtract each "
                            "column's max before exp (the result does not change)"))
    if not close(a, np.array([[0.5], [0.5], [0.0]])):
        raise failure(name, "wrong_value", f"for z = [1000, 1000, 0] expected [1/2, 1/2, 0], got {fmt(a[:, 0])}"
                                            f"{precision_note(a, np.array([[0.5], [0.5], [0.0]]))}")
    scales = np.array([[1000.0, -1000.0], [999.0, -1000.0], [0.0, -1000.0 + _LN2]])
    a, _ = _softmax_forward(name, Softmax, scales, not_finite=(
        "softmax_global_max", "got inf or nan when the columns have very different scales: subtract each column's "
                              "own max (axis=0, keepdims=True), not the max of the whole matrix"))
    if not close(a[:, 1], np.array([1 / 4, 1 / 4, 1 / 2])) and softmax_axis(a, scales) == "whole_matrix":
        raise failure(name, "softmax_whole_matrix", "right for one sample, but with two columns of very different "
                                                    "scales all entries together sum to 1 and the second column is "
                                                    f"{fmt(a[:, 1])}: normalise each column (sample) on its own, with "
                                                    "the max and the sum over axis=0, keepdims=True")
    if not close(a[:, 1], np.array([1 / 4, 1 / 4, 1 / 2])):
        raise failure(name, "wrong_value", f"for the column z = [-1000, -1000, -1000 + log 2] expected "
                                            f"[1/4, 1/4, 1/2], got {fmt(a[:, 1])}"
                                            f"{precision_note(a[:, 1], np.array([1 / 4, 1 / 4, 1 / 2]))}")


@dataclass(frozen=True)
class _BackwardCase:
    """Scores ``Z`` and ``output_gradient`` ``G`` (C, N) drawn at random, the probabilities
    ``a = softmax(Z)``, the input gradient ``expected`` (each sample's Jacobian applied to its column
    of G) and the probabilities ``a_bumped`` of Z with sample 0's scores changed (``bumped``)."""

    Z: np.ndarray
    G: np.ndarray
    a: np.ndarray
    expected: np.ndarray
    a_bumped: np.ndarray


def _backward_case(rng: np.random.Generator, C: int, N: int, scale: float) -> _BackwardCase:
    """A case drawn from ``rng``: ``Z = scale * N(0, 1)``, then ``G = N(0, 1)``. Only drawn scores,
    never given ones: the checks hand out no softmax and no Jacobian for a student's own arrays."""
    if type(rng) is not np.random.Generator:
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng), got {type(rng).__name__}")
    Z, G = scale * rng.standard_normal((int(C), int(N))), rng.standard_normal((int(C), int(N)))

    def probabilities(scores):
        E = np.exp(scores - scores.max(axis=0, keepdims=True))
        return E / E.sum(axis=0, keepdims=True)

    a = probabilities(Z)
    return _BackwardCase(Z, G, a, a * G - a * np.sum(a * G, axis=0, keepdims=True), probabilities(bumped(Z)))


def softmax_from_state(check: str, Softmax, Z: np.ndarray, a: np.ndarray):
    """A student's Softmax whose input ``Z`` and output ``a`` the check sets (its forward is not used)."""
    layer = call(check, Softmax)
    layer.input = Z.copy()
    layer.output = a.copy()
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
    case = _backward_case(np.random.default_rng(int(seed)), 4, 1, 1.0)
    got = _backward(name, softmax_from_state(name, Softmax, case.Z, case.a), case.G, "for one sample")
    if not close(got, case.expected, rtol=1e-8, atol=1e-12):
        _name_wrong(name, Softmax, case, got, "for one sample (N = 1)")


def softmax_backward_batch(Softmax, C: int, N: int, rng: np.random.Generator) -> None:
    """A batch of N samples: each sample's Jacobian applied to its own column; a result right
    for one sample and wrong on the batch is named as the batch mistake it is."""
    name = "Softmax.backward"
    case = _backward_case(rng, C, N, 2.0)
    layer = softmax_from_state(name, Softmax, case.Z, case.a)
    try:
        got = _backward(name, layer, case.G, f"for a batch of {N} samples")
    except CheckFailure as error:
        if error.mistake in ("raised", "wrong_shape") and _one_sample_right(Softmax):
            raise _flattened_jacobian(name, str(error), C, N) from None
        raise
    if close(got, case.expected, rtol=1e-8, atol=1e-12):
        other = coerce(name, call(name, softmax_from_state(name, Softmax, case.Z, case.a).backward, 2 * case.G, 0.1),
                       "backward(2 * output_gradient)")
        if not close(other, 2 * got):
            raise failure(name, "wrong_value", "doubling output_gradient should double the result (backward is "
                                               "linear in it)")
        return
    _name_wrong(name, Softmax, case, got, f"for {C} classes and {N} samples")


def _backward(name: str, layer, G: np.ndarray, what: str) -> np.ndarray:
    C, N = G.shape
    try:
        result = call(name, layer.backward, G.copy(), 0.1)
    except CheckFailure as error:
        raise from_state_note(error) from None
    if np.shape(result) in {(C, C, N), (N, C, C)} and C != N:
        raise failure(name, "softmax_backward_returns_jacobian",
                      f"returned shape {np.shape(result)}, the Jacobians themselves; apply each sample's Jacobian "
                      f"to its column of output_gradient and return shape {(C, N)}")
    got = coerce(name, result, f"backward(output_gradient) {what}")
    if got.shape != (C, N):
        raise failure(name, "wrong_shape", shape_message(f"input gradient {what}", got.shape, (C, N),
                                                         "output_gradient (classes x samples)"))
    return got


def _name_wrong(name: str, Softmax, case: _BackwardCase, got: np.ndarray, what: str) -> None:
    """Name a wrong input gradient: the wrong formula it equals (the mistake ladder), samples
    mixed (right for one sample), output_gradient ignored, or else how far off it is."""
    a, G, expected = case.a, case.G, case.expected
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
        _check_samples_separate(name, Softmax, case, got)
    again = call(name, softmax_from_state(name, Softmax, case.Z, a).backward, G[::-1].copy() + 1.0, 0.1)
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


def _check_samples_separate(name: str, Softmax, case: _BackwardCase, got: np.ndarray) -> None:
    """Sample n's input gradient depends only on sample n: changing another sample's column of
    output_gradient, or of z, must leave column n of the result as it is."""
    for column, (Z2, a2, G2) in enumerate([(case.Z, case.a, bumped(case.G)), (bumped(case.Z), case.a_bumped, case.G)]):
        layer = softmax_from_state(name, Softmax, Z2, a2)
        again = coerce(name, call(name, layer.backward, G2.copy(), 0.1), "backward(output_gradient)", case.G.shape)
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
