"""Every backward of the reference layers against central differences in float64 (rel. error < 1e-6)."""
import numpy as np
import pytest

from course_lib import ReLU, Sigmoid, numerical_gradient, numerical_gradient_array, one_hot, rel_error
from course_lib.solutions.dense import Dense
from course_lib.solutions.losses import cce, cce_gradient
from course_lib.solutions.softmax import Softmax, softmax

TOL = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


def test_softmax_forward_matches_the_definition(rng):
    Z = rng.standard_normal((4, 6))
    expected = np.exp(Z) / np.exp(Z).sum(axis=0)
    np.testing.assert_allclose(softmax(Z), expected, rtol=1e-12)
    np.testing.assert_allclose(Softmax().forward(Z), expected, rtol=1e-12)


def test_softmax_backward_is_the_jacobian_vector_product(rng):
    Z = rng.standard_normal((5, 7))
    G = rng.standard_normal((5, 7))
    layer = Softmax()
    layer.forward(Z)
    analytic = layer.backward(G, learning_rate=0.0)
    assert rel_error(analytic, numerical_gradient_array(softmax, Z.copy(), G)) < TOL
    # Against an explicit loop over samples with diag(a) - a a^T.
    a = softmax(Z)
    loop = np.column_stack([(np.diag(a[:, n]) - np.outer(a[:, n], a[:, n])) @ G[:, n] for n in range(7)])
    np.testing.assert_allclose(analytic, loop, rtol=1e-12, atol=1e-15)


def test_jacobian_path_equals_fused_path(rng):
    C, N = 4, 9
    Y = one_hot(rng.integers(0, C, N), C)
    layer = Softmax()
    yhat = layer.forward(3 * rng.standard_normal((C, N)))
    jacobian = layer.backward(cce_gradient(Y, yhat), learning_rate=0.0)
    np.testing.assert_allclose(jacobian, layer.backward_cce(Y), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.backward_cce(Y), yhat - Y)


def test_cce_value_and_gradient(rng):
    C, N = 3, 5
    Y = one_hot(rng.integers(0, C, N), C)
    yhat = softmax(rng.standard_normal((C, N)))
    expected = -np.mean(np.log(yhat[Y.astype(bool)]))
    assert cce(Y, yhat) == pytest.approx(expected, rel=1e-12)
    # cce is the mean, cce_gradient the per-sample -y/yhat: N * d(cce)/d(yhat) == cce_gradient.
    numeric, _ = numerical_gradient(lambda p: cce(Y, p), yhat.copy())
    assert rel_error(cce_gradient(Y, yhat), N * numeric) < TOL
    assert cce(Y, Y) == 0.0
    assert cce(Y, np.full((C, N), 1 / C)) == pytest.approx(np.log(C))


def _dense(rng, input_size=4, output_size=3):
    layer = Dense(input_size, output_size, rng=rng)
    layer.weights[:, -1] = rng.standard_normal(output_size)  # nonzero bias to exercise its column
    return layer


def test_dense_forward_absorbs_the_bias(rng):
    layer = _dense(rng)
    X = rng.standard_normal((4, 6))
    assert layer.weights.shape == (3, 5)
    np.testing.assert_allclose(layer.forward(X), layer.weights[:, :-1] @ X + layer.weights[:, -1:])


def test_dense_backward_gradients_and_update(rng):
    layer = _dense(rng)
    X = rng.standard_normal((4, 6))
    G = rng.standard_normal((3, 6))
    W0 = layer.weights.copy()
    layer.forward(X)

    def out_of_input(x):
        return W0[:, :-1] @ x + W0[:, -1:]

    def loss_of_weights(W):
        return np.sum((W[:, :-1] @ X + W[:, -1:]) * G)

    input_gradient = layer.backward(G, learning_rate=0.1)
    assert input_gradient.shape == X.shape  # bias row dropped so layers chain
    assert rel_error(input_gradient, numerical_gradient_array(out_of_input, X.copy(), G)) < TOL
    numeric_dW, _ = numerical_gradient(loss_of_weights, W0.copy())
    assert rel_error(layer.weights_gradient, numeric_dW) < TOL
    np.testing.assert_allclose(layer.weights, W0 - 0.1 * numeric_dW, rtol=1e-7)
    assert layer.params().keys() == layer.grads().keys() == {"weights"}


def test_dense_input_gradient_uses_the_weights_before_the_update(rng):
    layer = _dense(rng)
    X, G = rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    W0 = layer.weights.copy()
    layer.forward(X)
    np.testing.assert_allclose(layer.backward(G, learning_rate=5.0), W0[:, :-1].T @ G)


@pytest.mark.parametrize("layer_class", [Sigmoid, ReLU])
def test_activation_backward(rng, layer_class):
    Z = rng.standard_normal((4, 6))
    Z[np.abs(Z) < 1e-3] = 0.5  # keep ReLU's kink away from the finite differences
    G = rng.standard_normal((4, 6))
    layer = layer_class()
    layer.forward(Z)
    numeric = numerical_gradient_array(lambda z: layer_class().forward(z), Z.copy(), G)
    assert rel_error(layer.backward(G, learning_rate=0.0), numeric) < TOL


def test_chained_network_gradient_end_to_end(rng):
    """Dense -> Sigmoid -> Dense -> Softmax -> cce: dL/dX by backprop equals the numerical one."""
    from course_lib.solutions.network import mlp

    net = mlp(4, 5, 3, rng)
    X = rng.standard_normal((4, 6))
    Y = one_hot(rng.integers(0, 3, 6), 3)
    yhat = net.forward(X)
    dX = net.backward(cce_gradient(Y, yhat) / 6, learning_rate=0.0)
    numeric, _ = numerical_gradient(lambda x: cce(Y, net.forward(x)), X.copy())
    assert rel_error(dX, numeric) < TOL
