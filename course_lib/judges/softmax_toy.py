"""The judge of the softmax toy notebook: the named checks of each graded cell, with weights.

Every part is judged on its own: the gradients against the grader's own numbers (not through
the student's loss), the L2 loss and gradient with known-good ``softmax_loss`` and
``softmax_gradient`` in place of the student's (``checks.known_good``), and an argument changed
in place by its own check. Failures name mistakes of ``course_lib.checks.softmax_toy.MISTAKES``.
"""
from __future__ import annotations

import numpy as np

from course_lib.checks import softmax_toy as visible
from course_lib.checks.common import computes, failure
from course_lib.grading.judge import AssignmentJudge, CellJudge, Check
from course_lib.solutions import softmax_toy as solution


def _copying(function):
    """``function`` called on copies of its array arguments: a change in place is not seen here
    (it costs the check that looks for it, once)."""
    return lambda *args: function(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args])


def _with_known_good(student, target: str, names: list[str]):
    """The student's ``target`` run with known-good versions of the graded functions ``names``."""
    run = student.helper("with_known_good", target)
    return lambda *args: run(list(names), *args)


def _cases(seed: int, sizes):
    rng = np.random.default_rng(seed)
    for C, D, N in sizes:
        W = 2 * rng.standard_normal((C, D + 1))
        X = np.vstack([rng.standard_normal((D, N)), np.ones((1, N))])
        yield W, X, rng.integers(0, C, N)


def _l2_cases(seed: int):
    rng = np.random.default_rng(seed)
    for alpha in [0.0, 0.05, 1.0]:
        W = rng.standard_normal((4, 6))
        X = np.vstack([rng.standard_normal((5, 7)), np.ones((1, 7))])
        yield W, X, rng.integers(0, 4, 7), alpha


def _penalty(W) -> float:
    return float(np.sum(W[:, :-1] ** 2))


# --- softmax_loss ------------------------------------------------------------------------------

def loss_random_batches(student) -> None:
    name = "softmax_loss"
    loss = _copying(student.softmax_loss)
    visible.loss_random_data(loss)
    for W, X, y in _cases(4001, [(3, 4, 5), (10, 6, 9), (2, 1, 1)]):
        expected = float(solution.softmax_loss(W, X, y))
        got = visible._number(name, visible._call(name, loss, W, X, y), "softmax_loss(W, X, y)")
        if not abs(got - expected) <= 1e-9 * abs(expected):
            C, N = W.shape[0], X.shape[1]
            if N > 1 and abs(got - N * expected) <= 1e-9 * N * abs(expected):
                raise failure(name, "loss_sum", f"for {C} classes and {N} samples the sum over samples came back, "
                                                f"right for one sample; on a batch take the mean")
            raise failure(name, "wrong_value", f"wrong for {C} classes and {N} samples: expected {expected:.6f}, "
                                               f"got {got:.6f}")


def loss_far_apart(student) -> None:
    """No log of 0, judged as the student's own loss growing linearly with scores far apart (so a
    sum or a sign mistake is charged to the worked example alone)."""
    name = "softmax_loss"
    loss = _copying(student.softmax_loss)
    # Scores (0, 903) and (0, 906) of labels 0 and 1: the losses are 903 and (almost) 0, mean 903 / 2;
    # divided by 30 nothing underflows and the loss is 30 times smaller.
    W, X, y = np.array([[0.0, 0.0], [3.0, 900.0]]), np.array([[1.0, 2.0], [1.0, 1.0]]), np.array([0, 1])
    computes(name, loss, [(W, X, y), (W / 30, X, y), visible._random_case(3)], "softmax_loss")
    visible.loss_far_apart(loss, relative=True)
    got = visible._number(name, visible._call(name, loss, W, X, y), "softmax_loss with scores far apart", not_finite=(
        "loss_log_of_zero", "got inf or nan when the scores are far apart: compute the log-probabilities from the "
                            "shifted scores (log-softmax) instead of taking the log of the probabilities"))
    near = visible._number(name, visible._call(name, loss, W / 30, X, y), "softmax_loss with scores 30 times smaller")
    if not abs(got - 30 * near) <= 1e-9 * (1 + abs(got)):
        raise failure(name, "loss_log_of_zero", f"for scores (0, 903) and (0, 906), labels (0, 1), the loss is not "
                                                 f"exact ({got:.6g}; expected {903 / 2}): compute the log-probabilities "
                                                 f"from the shifted scores (log-softmax)")


# --- softmax_gradient --------------------------------------------------------------------------

def _gradient_against(name: str, gradient, W, X, y, expected, what: str) -> None:
    got = visible._array(name, visible._call(name, gradient, W, X, y), f"{name}(W, X, y)", W.shape)
    if np.allclose(got, expected, rtol=1e-9, atol=1e-12):
        return
    N = X.shape[1]
    if N > 1 and np.allclose(got, N * expected, rtol=1e-9, atol=1e-12):
        raise failure(name, "gradient_not_averaged", f"{what}: {N} times the gradient, right for one sample but "
                                                     f"on a batch the samples' gradients are added up where their "
                                                     f"mean is asked; divide by the number of samples N")
    if np.allclose(got, -expected, rtol=1e-9, atol=1e-12):
        raise failure(name, "gradient_sign", f"{what}: the sign is flipped; the gradient is (P - Y) X^T / N")
    raise failure(name, "wrong_value", f"wrong {what}")


def gradient_random_batches(student) -> None:
    name = "softmax_gradient"
    gradient = _copying(student.softmax_gradient)
    W, X, y = visible._random_case(3)
    _gradient_against(name, gradient, W, X, y, solution.softmax_gradient(W, X, y), "on random data (3 classes, 6 samples)")
    for W, X, y in _cases(4002, [(3, 4, 5), (10, 6, 9), (2, 1, 1)]):
        _gradient_against(name, gradient, W, X, y, solution.softmax_gradient(W, X, y),
                          f"for {W.shape[0]} classes and {X.shape[1]} samples")


def gradient_leaves_arguments(student) -> None:
    name = "softmax_gradient"
    computes(name, student.softmax_gradient, [(visible._W, visible._X, visible._y), visible._random_case(3)],
             "softmax_gradient")
    visible._call(name, student.softmax_gradient, visible._W, visible._X, visible._y)
    rng = np.random.default_rng(4002)
    W, X, y = rng.standard_normal((3, 5)), np.vstack([rng.standard_normal((4, 6)), np.ones((1, 6))]), rng.integers(0, 3, 6)
    visible._call(name, student.softmax_gradient, W, X, y)


# --- softmax_loss_l2 ---------------------------------------------------------------------------

def loss_l2_worked_example(student) -> None:
    loss_l2 = _copying(_with_known_good(student, "softmax_loss_l2", ["softmax_loss"]))
    visible.loss_l2_worked_example(loss_l2)


def loss_l2_random(student) -> None:
    name = "softmax_loss_l2"
    loss_l2 = _copying(_with_known_good(student, "softmax_loss_l2", ["softmax_loss"]))
    for W, X, y, alpha in _l2_cases(4003):
        expected = float(solution.softmax_loss(W, X, y)) + alpha * _penalty(W)
        got = visible._number(name, visible._call(name, lambda *a: loss_l2(*a, alpha), W, X, y),
                              f"softmax_loss_l2(W, X, y, {alpha})")
        if not abs(got - expected) <= 1e-9 * (1 + abs(expected)):
            if alpha and abs(got - (expected + alpha * float(np.sum(W[:, -1] ** 2)))) <= 1e-9 * (1 + abs(expected)):
                raise failure(name, "l2_on_bias", f"for alpha = {alpha} the bias column is penalised too; leave out "
                                                  f"the last column of W")
            raise failure(name, "wrong_value", f"wrong for random W (4 classes, 5 features) and alpha = {alpha}: "
                                               f"expected {expected:.6f}, got {got:.6f}")


# --- softmax_gradient_l2 -----------------------------------------------------------------------

def gradient_l2_worked_example(student) -> None:
    gradient_l2 = _copying(_with_known_good(student, "softmax_gradient_l2", ["softmax_gradient"]))
    visible.gradient_l2_worked_example(gradient_l2)


def gradient_l2_random(student) -> None:
    name = "softmax_gradient_l2"
    gradient_l2 = _copying(_with_known_good(student, "softmax_gradient_l2", ["softmax_gradient"]))
    cases = [(*visible._random_case(4), 0.3)] + list(_l2_cases(4004))
    for W, X, y, alpha in cases:
        expected = solution.softmax_gradient_l2(W, X, y, alpha)
        got = visible._array(name, visible._call(name, lambda *a: gradient_l2(*a, alpha), W, X, y),
                             f"softmax_gradient_l2(W, X, y, {alpha})", W.shape)
        if np.allclose(got, expected, rtol=1e-9, atol=1e-12):
            continue
        if alpha and np.allclose(got, expected + 2 * alpha * np.hstack([np.zeros((W.shape[0], W.shape[1] - 1)), W[:, -1:]]),
                                 rtol=1e-9, atol=1e-12):
            raise failure(name, "l2_on_bias", f"for alpha = {alpha} the bias column got a penalty too; its penalty "
                                              f"gradient is 0")
        raise failure(name, "wrong_value", f"wrong for random W {W.shape} and alpha = {alpha} (off by up to "
                                           f"{np.max(np.abs(got - expected)):.3g})")


def gradient_l2_leaves_arguments(student) -> None:
    name = "softmax_gradient_l2"
    gradient_l2 = _with_known_good(student, "softmax_gradient_l2", ["softmax_gradient"])
    computes(name, gradient_l2, [(visible._W_L2, visible._X_L2, visible._y, visible._ALPHA),
                                 (*visible._random_case(3), 0.5)], "softmax_gradient_l2")
    visible._call(name, lambda *a: gradient_l2(*a, visible._ALPHA), visible._W_L2, visible._X_L2, visible._y)
    for W, X, y, alpha in _l2_cases(4004):
        visible._call(name, lambda *a: gradient_l2(*a, alpha), W, X, y)


# --- mini_batches ------------------------------------------------------------------------------

def _batch_runs(student, num_samples: int, batch_size: int, seeds=visible.BATCH_SEEDS, epochs: int = visible.BATCH_EPOCHS):
    """The student's mini_batches traced in the kernel (``checks.softmax_toy.batch_trace``), as data."""
    trace = student.helper("batch_trace", "mini_batches")
    return visible.call("mini_batches", trace, num_samples, batch_size, list(seeds), epochs)


def batches_one_epoch(student) -> None:
    runs = _batch_runs(student, *visible.BATCH_CASE)
    for epoch in runs[0]:
        visible.batches_epoch("mini_batches", epoch, *visible.BATCH_CASE)


def batches_shuffled_with_generator(student) -> None:
    visible.batches_generator("mini_batches", _batch_runs(student, *visible.BATCH_CASE), visible.BATCH_CASE[0])


def batches_other_sizes(student) -> None:
    for num_samples, batch_size in visible.OTHER_BATCH_CASES:
        for epoch in _batch_runs(student, num_samples, batch_size, seeds=(1,), epochs=2)[0]:
            visible.batches_epoch("mini_batches", epoch, num_samples, batch_size)


JUDGE = AssignmentJudge(
    assignment="softmax_toy",
    reference={"softmax_loss": solution.softmax_loss, "softmax_gradient": solution.softmax_gradient,
               "softmax_loss_l2": solution.softmax_loss_l2, "softmax_gradient_l2": solution.softmax_gradient_l2,
               "mini_batches": solution.mini_batches},
    cells={cell.grade_id: cell for cell in [
        CellJudge("softmax_loss_tests", names=("softmax_loss",), checks=(
            Check("the worked example (mean over samples)", lambda s: visible.loss_worked_example(_copying(s.softmax_loss)), 2),
            Check("random batches", loss_random_batches, 1),
            Check("one sample", lambda s: visible.loss_one_sample(_copying(s.softmax_loss)), 1),
            Check("scores far apart (log-softmax)", loss_far_apart, 1),
        )),
        CellJudge("softmax_gradient_tests", names=("softmax_gradient",), checks=(
            Check("the worked example", lambda s: visible.gradient_worked_example(_copying(s.softmax_gradient)), 2),
            Check("random batches", gradient_random_batches, 1),
            Check("one sample", lambda s: visible.gradient_one_sample(_copying(s.softmax_gradient)), 1),
            Check("W, X and y left unchanged", gradient_leaves_arguments, 1),
        )),
        CellJudge("softmax_loss_l2_tests", names=("softmax_loss_l2",), checks=(
            Check("the penalty on the worked example", loss_l2_worked_example, 2),
            Check("random weights and alphas", loss_l2_random, 1),
        )),
        CellJudge("softmax_gradient_l2_tests", names=("softmax_gradient_l2",), checks=(
            Check("the worked example", gradient_l2_worked_example, 2),
            Check("random weights and alphas", gradient_l2_random, 1),
            Check("W, X and y left unchanged", gradient_l2_leaves_arguments, 1),
        )),
        CellJudge("mini_batches_tests", names=("mini_batches",), checks=(
            Check("every sample once per epoch, in batches of 3 (the last one smaller)", batches_one_epoch, 2),
            Check("shuffled with the Generator given (repeatable, a new order every epoch)", batches_shuffled_with_generator, 1),
            Check("other sizes (12 samples in 4s, a batch larger than the data, batches of one)", batches_other_sizes, 1),
        )),
    ]},
)
