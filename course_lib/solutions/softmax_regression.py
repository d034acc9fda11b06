"""Vectorized softmax regression: loss and gradient with L2 on the weights but not the bias.

W is (C, D+1) with the bias as its last column, X is (D+1, N) with a last row of ones,
y holds N integer labels."""
from __future__ import annotations

import numpy as np

from course_lib.solutions.softmax import softmax


def predict(W, X):
    """Predicted labels (N,): ``argmax_k (W X)[k, n]``."""
    return np.argmax(np.dot(W, X), axis=0)


def softmax_loss(W, X, y, l2_reg=0.0):
    """Mean of ``-log softmax(W X)[y_n, n]`` plus ``l2_reg * ||W[:, :-1]||^2``.

    The log-probability is ``z_y - max z - log sum exp(z - max z)``, so no log of 0."""
    Z = np.dot(W, X)
    Z = Z - np.max(Z, axis=0, keepdims=True)
    log_p = Z[y, np.arange(X.shape[1])] - np.log(np.sum(np.exp(Z), axis=0))
    return -np.mean(log_p) + l2_reg * np.sum(W[:, :-1] ** 2)


def softmax_gradient(W, X, y, l2_reg=0.0):
    """``(P - Y) X^T / N`` plus ``2 l2_reg W`` with a zero bias column: (C, D+1)."""
    N = X.shape[1]
    dZ = softmax(np.dot(W, X))
    dZ[y, np.arange(N)] -= 1
    dW = np.dot(dZ, X.T) / N
    dW[:, :-1] += 2 * l2_reg * W[:, :-1]
    return dW


def softmax_loss_and_gradient(W, X, y, l2_reg=0.0):
    """(loss, dW) from one product ``W X`` (the fast path for training)."""
    N = X.shape[1]
    columns = np.arange(N)
    Z = np.dot(W, X)
    Z -= np.max(Z, axis=0, keepdims=True)
    E = np.exp(Z)
    S = np.sum(E, axis=0)
    loss = -np.mean(Z[y, columns] - np.log(S)) + l2_reg * np.sum(W[:, :-1] ** 2)
    E /= S
    E[y, columns] -= 1
    dW = np.dot(E, X.T) / N
    dW[:, :-1] += 2 * l2_reg * W[:, :-1]
    return loss, dW
