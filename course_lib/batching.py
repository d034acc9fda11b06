"""Mini-batch indices, reshuffled every epoch."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def generate_batch_indices(num_samples: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless stream of index arrays: each epoch is a fresh permutation of
    ``range(num_samples)`` cut into batches of ``batch_size`` (the last may be smaller).

    Every sample appears exactly once per epoch."""
    if num_samples < 1 or batch_size < 1:
        raise ValueError(f"num_samples and batch_size must be positive, got {num_samples} and {batch_size}")
    while True:
        yield from epoch_batches(num_samples, batch_size, rng)


def epoch_batches(num_samples: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches: a permutation of ``range(num_samples)`` cut into batches."""
    permutation = rng.permutation(num_samples)
    return [permutation[start:start + batch_size] for start in range(0, num_samples, batch_size)]
