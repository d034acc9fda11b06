"""Vectorized softmax regression: loss and gradient with L2 on the weights but not the bias.

W is (C, D+1) with the bias as its last column, X is (D+1, N) with a last row of ones,
y holds N integer labels."""
from __future__ import annotations

import numpy as np

from course_lib.metrics import accuracy
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


def train(X, y, l2_reg, *, epochs, batch_size=250, learning_rate=0.5, momentum=0.9, average_from=1, seed=0):
    """The notebook's ``train``: mini-batch SGD from W = 0 (C = 10) with momentum, a learning rate
    decaying by 0.9 per epoch and averaged iterates; returns (W, history)."""
    from course_lib.optim import minibatch_sgd

    return minibatch_sgd(
        lambda W, X_batch, y_batch: softmax_loss_and_gradient(W, X_batch, y_batch, l2_reg),
        np.zeros((10, X.shape[0]), dtype=X.dtype), X, y, rng=np.random.default_rng(seed),
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, decay=0.9,
        momentum=momentum, average_from=average_from, progress=False)


def choose_hyperparameters(X_fit, y_fit, X_val, y_val, l2_grid, batch_sizes, epochs=2):
    """Train one model per (l2_reg, batch_size) on (X_fit, y_fit), measure it on (X_val, y_val).

    Returns (best_l2, best_batch_size, table), table[i, j] the validation accuracy of
    (l2_grid[i], batch_sizes[j]), shape (len(l2_grid), len(batch_sizes))."""
    table = np.zeros((len(l2_grid), len(batch_sizes)))
    for i, l2_reg in enumerate(l2_grid):
        for j, batch_size in enumerate(batch_sizes):
            W, _ = train(X_fit, y_fit, l2_reg, epochs=epochs, batch_size=batch_size)
            table[i, j] = accuracy(y_val, predict(W, X_val))
    i, j = np.unravel_index(np.argmax(table), table.shape)
    return l2_grid[i], batch_sizes[j], table
