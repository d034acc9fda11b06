"""Visible checks of the layers notebook's ``Dense.backward``: the weights gradient (the shape
of W), the gradient-descent step, the input gradient. Mistakes are keys of
``checks.layers.MISTAKES``."""
from __future__ import annotations

import numpy as np

from course_lib.checks.common import CheckFailure, call, close, coerce, expect_shape, failure, from_state_note, passed
from course_lib.checks.diagnose import flattened, shape_message
from course_lib.gradient_check import numerical_gradient, numerical_gradient_array, rel_error

_shape = expect_shape

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
    if dW_shape == (M, K + 1):
        raise failure(name, "wrong_shape",
                      f"{said}; it has one column too many{then}: self.input already holds the row of ones (forward "
                      f"stores the input with it, as the check sets it), so use self.input as it is")
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
    try:
        returned = call(name, layer.backward, g.copy(), 0.05)
    except CheckFailure as error:
        raise from_state_note(error) from None
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
