"""The judge of the layers assignment: the named checks of each graded cell, with weights.

Every part is judged on its own: ``Softmax.backward`` from probabilities the grader sets,
``Dense.backward`` from an input and weights the grader sets, the loop with spy layers and
known-good layers. Failures name mistakes of ``course_lib.checks.layers.MISTAKES``.
"""
from __future__ import annotations

import numpy as np

from course_lib.checks import layers as visible
from course_lib.checks.common import (CheckFailure, call, close, coerce, coerce_scalar, computes, failure, fmt,
                                       from_state_note, precision_note)
from course_lib.checks.diagnose import softmax_axis
from course_lib.checks.loop import PER_SAMPLE, check_loop_trace, run_loop
from course_lib.checks.spies import train_trace
from course_lib.grading.judge import AssignmentJudge, CellJudge, Check
from course_lib.judges import known_good
from course_lib.solutions import dense, losses, network, softmax


def _onehot(rng, C, N):
    labels = rng.integers(0, C, N)
    return np.eye(C)[:, labels], labels


def _probabilities(rng, C, N):
    yhat = rng.uniform(0.05, 1.0, (C, N))
    return yhat / yhat.sum(axis=0)


# --- cce ---------------------------------------------------------------------------------------

def cce_random_batches(student) -> None:
    name = "cce"
    rng = np.random.default_rng(4101)
    for C, N in [(3, 5), (10, 8), (2, 1)]:
        y, labels = _onehot(rng, C, N)
        yhat = _probabilities(rng, C, N)
        expected = float(np.mean(-np.log(yhat[labels, np.arange(N)])))
        got = coerce_scalar(name, call(name, student.cce, y.copy(), yhat.copy()), "cce(y, yhat)", per_sample="cce_per_sample")
        if not abs(got - expected) <= 1e-9 * expected:
            if N > 1 and abs(got - N * expected) <= 1e-9 * N * expected:
                raise failure(name, "cce_sum", f"for {C} classes and {N} samples the sum over samples came back, right "
                                               f"for one sample; on a batch divide by the number of samples")
            if C != N and abs(got - N * expected / C) <= 1e-9 * N * expected / C:
                raise failure(name, "cce_divides_by_classes", f"for {C} classes and {N} samples this is divided by the "
                                                              f"{C} classes (rows), as if rows were samples; samples are "
                                                              f"the columns: divide by y.shape[1]")
            raise failure(name, "wrong_value", f"wrong for {C} classes and {N} samples: expected {expected:.6f}, got "
                                               f"{got:.6f}{precision_note(got, expected)}")


# --- cce_gradient ------------------------------------------------------------------------------

def cce_gradient_random_batches(student) -> None:
    name = "cce_gradient"
    rng = np.random.default_rng(4102)
    for C, N in [(3, 5), (10, 8), (4, 1)]:
        y, _ = _onehot(rng, C, N)
        yhat = _probabilities(rng, C, N)
        got = coerce(name, call(name, student.cce_gradient, y.copy(), yhat.copy()), "cce_gradient(y, yhat)", shape=(C, N))
        expected = -y / yhat
        if not close(got, expected, rtol=1e-9, atol=1e-12):
            if close(got, expected / N, rtol=1e-9, atol=1e-12) and N > 1:
                raise failure(name, "cce_gradient_divided_by_n", "divided by the number of samples; cce_gradient is "
                                                                 "the per-sample gradient")
            raise failure(name, "wrong_value", f"wrong for {C} classes and {N} samples{precision_note(got, expected)}")


# --- Softmax -----------------------------------------------------------------------------------

def softmax_forward_random_batches(student) -> None:
    name = "Softmax.forward"
    rng = np.random.default_rng(4103)
    for Z in [rng.standard_normal((4, 6)), 50 * rng.standard_normal((10, 3)), np.array([[800.0, -800.0], [0.0, -790.0]]),
              rng.standard_normal((5, 1))]:
        expected = softmax.softmax(Z)
        layer = call(name, student.Softmax)
        got = coerce(name, call(name, layer.forward, Z.copy()), "Softmax().forward(z)", shape=Z.shape,
                     not_finite=("softmax_overflow", "got inf or nan for large scores: subtract each column's max before exp"))
        if not close(got, expected, rtol=1e-9, atol=1e-12):
            axis = softmax_axis(got, Z)
            if axis == "whole_matrix":
                raise failure(name, "softmax_whole_matrix", f"for z of shape {Z.shape} all entries together sum to 1: "
                                                            f"right for one sample, but each column (sample) must sum "
                                                            f"to 1 on its own (axis=0, keepdims=True)")
            if axis == "rows":
                raise failure(name, "softmax_wrong_axis", f"for z of shape {Z.shape} each row sums to 1, as if rows "
                                                          f"were samples; each column (sample) must (axis=0)")
            raise failure(name, "wrong_value", f"wrong for z of shape {Z.shape}{precision_note(got, expected)}")


def softmax_forward_one_sample(student) -> None:
    """One sample (a single column), including large scores."""
    name = "Softmax.forward"
    for z in (np.array([[0.0], [np.log(2)], [np.log(3)]]), np.array([[1.5], [-0.5], [0.25], [2.0]])):
        layer = call(name, student.Softmax)
        got = coerce(name, call(name, layer.forward, z.copy()), "Softmax().forward(z) for one sample", shape=z.shape)
        if not close(got, softmax.softmax(z), rtol=1e-9, atol=1e-12):
            raise failure(name, "wrong_value", f"for one sample z = {fmt(z[:, 0])} expected {fmt(softmax.softmax(z)[:, 0])}, "
                                               f"got {fmt(got[:, 0])}{precision_note(got, softmax.softmax(z))}")


def _softmax_backward_case(C, N, rng):
    Z = 2 * rng.standard_normal((C, N))
    return Z, softmax.softmax(Z), rng.standard_normal((C, N))


def softmax_backward_from_state(student) -> None:
    """backward on layers whose input and output the grader sets (the student's forward is not
    used), on batches; right for one sample and wrong on a batch is named as the batch mistake."""
    rng = np.random.default_rng(4104)
    for C, N in [(3, 4), (6, 9), (4, 5)]:
        visible.softmax_backward_batch(student.Softmax, C, N, rng)


def softmax_backward_one_sample(student) -> None:
    visible.softmax_backward_one_sample(student.Softmax)
    visible.softmax_backward_one_sample(student.Softmax, seed=4110)


def softmax_backward_samples_separate(student) -> None:
    """Changing one sample's output_gradient, or its probabilities, changes only that sample's
    result; changing output_gradient changes the result."""
    name = "Softmax.backward"
    rng = np.random.default_rng(4107)
    Z, a, G = _softmax_backward_case(4, 5, rng)

    def backward(Z_given, G_given):
        layer = student.Softmax()
        layer.input, layer.output = Z_given, softmax.softmax(Z_given)
        return layer.backward(G_given, 0.5)

    computes(name, backward, [(Z, G), (visible.bumped(Z), G[::-1] + 1.0)], "backward(output_gradient)")
    results = []
    for Z_given, G_given in ((Z, G), (Z, visible.bumped(G)), (visible.bumped(Z), G)):
        layer = call(name, student.Softmax)
        layer.input = Z_given.copy()
        layer.output = softmax.softmax(Z_given)
        try:
            result = call(name, layer.backward, G_given.copy(), 0.5)
        except CheckFailure as error:
            if error.mistake == "raised" and visible._one_sample_right(student.Softmax):
                raise visible._flattened_jacobian(name, str(error), *G.shape) from None
            raise from_state_note(error) from None
        results.append(coerce(name, result, "backward(output_gradient)", shape=G.shape))
    if close(results[0], results[1]):
        raise failure(name, "softmax_backward_ignores_output_gradient",
                      "the result does not change when output_gradient changes: apply the Jacobian to output_gradient")
    for other, changed in ((results[1], "output_gradient"), (results[2], "the probabilities")):
        if not close(results[0][:, 1:], other[:, 1:]):
            raise failure(name, "softmax_backward_mixes_samples",
                          f"changing only sample 0's column of {changed} changed the result for other samples: each "
                          f"sample's Jacobian must be applied to that sample's own column; check which indices the "
                          f"einsum sums over")


# --- Dense -------------------------------------------------------------------------------------

def _dense_case(student, D, M, N, seed, learning_rate=0.05):
    """A student's Dense set to known weights and input, then backward; what it returned and left."""
    name = "Dense.backward"
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((M, D + 1))
    X1 = np.vstack([rng.standard_normal((D, N)), np.ones((1, N))])
    G = rng.standard_normal((M, N))
    layer = call(name, student.Dense, D, M, rng=np.random.default_rng(0))
    layer.weights = W0.copy()
    layer.input = X1.copy()
    layer.output = W0 @ X1
    try:
        returned = call(name, layer.backward, G.copy(), learning_rate)
    except CheckFailure as error:
        if error.mistake == "raised":  # most often the weights gradient's shape: name it
            visible._weights_gradient_shape(name, getattr(layer, "weights_gradient", None), W0.shape, str(error), N)
        raise from_state_note(error) from None
    return layer, returned, W0, X1, G


_DENSE_CASES = [(4, 3, 6, 4109), (3, 2, 5, 4105), (7, 4, 1, 4108)]  # the first as in the visible check


def dense_weights_gradient(student) -> None:
    name = "Dense.backward"
    for D, M, N, seed in _DENSE_CASES:
        layer, _, W0, X1, G = _dense_case(student, D, M, N, seed)
        expected = G @ X1.T
        dW = getattr(layer, "weights_gradient", None)
        visible._weights_gradient_shape(name, dW, W0.shape, N=N)
        dW = coerce(name, dW, "self.weights_gradient", shape=W0.shape)
        if close(dW, expected, rtol=1e-10, atol=1e-12):
            continue
        if N > 1 and close(dW, expected / N, rtol=1e-10, atol=1e-12):
            raise failure(name, "dense_weights_gradient_divided_by_n",
                          "weights_gradient is divided by the batch size: output_gradient already is the gradient of "
                          "the mean loss (the training loop divided it)")
        if close(dW, -expected, rtol=1e-10, atol=1e-12):
            raise failure(name, "dense_weights_gradient_sign", "weights_gradient has the wrong sign")
        if close(dW, (W0 @ X1) @ X1.T, rtol=1e-10, atol=1e-12):
            raise failure(name, "dense_weights_gradient_uses_output",
                          "weights_gradient was computed from the layer's output z; the chain rule needs "
                          "output_gradient, dL/dz, times the input with its row of ones")
        raise failure(name, "wrong_value", f"the weights gradient is wrong for {D} inputs, {M} outputs and {N} samples")


def dense_update(student) -> None:
    name = "Dense.backward"
    for D, M, N, seed in _DENSE_CASES:
        layer, _, W0, X1, G = _dense_case(student, D, M, N, seed)
        expected = W0 - 0.05 * (G @ X1.T)
        W1 = coerce(name, getattr(layer, "weights", None), "weights after backward", shape=W0.shape)
        if close(W1, expected, rtol=1e-10, atol=1e-12):
            continue
        if close(W1, W0):
            raise failure(name, "dense_no_update", "the weights did not change: update them with "
                                                   "weights -= learning_rate * weights_gradient")
        if close(W1, W0 + 0.05 * (G @ X1.T)):
            raise failure(name, "dense_update_sign", "the weights moved up the gradient: subtract "
                                                     "learning_rate * weights_gradient (gradient descent)")
        raise failure(name, "wrong_value", "after backward the weights should be weights - learning_rate * weights_gradient")


def dense_input_gradient(student) -> None:
    name = "Dense.backward"
    for D, M, N, seed in _DENSE_CASES:
        _, returned, W0, X1, G = _dense_case(student, D, M, N, seed)
        if np.shape(returned) == (D + 1, N):
            raise failure(name, "dense_input_gradient_bias_row",
                          f"the input gradient has shape {(D + 1, N)}: drop the bias row so it matches the input {(D, N)}")
        dX = coerce(name, returned, "the returned input gradient", shape=(D, N))
        if close(dX, W0[:, :-1].T @ G, rtol=1e-10, atol=1e-12):
            continue
        W1 = W0 - 0.05 * (G @ X1.T)
        if close(dX, W1[:, :-1].T @ G, rtol=1e-10, atol=1e-12):
            raise failure(name, "dense_updated_before_input_gradient",
                          "the input gradient was computed with the updated weights: compute it before the update")
        raise failure(name, "wrong_value", "the returned input gradient is wrong")


# --- the training loop -------------------------------------------------------------------------

def _loop_with_spies(**config):
    def run(student) -> None:
        trace = run_loop("train_layers", student.helper("loop_trace", "train_layers"), **config)
        check_loop_trace(trace, **config)
    return run


def _softmax_regression(batch_size: int, *, average: bool = True, per_sample: bool = False):
    """The losses and weights of training softmax regression on ``spies.train_trace``'s data
    from first principles: the right loop, one that adds up the gradients of a batch without
    averaging, or one that steps once per sample."""
    rng = np.random.default_rng(4106)
    labels = rng.integers(0, 3, 40)
    X = 3 * rng.standard_normal((5, 3))[:, labels] + rng.standard_normal((5, 40))
    X1 = np.vstack([X, np.ones((1, 40))])
    W = np.random.default_rng(1).normal(0.0, 0.3, (3, 6))
    order, losses = np.random.default_rng(2), []
    for _ in range(4):
        total, permutation = 0.0, order.permutation(40)
        for start in range(0, 40, batch_size):
            batch = permutation[start:start + batch_size]
            for step in ([[n] for n in batch] if per_sample else [batch]):
                Z = W @ X1[:, step]
                P = np.exp(Z - Z.max(axis=0))
                P /= P.sum(axis=0)
                total -= np.sum(np.log(P[labels[step], np.arange(len(step))]))
                P[labels[step], np.arange(len(step))] -= 1
                W = W - 0.2 * P @ X1[:, step].T / (len(step) if average else 1)
        losses.append(total / 40)
    return np.array(losses), W


def _loop_trains(batch_size: int):
    def run(student) -> None:
        name = "train_layers"
        got = run_loop(name, student.helper("train_trace", "train_layers"), batch_size=batch_size)
        expected = train_trace(known_good, network.train_layers, batch_size=batch_size)
        result = got.get("result") if isinstance(got, dict) else None
        if result is None or np.ndim(result) != 1 or np.size(result) != 4:
            raise failure(name, "loop_wrong_return", "should return a list of 4 numbers (the mean loss of each epoch)")
        got_losses = coerce(name, result, "the returned losses", shape=(4,))
        trained = coerce(name, got.get("weights"), "the dense layer's weights after training", shape=(3, 6))
        if close(got_losses, np.asarray(expected["result"]), rtol=1e-8) and \
                close(trained, expected["weights"], rtol=1e-8, atol=1e-10):
            return
        if batch_size > 1:
            for mistake, variant, message in [
                ("loop_steps_per_sample", _softmax_regression(batch_size, per_sample=True),
                 PER_SAMPLE.format(count=40, batches=-(-40 // batch_size))),
                ("loop_gradient_not_divided_by_batch_size", _softmax_regression(batch_size, average=False),
                 "right for batches of one sample, but on a batch of 16 the step adds up the samples' gradients where "
                 "their mean is asked: divide the batch's gradient by len(batch)"),
            ]:
                if close(got_losses, variant[0], rtol=1e-8) and close(trained, variant[1], rtol=1e-8, atol=1e-10):
                    raise failure(name, mistake, message)
        what = f"batches of {batch_size}" if batch_size > 1 else "batches of one sample"
        if not close(got_losses, np.asarray(expected["result"]), rtol=1e-8):
            raise failure(name, "wrong_value", f"training softmax regression with known-good layers on {what} gave "
                                               f"other mean losses per epoch than the lecture's loop: expected "
                                               f"{fmt(expected['result'])}, got {fmt(got_losses)}")
        raise failure(name, "wrong_value", f"training with known-good layers on {what} ended at other weights than "
                                           f"the lecture's loop")
    return run


JUDGE = AssignmentJudge(
    assignment="layers",
    reference={"cce": losses.cce, "cce_gradient": losses.cce_gradient, "Softmax": softmax.Softmax,
               "Dense": dense.Dense, "train_layers": network.train_layers},
    cells={cell.grade_id: cell for cell in [
        CellJudge("cce_tests", names=("cce",), checks=(
            Check("the worked example (mean over samples)", lambda s: visible.cce_worked_examples(s.cce), 2),
            Check("random batches", cce_random_batches, 1),
            Check("one sample", lambda s: visible.cce_one_sample(s.cce), 1),
            Check("probabilities of exactly 0 (clipping)", lambda s: visible.cce_zero_probabilities(s.cce), 1),
        )),
        CellJudge("cce_gradient_tests", names=("cce_gradient",), checks=(
            Check("the worked example", lambda s: visible.cce_gradient_worked_example(s.cce_gradient), 2),
            Check("random batches", cce_gradient_random_batches, 1),
            Check("one sample", lambda s: visible.cce_gradient_one_sample(s.cce_gradient), 1),
            Check("probabilities of exactly 0 (clipping)",
                  lambda s: visible.cce_gradient_zero_probabilities(s.cce_gradient), 1),
        )),
        CellJudge("softmax_forward_tests", names=("Softmax",), checks=(
            Check("the worked example (each column sums to 1)", lambda s: visible.softmax_forward_worked_example(s.Softmax), 2),
            Check("large scores (stability)", lambda s: visible.softmax_forward_large_scores(s.Softmax), 1),
            Check("random batches", softmax_forward_random_batches, 1),
            Check("one sample", softmax_forward_one_sample, 1),
        )),
        CellJudge("softmax_backward_tests", names=("Softmax",), checks=(
            Check("one sample's Jacobian applied to its gradient", softmax_backward_one_sample, 2),
            Check("each sample's Jacobian applied to its gradient (batches)", softmax_backward_from_state, 2),
            Check("samples kept apart", softmax_backward_samples_separate, 1),
        )),
        CellJudge("dense_backward_tests", names=("Dense",), checks=(
            Check("one sample", lambda s: visible.dense_one_sample(s.Dense), 2),
            Check("the weights gradient", dense_weights_gradient, 2),
            Check("the gradient-descent step", dense_update, 1),
            Check("the input gradient (weights before the step)", dense_input_gradient, 1),
        )),
        CellJudge("train_layers_tests", names=("train_layers",), checks=(
            Check("batches, forward and backward, the epoch losses (spy layers)", _loop_with_spies(), 1),
            Check("the same with other sizes", _loop_with_spies(num_samples=10, batch_size=4, epochs=2, seed=41), 1),
            Check("training softmax regression (known-good layers)", _loop_trains(16), 1),
            Check("training on batches of one sample (known-good layers)", _loop_trains(1), 1),
        )),
    ]},
)
