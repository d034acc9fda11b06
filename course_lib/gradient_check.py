"""Numerical gradients by central differences, and the relative error to compare them."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(a, b, eps: float = 1e-12) -> float:
    """Largest elementwise relative error ``|a - b| / max(eps, |a| + |b|)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(eps, np.abs(a) + np.abs(b))))


def numerical_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    h: float = 1e-5,
    *,
    num_checks: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Central differences ``(f(x + h e_i) - f(x - h e_i)) / 2h`` of a scalar ``f`` at ``x``.

    ``x`` is perturbed in place and restored. With ``num_checks`` only that many
    random entries (drawn with ``rng``) are computed. Returns ``(grad, mask)``:
    ``grad`` has x's shape, ``mask`` marks the entries that were computed."""
    if not np.issubdtype(np.asarray(x).dtype, np.floating):
        raise TypeError("x must be a floating-point array (use float64 for gradient checks)")
    grad = np.zeros_like(x, dtype=np.float64)
    mask = np.zeros(x.shape, dtype=bool)
    if num_checks is None:
        indices = list(np.ndindex(x.shape))
    else:
        if rng is None:
            raise ValueError("num_checks needs an explicit rng to draw the entries")
        flat = rng.choice(x.size, size=min(num_checks, x.size), replace=False)
        indices = [np.unravel_index(i, x.shape) for i in flat]
    for index in indices:
        old = x[index]
        x[index] = old + h
        f_plus = float(f(x))
        x[index] = old - h
        f_minus = float(f(x))
        x[index] = old
        grad[index] = (f_plus - f_minus) / (2 * h)
        mask[index] = True
    return grad, mask


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, output_gradient: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Numerical gradient of ``sum(f(x) * output_gradient)`` w.r.t. ``x``: what a layer's
    ``backward(output_gradient)`` should return."""
    return numerical_gradient(lambda z: np.sum(f(z) * output_gradient), x, h)[0]


def check_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic: np.ndarray,
    *,
    h: float = 1e-5,
    num_checks: int | None = None,
    rng: np.random.Generator | None = None,
) -> float:
    """Relative error between ``analytic`` and the numerical gradient of ``f`` at ``x``
    (on ``num_checks`` random entries, or all)."""
    numeric, mask = numerical_gradient(f, x, h, num_checks=num_checks, rng=rng)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(f"analytic gradient has shape {analytic.shape}, expected {x.shape}")
    return rel_error(analytic[mask], numeric[mask])
