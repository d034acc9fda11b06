"""Accuracy and the confusion matrix."""
from __future__ import annotations

import numpy as np


def _labels(y) -> np.ndarray:
    """Integer labels from labels (N,) or one-hot / probabilities (C, N)."""
    y = np.asarray(y)
    return np.argmax(y, axis=0) if y.ndim == 2 else y.astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted class equals the true class.

    Each argument is labels (N,) or a classes x samples matrix (argmax over axis 0)."""
    t, p = _labels(y_true), _labels(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"{t.shape[0]} true labels but {p.shape[0]} predictions")
    return float(np.mean(t == p)) if t.size else float("nan")


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class i predicted as class j."""
    t, p = _labels(y_true), _labels(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"{t.shape[0]} true labels but {p.shape[0]} predictions")
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (t, p), 1)
    return matrix
