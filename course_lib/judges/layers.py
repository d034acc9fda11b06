"""The judge of the layers assignment: the named checks of each graded cell, with weights.

Every part is judged on its own: ``Softmax.backward`` from probabilities the grader sets,
``Dense.backward`` from an input and weights the grader sets, the loop with spy layers and
known-good layers. Failures name mistakes of ``course_lib.checks.layers.MISTAKES``.
"""
from __future__ import annotations

import numpy as np

from course_lib.checks import layers as visible
from course_lib.checks.common import CheckFailure, call, close, coerce, coerce_scalar, failure, fmt
from course_lib.checks.spies import loop_trace, train_trace
from course_lib.grading.judge import AssignmentJudge, CellJudge, Check
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
                raise failure(name, "cce_sum", f"for {C} classes and {N} samples the sum over samples came back; "
                                               f"divide by the number of samples")
            raise failure(name, "wrong_value", f"wrong for {C} classes and {N} samples: expected {expected:.6f}, got {got:.6f}")


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
            raise failure(name, "wrong_value", f"wrong for {C} classes and {N} samples")


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
            raise failure(name, "wrong_value", f"wrong for z of shape {Z.shape}")


def _softmax_backward_case(C, N, rng):
    Z = 2 * rng.standard_normal((C, N))
    return Z, softmax.softmax(Z), rng.standard_normal((C, N))


def _per_sample_jacobians(a, G):
    return np.column_stack([(np.diag(a[:, n]) - np.outer(a[:, n], a[:, n])) @ G[:, n] for n in range(a.shape[1])])


def softmax_backward_from_state(student) -> None:
    """backward on a layer whose input and output the grader sets (the student's forward is not used)."""
    name = "Softmax.backward"
    rng = np.random.default_rng(4104)
    for C, N in [(3, 4), (6, 9), (2, 1), (4, 5)]:
        Z, a, G = _softmax_backward_case(C, N, rng)
        layer = call(name, student.Softmax)
        layer.input = Z.copy()
        layer.output = a.copy()
        result = call(name, layer.backward, G.copy(), 0.5)
        if np.shape(result) in {(C, C, N), (N, C, C)} and C != N:
            raise failure(name, "softmax_backward_returns_jacobian",
                          f"returned shape {np.shape(result)}, the Jacobians themselves; apply each sample's Jacobian "
                          f"to its column of output_gradient and return shape {(C, N)}")
        got = coerce(name, result, "backward(output_gradient)", shape=(C, N))
        expected = _per_sample_jacobians(a, G)
        if close(got, expected, rtol=1e-8, atol=1e-12):
            continue
        named = {
            "softmax_backward_missing_outer": (a * G, "this applies only diag(a): the Jacobian of softmax is diag(a) - a a^T, "
                                                      "so subtract the outer product of each sample's a with itself"),
            "softmax_backward_missing_diagonal": (-a * np.sum(a * G, axis=0), "this applies only -a a^T: the Jacobian of "
                                                                              "softmax is diag(a) - a a^T, so add diag(a)"),
            "softmax_backward_diagonal_only": (a * (1 - a) * G, "this is only the Jacobian's diagonal a(1 - a): every "
                                                                "output a_i depends on every input z_j"),
            "softmax_backward_sign": (-expected, "the sign is flipped; the Jacobian is diag(a) - a a^T"),
        }
        for mistake, (value, hint) in named.items():
            if close(got, value, rtol=1e-8, atol=1e-12):
                raise failure(name, mistake, hint)
        worst = int(np.argmax(np.max(np.abs(got - expected), axis=0)))
        raise failure(name, "wrong_value", f"for {C} classes and {N} samples, sample {worst}: expected "
                                           f"{fmt(expected[:, worst])}, got {fmt(got[:, worst])}")


def softmax_backward_samples_separate(student) -> None:
    """Changing one sample's output_gradient, or its probabilities, changes only that sample's
    result; changing output_gradient changes the result."""
    name = "Softmax.backward"
    rng = np.random.default_rng(4107)
    Z, a, G = _softmax_backward_case(4, 5, rng)
    results = []
    for Z_given, G_given in ((Z, G), (Z, visible._bumped(G)), (visible._bumped(Z), G)):
        layer = call(name, student.Softmax)
        layer.input = Z_given.copy()
        layer.output = softmax.softmax(Z_given)
        results.append(coerce(name, call(name, layer.backward, G_given.copy(), 0.5), "backward(output_gradient)", shape=G.shape))
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
            visible._weights_gradient_shape(name, getattr(layer, "weights_gradient", None), W0.shape, str(error))
        raise
    return layer, returned, W0, X1, G


_DENSE_CASES = [(4, 3, 6, 4109), (3, 2, 5, 4105), (7, 4, 1, 4108)]  # the first as in the visible check


def dense_weights_gradient(student) -> None:
    name = "Dense.backward"
    for D, M, N, seed in _DENSE_CASES:
        layer, _, W0, X1, G = _dense_case(student, D, M, N, seed)
        expected = G @ X1.T
        dW = getattr(layer, "weights_gradient", None)
        visible._weights_gradient_shape(name, dW, W0.shape)
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
        trace = call("train_layers", student.helper("loop_trace", "train_layers"), **config)
        visible.check_loop_trace(trace, **config)
    return run


def loop_trains_softmax_regression(student) -> None:
    name = "train_layers"
    got = call(name, student.helper("train_trace", "train_layers"))
    expected = train_trace(network.train_layers)
    result = got.get("result") if isinstance(got, dict) else None
    if result is None or np.ndim(result) != 1 or np.size(result) != 4:
        raise failure(name, "loop_wrong_return", "should return a list of 4 numbers (the mean loss of each epoch)")
    got_losses = coerce(name, result, "the returned losses", shape=(4,))
    if not close(got_losses, np.asarray(expected["result"]), rtol=1e-8):
        raise failure(name, "wrong_value", "training softmax regression with known-good layers gave other mean losses per "
                                           f"epoch than the lecture's loop: expected {fmt(expected['result'])}, got {fmt(got_losses)}")
    trained = coerce(name, got.get("weights"), "the dense layer's weights after training", shape=(3, 6))
    if not close(trained, expected["weights"], rtol=1e-8, atol=1e-10):
        raise failure(name, "wrong_value", "training with known-good layers ended at other weights than the lecture's loop")


JUDGE = AssignmentJudge(
    assignment="layers",
    reference={"cce": losses.cce, "cce_gradient": losses.cce_gradient, "Softmax": softmax.Softmax,
               "Dense": dense.Dense, "train_layers": network.train_layers},
    cells={cell.grade_id: cell for cell in [
        CellJudge("cce_tests", (
            Check("the worked example (mean over samples)", lambda s: visible.cce_worked_examples(s.cce), 2),
            Check("random batches", cce_random_batches, 1),
            Check("probabilities of exactly 0 (clipping)", lambda s: visible.cce_zero_probabilities(s.cce), 1),
        )),
        CellJudge("cce_gradient_tests", (
            Check("the worked example", lambda s: visible.cce_gradient_worked_example(s.cce_gradient), 2),
            Check("random batches", cce_gradient_random_batches, 1),
            Check("probabilities of exactly 0 (clipping)", lambda s: visible.cce_gradient_zero_probabilities(s.cce_gradient), 1),
        )),
        CellJudge("softmax_forward_tests", (
            Check("the worked example (each column sums to 1)", lambda s: visible.softmax_forward_worked_example(s.Softmax), 2),
            Check("large scores (stability)", lambda s: visible.softmax_forward_large_scores(s.Softmax), 1),
            Check("random batches", softmax_forward_random_batches, 1),
        )),
        CellJudge("softmax_backward_tests", (
            Check("each sample's Jacobian applied to its gradient", softmax_backward_from_state, 2),
            Check("samples kept apart", softmax_backward_samples_separate, 1),
        )),
        CellJudge("dense_backward_tests", (
            Check("the weights gradient", dense_weights_gradient, 2),
            Check("the gradient-descent step", dense_update, 1),
            Check("the input gradient (weights before the step)", dense_input_gradient, 1),
        )),
        CellJudge("train_layers_tests", (
            Check("batches, forward and backward, the epoch losses (spy layers)", _loop_with_spies(), 1),
            Check("the same with other sizes", _loop_with_spies(num_samples=10, batch_size=4, epochs=2, seed=41), 1),
            Check("training softmax regression (known-good layers)", loop_trains_softmax_regression, 1),
        )),
    ]},
)
