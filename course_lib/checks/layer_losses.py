"""Visible checks of the layers notebook's losses: ``cce`` and ``cce_gradient`` (y, yhat are
classes x samples). Mistakes are keys of ``checks.layers.MISTAKES``."""
from __future__ import annotations

import math

import numpy as np

from course_lib.checks.common import as_float, call, close, coerce, expect_shape, failure, fmt, passed
from course_lib.checks.diagnose import noting_replacement

_shape = expect_shape

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
