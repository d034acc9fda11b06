"""Categorical cross-entropy and its gradient (one-hot ``y`` and ``yhat`` are classes x samples)."""
from __future__ import annotations

import numpy as np

# Probabilities are clipped to [EPS, 1] so the log never sees 0.
EPS = 1e-12


def cce(y, yhat):
    """Mean over samples of ``-sum_k y_k log(yhat_k)``: y, yhat (C, N) -> float."""
    return -np.sum(y * np.log(np.clip(yhat, EPS, 1.0))) / y.shape[1]


def cce_gradient(y, yhat):
    """Per-sample gradient ``-y / yhat`` (C, N); the training loop divides by the batch size."""
    return -y / np.clip(yhat, EPS, 1.0)
