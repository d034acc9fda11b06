"""Mini-batch stochastic gradient descent for a parameter array and a loss-and-gradient function."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from tqdm.auto import tqdm

from course_lib.batching import epoch_batches
from course_lib.history import History
from course_lib.metrics import accuracy


def minibatch_sgd(
    loss_and_gradient: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, np.ndarray]],
    W: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    *,
    rng: np.random.Generator,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 0.5,
    decay: float = 1.0,
    momentum: float = 0.0,
    average_from: int | None = None,
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, History]:
    """Train ``W`` on reshuffled mini-batches: ``V <- momentum V - learning_rate dW``, ``W <- W + V``
    (plain SGD ``W <- W - learning_rate dW`` when momentum is 0).

    ``loss_and_gradient(W, X_batch, y_batch) -> (loss, dW)`` with X (D, N) and y (N,)
    labels (or (C, N) one-hot). ``learning_rate`` is multiplied by ``decay`` after each
    epoch. With ``average_from=k`` the result is the mean of the iterates from epoch k on
    (Polyak averaging). With ``predict(W, X) -> labels`` the history also holds train (and
    validation) accuracy. Returns the trained copy of ``W`` and the history."""
    if X.shape[1] != y.shape[-1]:
        raise ValueError(f"X has {X.shape[1]} samples (columns) but y has {y.shape[-1]}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    W = np.array(W, copy=True)
    X = np.asfortranarray(X)  # contiguous sample columns make X[:, batch] a fast gather
    velocity = np.zeros_like(W)
    average, averaged = np.zeros_like(W), 0
    history = History()
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        start = time.perf_counter()
        losses, sizes = [], []
        for batch in epoch_batches(X.shape[1], batch_size, rng):
            loss, dW = loss_and_gradient(W, X[:, batch], y[..., batch])
            velocity *= momentum
            velocity -= learning_rate * dW
            W += velocity
            if average_from is not None and epoch >= average_from:
                average += W
                averaged += 1
            losses.append(loss)
            sizes.append(batch.size)
        history.loss.append(float(np.average(losses, weights=sizes)))
        history.learning_rate.append(learning_rate)
        history.seconds.append(time.perf_counter() - start)
        if predict is not None:
            estimate = average / averaged if averaged else W
            history.train_accuracy.append(accuracy(y, predict(estimate, X)))
            if validation is not None:
                history.val_accuracy.append(accuracy(validation[1], predict(estimate, validation[0])))
        bar.set_postfix(loss=f"{history.loss[-1]:.4f}")
        learning_rate *= decay
    return (average / averaged if averaged else W), history
