"""The nested-dict MLP: backprop against central differences, and Armijo line search."""
import numpy as np
import pytest

from course_lib import armijo_backtracking, one_hot, rel_error
from course_lib.pytree import tree_map
from course_lib.solutions import mlp


@pytest.fixture
def problem():
    rng = np.random.default_rng(11)
    D, H, C, N = 6, 5, 4, 8
    p = mlp.init_params(D, H, C, rng)
    p["W"]["hidden"][:, -1] = 0.1 * rng.standard_normal(H)
    p["W"]["output"][:, -1] = 0.1 * rng.standard_normal(C)
    X = rng.standard_normal((D, N))
    Y = one_hot(rng.integers(0, C, N), C)
    return p, X, Y


def test_shapes_and_glorot_init(problem):
    p, X, Y = problem
    assert p["W"]["hidden"].shape == (5, 7) and p["W"]["output"].shape == (4, 6)
    a = mlp.forward(p, X)
    assert a["hidden"].shape == (5, 8) and a["output"].shape == (4, 8)
    np.testing.assert_allclose(a["output"].sum(axis=0), 1.0)
    W = mlp.init_params(784, 100, 10, np.random.default_rng(0))["W"]["hidden"]
    limit = np.sqrt(6 / (784 + 100))
    assert np.abs(W[:, :-1]).max() <= limit and np.abs(W[:, :-1]).max() > 0.9 * limit
    assert np.all(W[:, -1] == 0)


@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_backprop_matches_central_differences(problem, activation):
    p, X, Y = problem
    loss, grads = mlp.compute_grad_loss(p, X, Y, activation)
    assert loss == pytest.approx(mlp.loss(p, X, Y, activation))
    for name in ("hidden", "output"):
        W = p["W"][name]
        numeric = np.zeros_like(W)
        for index in np.ndindex(W.shape):
            old = W[index]
            W[index] = old + 1e-5
            plus = mlp.loss(p, X, Y, activation)
            W[index] = old - 1e-5
            minus = mlp.loss(p, X, Y, activation)
            W[index] = old
            numeric[index] = (plus - minus) / 2e-5
        assert rel_error(grads["W"][name], numeric) < 1e-6, name


def test_unknown_activation_is_refused(problem):
    p, X, Y = problem
    with pytest.raises(ValueError, match="activation"):
        mlp.forward(p, X, "tanh")


def test_armijo_finds_a_sufficient_decrease(problem):
    p, X, Y = problem
    loss, grads = mlp.compute_grad_loss(p, X, Y)
    result = armijo_backtracking(lambda q: mlp.loss(q, X, Y), p, grads, loss, initial_step=64.0)
    squared = sum(np.sum(g ** 2) for g in grads["W"].values())
    assert result.loss <= loss - 1e-4 * result.step * squared
    assert result.step < 64.0 and result.evaluations > 1  # had to backtrack from a huge step
    expected = tree_map(lambda w, g: w - result.step * g, p, grads)
    np.testing.assert_allclose(result.params["W"]["hidden"], expected["W"]["hidden"])


def test_armijo_on_a_quadratic_takes_the_exact_step():
    x = np.array([3.0, -4.0])
    f = lambda z: float(np.sum(z ** 2))  # noqa: E731
    result = armijo_backtracking(f, x, 2 * x, f(x), initial_step=2.0)
    # t=2 and t=1 overshoot or stall; t=0.5 lands on the minimum.
    assert result.step == 0.5 and result.loss == 0.0 and result.evaluations == 3


def test_armijo_rejects_a_bad_shrink_factor():
    with pytest.raises(ValueError, match="shrink"):
        armijo_backtracking(lambda z: 0.0, np.zeros(1), np.zeros(1), 0.0, shrink=1.5)


def test_gradient_descent_with_armijo_lowers_the_loss(problem):
    p, X, Y = problem
    losses = []
    for _ in range(20):
        loss, grads = mlp.compute_grad_loss(p, X, Y)
        losses.append(loss)
        p = armijo_backtracking(lambda q: mlp.loss(q, X, Y), p, grads, loss, initial_step=4.0).params
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.5 * losses[0]
