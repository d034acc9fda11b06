"""Gradient descent on sympy expressions: closed forms, the stopping rule, the learning-rate study."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from course_lib.gradient_descent import (
    DEFAULT_LOSS_2D,
    LECTURE_LEARNING_RATES,
    gradient_descent,
    learning_rate_study,
    w,
    w1,
    w2,
)


@pytest.mark.parametrize("learning_rate", [0.01, 0.1, 0.3, 0.95])
def test_iterates_match_closed_form_lecture_quadratic(learning_rate):
    # L = (w + 2)^2 + 3: w_{k+1} = w_k - lr * 2 (w_k + 2), so w_k = -2 + (w_0 + 2) (1 - 2 lr)^k.
    r = gradient_descent(start=3.0, learning_rate=learning_rate, tol=0.0, max_iterations=40)
    k = np.arange(41)
    np.testing.assert_allclose(r.iterates[:, 0], -2 + 5 * (1 - 2 * learning_rate) ** k, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.losses, (r.iterates[:, 0] + 2) ** 2 + 3, rtol=1e-12)
    np.testing.assert_allclose(r.gradients[:, 0], 2 * (r.iterates[:, 0] + 2), rtol=1e-12, atol=1e-12)


def test_iterates_match_closed_form_shifted_quadratic():
    # L = a (w - 2)^2: w_k = 2 + (w_0 - 2) (1 - 2 a lr)^k.
    a, lr, w0 = 1.5, 0.05, -4.0
    r = gradient_descent(a * (w - 2) ** 2, start=w0, learning_rate=lr, tol=0.0, max_iterations=25)
    np.testing.assert_allclose(r.iterates[:, 0], 2 + (w0 - 2) * (1 - 2 * a * lr) ** np.arange(26), rtol=1e-12)


def test_2d_closed_form_and_string_input():
    r = gradient_descent(DEFAULT_LOSS_2D, start=(-1.0, 1.0), learning_rate=0.2, tol=0.0, max_iterations=15)
    factor = (1 - 2 * 0.2) ** np.arange(16)
    np.testing.assert_allclose(r.iterates[:, 0], 2 + (-1 - 2) * factor, rtol=1e-12)
    np.testing.assert_allclose(r.iterates[:, 1], -3 + (1 + 3) * factor, rtol=1e-12)
    r2 = gradient_descent("(w1 - 2)**2 + (w2 + 3)**2", start=(-1.0, 1.0), learning_rate=0.2, tol=0.0,
                          max_iterations=15)
    np.testing.assert_array_equal(r.iterates, r2.iterates)
    # Symbols in a given order.
    r3 = gradient_descent(DEFAULT_LOSS_2D, start=(1.0, -1.0), learning_rate=0.2, tol=0.0, max_iterations=15,
                          symbols=(w2, w1))
    np.testing.assert_allclose(r3.iterates[:, ::-1], r.iterates, rtol=1e-12)


def test_stopping_rule():
    tol = 1e-3
    r = gradient_descent(start=3.0, learning_rate=0.1, tol=tol, max_iterations=1000)
    assert r.converged
    norms = r.gradient_norms
    assert norms[-1] <= tol and np.all(norms[:-1] > tol)  # stops at the first iterate meeting it
    # |g_k| = 10 * 0.8^k <= 1e-3  <=>  k >= log(1e-4)/log(0.8) = 41.3
    assert r.iterations == 42
    capped = gradient_descent(start=3.0, learning_rate=0.1, tol=tol, max_iterations=10)
    assert not capped.converged and capped.iterations == 10 and len(capped.losses) == 11
    at_minimum = gradient_descent(start=-2.0, learning_rate=0.1, tol=tol)
    assert at_minimum.converged and at_minimum.iterations == 0


def test_learning_rate_study_lecture_cases():
    study = learning_rate_study(start=3.0, tol=1e-3, max_iterations=200)
    slow, good, oscillating, forever = study.results
    assert [r.learning_rate for r in study.results] == list(LECTURE_LEARNING_RATES)

    assert not slow.converged and slow.iterations == 200
    assert 2.9 < slow.final[0] < 3.0 and np.all(np.diff(slow.iterates[:, 0]) < 0)  # tiny steps
    assert good.converged and not good.oscillates and good.iterations == 42

    # 0.95: w_k + 2 = 5 (-0.9)^k changes sign every step, and still converges.
    assert oscillating.converged and oscillating.oscillates
    signs = np.sign(oscillating.iterates[:, 0] + 2)
    assert np.all(signs[1:] == -signs[:-1])
    assert np.all(np.diff(np.abs(oscillating.iterates[:, 0] + 2)) < 0)

    # 1.0: w alternates between 3 and -7 forever; |gradient| stays 10 and never meets tol.
    assert not forever.converged and forever.iterations == 200
    assert np.all(forever.gradient_norms > 1e-3)
    np.testing.assert_allclose(forever.iterates[::2, 0], 3.0)
    np.testing.assert_allclose(forever.iterates[1::2, 0], -7.0)
    np.testing.assert_allclose(forever.gradient_norms, 10.0)

    assert [r.behaviour for r in study.results] == [
        "too slow (not converged)", "converges", "oscillates, then converges", "oscillates, never converges",
    ]
    rows = study.rows()
    assert [row["converged"] for row in rows] == [False, True, True, False]
    table = study.table()
    assert len(table.splitlines()) == 2 + 4
    assert "oscillates, never converges" in table and "0.95" in table


def test_divergence_is_reported():
    r = gradient_descent(start=3.0, learning_rate=1.1, tol=1e-3, max_iterations=50)
    assert not r.converged and r.behaviour == "diverges"
    blow_up = gradient_descent(sp.exp(w ** 2), start=3.0, learning_rate=1.0, max_iterations=50)
    assert not blow_up.converged and "diverges" in blow_up.behaviour


def test_study_plot_has_one_column_per_rate():
    fig = learning_rate_study().plot()
    axes = fig.get_axes()
    assert len(axes) == 8
    assert axes[0].get_title().startswith("learning rate 1e-05")
    # The 1.0 column's iterate trace holds all 201 iterates.
    trace = axes[7].get_lines()[0]
    assert len(trace.get_xdata()) == 201
    fig2 = learning_rate_study(DEFAULT_LOSS_2D, start=(-1.0, 1.0), learning_rates=(0.1, 1.0)).plot()
    assert len(fig2.get_axes()) == 4


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        gradient_descent(learning_rate=0)
    with pytest.raises(ValueError, match="start must have 2 value"):
        gradient_descent(DEFAULT_LOSS_2D, start=1.0)
    with pytest.raises(ValueError, match="tol must be"):
        gradient_descent(tol=-1)
    with pytest.raises(ValueError, match="max_iterations"):
        gradient_descent(max_iterations=2.5)
    with pytest.raises(ValueError, match="cannot parse"):
        gradient_descent("(w + ")
    with pytest.raises(TypeError, match="sympy expression"):
        gradient_descent(lambda v: v ** 2)
    with pytest.raises(ValueError, match="not variables: a"):
        gradient_descent(sp.Symbol("a") * w ** 2, symbols=w)
    with pytest.raises(ValueError, match="learning_rates is empty"):
        learning_rate_study(learning_rates=())
