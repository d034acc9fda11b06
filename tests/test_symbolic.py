"""The sympy derivation of the softmax loss against NumPy written out here, and the Jacobian."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from course_lib.gradient_check import numerical_gradient, rel_error
from course_lib.symbolic import (
    LECTURE_IMAGES,
    compare_with_numpy,
    lecture_data,
    random_parameters,
    softmax_jacobian,
    softmax_loss_derivation,
)


@pytest.fixture(scope="module")
def derivation():
    return softmax_loss_derivation()


def reference_loss_and_gradient(W, b, X, y):
    """Per-image loops, independent of the module: L = mean_n (log sum_j e^{z_jn} - z_{y_n n})."""
    C, N = W.shape[0], X.shape[1]
    loss, dW, db = 0.0, np.zeros_like(W), np.zeros((C, 1))
    for n in range(N):
        z = W @ X[:, n] + b[:, 0]
        z = z - z.max()
        p = np.exp(z) / np.exp(z).sum()
        loss += -np.log(p[y[n]]) / N
        e = p.copy()
        e[y[n]] -= 1.0
        dW += np.outer(e, X[:, n]) / N
        db[:, 0] += e / N
    return loss, dW, db


def test_lecture_example_shapes_and_symbols(derivation):
    X, y = lecture_data()
    assert X.shape == (4, 3) and list(y) == [0, 1, 2]
    np.testing.assert_array_equal(X[:, 1], LECTURE_IMAGES[1])
    assert derivation.W.shape == (3, 4) and derivation.b.shape == (3, 1) and derivation.Z.shape == (3, 3)
    assert len(derivation.image_losses) == 3
    assert derivation.loss.free_symbols == set(derivation.parameters)
    assert len(derivation.parameters) == 15
    # z for image 2, class 2: w_21*37 + w_22*58 + w_23*120 + w_24*96 + b_2
    W, b = derivation.W, derivation.b
    assert sp.expand(derivation.Z[1, 1] - (37 * W[1, 0] + 58 * W[1, 1] + 120 * W[1, 2] + 96 * W[1, 3] + b[1])) == 0
    # Pretty-printable and LaTeX-renderable.
    assert r"\log" in sp.latex(derivation.image_losses[0]) and "w_{11}" in sp.latex(derivation.loss)
    assert "log" in sp.pretty(derivation.image_losses[2])


def test_zero_weights_give_log3(derivation):
    W, b = np.zeros((3, 4)), np.zeros((3, 1))
    assert abs(derivation.substitute(W, b) - np.log(3)) < 1e-15
    assert abs(derivation.loss_function()(W, b) - np.log(3)) < 1e-15


@pytest.mark.parametrize("seed", range(5))
def test_loss_and_gradient_match_numpy_at_random_points(derivation, seed):
    rng = np.random.default_rng(seed)
    W, b = random_parameters(rng, scale=0.02)
    X, y = lecture_data()
    loss, dW, db = reference_loss_and_gradient(W, b, X, y)

    assert abs(derivation.substitute(W, b) - loss) < 1e-10
    assert abs(derivation.loss_function()(W, b) - loss) < 1e-10
    sym_dW, sym_db = derivation.gradient_function()(W, b)
    assert sym_dW.shape == (3, 4) and sym_db.shape == (3, 1)
    np.testing.assert_allclose(sym_dW, dW, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(sym_db, db, rtol=1e-10, atol=1e-10)

    report = compare_with_numpy(derivation, W, b)
    assert report["loss_difference"] < 1e-10
    assert report["dW_difference"] < 1e-10 and report["db_difference"] < 1e-10
    assert report["loss_sympy"] == pytest.approx(loss, abs=1e-10)


def test_gradient_matches_central_differences(derivation):
    rng = np.random.default_rng(7)
    W, b = random_parameters(rng, scale=0.02)
    f = derivation.loss_function()
    num_dW, _ = numerical_gradient(lambda W_: f(W_, b), W.copy(), h=1e-6)
    num_db, _ = numerical_gradient(lambda b_: f(W, b_), b.copy(), h=1e-6)
    sym_dW, sym_db = derivation.gradient_function()(W, b)
    assert rel_error(sym_dW, num_dW) < 1e-6
    assert rel_error(sym_db, num_db) < 1e-6


def test_sp_diff_gradient_is_the_vectorized_formula_identically(derivation):
    assert derivation.symbolic_gradient_matches()
    # The readable form: dL/dw_11 = (26 (p_11 - 1) + 37 p_12 + 12 p_13) / 3.
    P, dW, db = derivation.gradient_in_probabilities()
    assert sp.expand(dW[0, 0] - (26 * (P[0, 0] - 1) + 37 * P[0, 1] + 12 * P[0, 2]) / 3) == 0
    assert sp.expand(db[2] - (P[2, 0] + P[2, 1] + P[2, 2] - 1) / 3) == 0


def test_vectorized_gradient_agrees_with_bias_as_last_column(derivation):
    # [dW | db] equals (P - Y) [X; 1]^T / N: the bias is the last column of the lecture's W.
    rng = np.random.default_rng(3)
    W, b = random_parameters(rng)
    X, y = lecture_data()
    Xb = np.vstack([X, np.ones((1, 3))])
    Wb = np.hstack([W, b])
    Z = Wb @ Xb
    P = np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)
    Y = np.eye(3)[:, y]
    expected = (P - Y) @ Xb.T / 3
    dW, db = derivation.gradient_function()(W, b)
    np.testing.assert_allclose(np.hstack([dW, db]), expected, rtol=1e-10, atol=1e-12)


def test_other_data_and_bad_input():
    rng = np.random.default_rng(11)
    X = rng.integers(0, 10, size=(2, 4))
    y = [1, 0, 1, 1]
    d = softmax_loss_derivation(X, y)
    assert d.W.shape == (2, 2) and len(d.image_losses) == 4
    W, b = random_parameters(rng, num_classes=2, num_features=2, scale=0.1)
    loss, dW, db = reference_loss_and_gradient(W, b, X.astype(float), y)
    assert abs(d.loss_function()(W, b) - loss) < 1e-12
    with pytest.raises(ValueError, match="W must have shape"):
        d.loss_function()(np.zeros((3, 2)), b)
    with pytest.raises(ValueError, match="b must have shape"):
        d.substitute(W, np.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        softmax_loss_derivation(X, y, num_classes=1)
    with pytest.raises(ValueError, match="3 labels but X has 4"):
        softmax_loss_derivation(X, [0, 1, 0])
    with pytest.raises(ValueError, match="both X and y"):
        softmax_loss_derivation(X)
    with pytest.raises(TypeError, match="Generator"):
        random_parameters(0)


def test_softmax_jacobian_is_diag_a_minus_a_at():
    J = softmax_jacobian(3)
    assert J.matches
    assert J.jacobian.shape == (3, 3)
    # At a random point, numerically: the derivative and diag(a) - a a^T in NumPy.
    rng = np.random.default_rng(5)
    z = rng.standard_normal(3)
    values = dict(zip(J.z, z))
    numeric = np.array(J.jacobian.subs(values).evalf(), dtype=np.float64)
    a = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(numeric, np.diag(a) - np.outer(a, a), atol=1e-14)
    # A wrong formula does not match (the check can fail).
    wrong = (J.jacobian - sp.diag(*J.a)).applyfunc(sp.simplify)
    assert not wrong.is_zero_matrix
    with pytest.raises(ValueError, match="num_classes"):
        softmax_jacobian(1)
