"""The toy notebook's softmax classifier: the loss and its gradient, and their L2-regularised
versions, written step by step as the notebook shows them.

W is (C, D+1) with the bias as its last column, X is (D+1, N) with a last row of ones,
y holds N integer labels."""
from __future__ import annotations

import numpy as np


def softmax_loss(W, X, y):
    """Mean cross-entropy ``-(1/N) sum_n log softmax(W X)[y_n, n]`` -> float.

    The log-probabilities are ``z - max z - log sum exp(z - max z)``, so no log of 0."""
    N = X.shape[1]
    Z = np.dot(W, X)
    Z = Z - np.max(Z, axis=0, keepdims=True)
    log_P = Z - np.log(np.sum(np.exp(Z), axis=0, keepdims=True))
    return -np.mean(log_P[y, np.arange(N)])


def softmax_gradient(W, X, y):
    """``dL/dW = (P - Y) X^T / N`` (C, D+1): the probabilities with 1 subtracted at each correct class."""
    N = X.shape[1]
    Z = np.dot(W, X)
    P = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    P /= np.sum(P, axis=0, keepdims=True)
    dZ = P.copy()
    dZ[y, np.arange(N)] -= 1
    return np.dot(dZ, X.T) / N


def softmax_loss_l2(W, X, y, alpha):
    """``softmax_loss + alpha ||W[:, :-1]||^2``: the bias column is not penalised."""
    return softmax_loss(W, X, y) + alpha * np.sum(W[:, :-1] ** 2)


def softmax_gradient_l2(W, X, y, alpha):
    """``softmax_gradient + 2 alpha W`` with a zero bias column (C, D+1)."""
    dW = softmax_gradient(W, X, y)
    dW[:, :-1] += 2 * alpha * W[:, :-1]
    return dW


def mini_batches(num_samples, batch_size, rng):
    """One epoch's mini-batches: a permutation of ``range(num_samples)`` drawn with ``rng``, cut
    into batches of ``batch_size`` (the last one holds the leftover samples) -> list of arrays."""
    permutation = rng.permutation(num_samples)
    return [permutation[start:start + batch_size] for start in range(0, num_samples, batch_size)]
