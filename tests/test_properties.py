"""Property tests: softmax and cross-entropy stay finite and normalised for extreme inputs."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib import one_hot
from course_lib.solutions.losses import cce, cce_gradient
from course_lib.solutions.softmax import Softmax, softmax
from course_lib.solutions.softmax_regression import softmax_loss_and_gradient

shapes = st.tuples(st.integers(1, 6), st.integers(1, 8))
logits = shapes.flatmap(lambda s: arrays(np.float64, s, elements=st.floats(-1e4, 1e4, allow_nan=False)))


@settings(max_examples=200, deadline=None)
@given(logits)
def test_softmax_columns_sum_to_one_and_stay_finite(Z):
    P = softmax(Z)
    assert np.all(np.isfinite(P)) and np.all(P >= 0) and np.all(P <= 1)
    np.testing.assert_allclose(P.sum(axis=0), 1.0, rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(logits, st.floats(-1e3, 1e3))
def test_softmax_is_shift_invariant(Z, shift):
    np.testing.assert_allclose(softmax(Z + shift), softmax(Z), atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(logits, st.data())
def test_cce_and_backward_stay_finite_for_extreme_logits(Z, data):
    C, N = Z.shape
    labels = np.array(data.draw(st.lists(st.integers(0, C - 1), min_size=N, max_size=N)))
    Y = one_hot(labels, C)
    layer = Softmax()
    yhat = layer.forward(Z)
    assert np.isfinite(cce(Y, yhat)) and cce(Y, yhat) >= 0
    assert np.all(np.isfinite(cce_gradient(Y, yhat)))
    assert np.all(np.isfinite(layer.backward(cce_gradient(Y, yhat), 0.0)))
    W = np.hstack([np.eye(C), np.zeros((C, 1))])
    loss, dW = softmax_loss_and_gradient(W, np.vstack([Z, np.ones((1, N))]), labels)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))


probabilities = shapes.flatmap(
    lambda s: arrays(np.float64, s, elements=st.sampled_from([0.0, 1.0, 1e-300, 0.25, 0.5]))
)


@settings(max_examples=200, deadline=None)
@given(probabilities, st.data())
def test_cce_never_takes_the_log_of_zero(yhat, data):
    C, N = yhat.shape
    labels = np.array(data.draw(st.lists(st.integers(0, C - 1), min_size=N, max_size=N)))
    Y = one_hot(labels, C)
    with np.errstate(all="raise"):
        value = cce(Y, yhat)
        gradient = cce_gradient(Y, yhat)
    assert np.isfinite(value) and value >= 0
    assert np.all(np.isfinite(gradient))
