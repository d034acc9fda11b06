"""Weight initialisation."""
from __future__ import annotations

import numpy as np


def glorot_uniform(output_size: int, input_size: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """Glorot/Xavier uniform weights (output_size, input_size) from U(-r, r),
    ``r = sqrt(6 / (input_size + output_size))``."""
    limit = np.sqrt(6.0 / (input_size + output_size))
    return rng.uniform(-limit, limit, size=(output_size, input_size)).astype(dtype, copy=False)


def glorot_weights(output_size: int, input_size: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """Glorot weights with the bias absorbed: (output_size, input_size + 1), bias column zero."""
    W = np.zeros((output_size, input_size + 1), dtype=dtype)
    W[:, :-1] = glorot_uniform(output_size, input_size, rng, dtype)
    return W
