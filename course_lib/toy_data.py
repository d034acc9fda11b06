"""The seeds' toy data: random integer pixel-like features, samples as columns."""
from __future__ import annotations

import numpy as np


def make_toy_data(
    num_features: int,
    num_samples: int,
    num_classes: int,
    rng: np.random.Generator,
    *,
    low: int = 0,
    high: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Random toy data: ``X`` (num_features, num_samples) of integers in [low, high)
    as float64, and labels ``y`` (num_samples,) in [0, num_classes)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy Generator, e.g. np.random.default_rng(0)")
    X = rng.integers(low, high, size=(num_features, num_samples)).astype(np.float64)
    y = rng.integers(0, num_classes, size=num_samples)
    return X, y


def add_bias_row(X: np.ndarray) -> np.ndarray:
    """Append the bias feature: (D, N) -> (D+1, N) with a last row of ones, so ``W @ X`` adds the bias."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be features x samples (2-D), got shape {X.shape}")
    Xb = np.empty((X.shape[0] + 1, X.shape[1]), dtype=X.dtype, order="F" if X.flags.f_contiguous else "C")
    Xb[:-1] = X
    Xb[-1] = 1
    return Xb
