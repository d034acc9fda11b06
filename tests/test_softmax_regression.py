"""Vectorized softmax regression: loss and gradient with L2 on W but not the bias."""
import numpy as np
import pytest

from course_lib import add_bias_row, check_gradient, make_toy_data, rel_error
from course_lib.solutions.softmax_regression import (
    predict,
    softmax_gradient,
    softmax_loss,
    softmax_loss_and_gradient,
)


@pytest.fixture
def problem():
    rng = np.random.default_rng(5)
    X, y = make_toy_data(4, 5, 3, rng)
    X = add_bias_row(X / 255)
    W = 0.1 * rng.standard_normal((3, 5))
    return W, X, y


def test_loss_is_the_mean_negative_log_probability(problem):
    W, X, y = problem
    Z = W @ X
    P = np.exp(Z) / np.exp(Z).sum(axis=0)
    per_sample = -np.log(P[y, np.arange(5)])
    assert softmax_loss(W, X, y) == pytest.approx(per_sample.mean(), rel=1e-12)


def test_l2_penalises_weights_but_not_the_bias(problem):
    W, X, y = problem
    alpha = 0.3
    penalty = softmax_loss(W, X, y, alpha) - softmax_loss(W, X, y)
    assert penalty == pytest.approx(alpha * np.sum(W[:, :-1] ** 2), rel=1e-12)
    extra = softmax_gradient(W, X, y, alpha) - softmax_gradient(W, X, y)
    np.testing.assert_allclose(extra[:, :-1], 2 * alpha * W[:, :-1], rtol=1e-12)
    np.testing.assert_array_equal(extra[:, -1], 0)


@pytest.mark.parametrize("l2_reg", [0.0, 0.05])
def test_gradient_matches_central_differences(problem, l2_reg):
    W, X, y = problem
    error = check_gradient(lambda w: softmax_loss(w, X, y, l2_reg), W.copy(), softmax_gradient(W, X, y, l2_reg))
    assert error < 1e-6


def test_gradient_is_p_minus_y_times_x_transpose(problem):
    W, X, y = problem
    Z = W @ X
    P = np.exp(Z) / np.exp(Z).sum(axis=0)
    Y = np.eye(3)[:, y]
    np.testing.assert_allclose(softmax_gradient(W, X, y), (P - Y) @ X.T / 5, rtol=1e-12)


def test_fused_loss_and_gradient_agree_with_the_separate_ones(problem):
    W, X, y = problem
    loss, dW = softmax_loss_and_gradient(W, X, y, 0.1)
    assert loss == pytest.approx(softmax_loss(W, X, y, 0.1), rel=1e-12)
    np.testing.assert_allclose(dW, softmax_gradient(W, X, y, 0.1), rtol=1e-12)


def test_large_scores_stay_finite():
    W = np.array([[1e4, 0.0], [-1e4, 0.0], [0.0, 0.0]])
    X = add_bias_row(np.array([[1.0, -1.0, 0.5]]))
    y = np.array([1, 0, 2])
    loss, dW = softmax_loss_and_gradient(W, X, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert loss == pytest.approx(softmax_loss(W, X, y))
    assert loss > 1e3  # two confidently wrong samples


def test_predict_is_the_argmax_score(problem):
    W, X, _ = problem
    np.testing.assert_array_equal(predict(W, X), np.argmax(W @ X, axis=0))


def test_float32_inputs_give_float32_gradients_close_to_float64(problem):
    W, X, y = problem
    loss32, dW32 = softmax_loss_and_gradient(W.astype(np.float32), X.astype(np.float32), y)
    loss64, dW64 = softmax_loss_and_gradient(W, X, y)
    assert dW32.dtype == np.float32
    assert abs(loss32 - loss64) < 1e-5 and rel_error(dW32, dW64) < 1e-3
