"""Mini-batch stochastic gradient descent for a parameter array and a loss-and-gradient function."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from course_lib.history import History
from course_lib.metrics import accuracy
from course_lib.threads import blas_threads

# A shuffled copy of the samples costs about one epoch of gathers in memory the process has used
# before and four to five in fresh memory (a new process; measured on MNIST, docs/benchmarks.md): shorter
# trainings gather each batch instead.
SHUFFLED_COPY_FROM_EPOCHS = 4


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
    train_sample: int | None = 10_000,
    threads: int | str | None = "auto",
    progress: bool = True,
    shuffled_copy: bool | None = None,
) -> tuple[np.ndarray, History]:
    """Train ``W`` on mini-batches: ``V <- momentum V - learning_rate dW``, ``W <- W + V``
    (plain SGD ``W <- W - learning_rate dW`` when momentum is 0).

    The samples are shuffled once (with ``rng``) and cut into batches of ``batch_size``; every
    epoch visits each batch once, in a fresh random order. So every sample is used once per
    epoch, in a new order each epoch. With ``shuffled_copy`` (None: from
    ``SHUFFLED_COPY_FROM_EPOCHS`` epochs on) the shuffled samples are copied once, so that a step
    reads its batch where it lies; otherwise each step gathers its batch. Both give the same
    batches, in the same layout, and so the same result.

    ``loss_and_gradient(W, X_batch, y_batch) -> (loss, dW)`` with X (D, N) and y (N,)
    labels (or (C, N) one-hot). ``learning_rate`` is multiplied by ``decay`` after each
    epoch. With ``average_from=k`` the result is the mean of the iterates from epoch k on
    (Polyak averaging). With ``predict(W, X) -> labels`` the history also holds the validation
    accuracy and the train accuracy, the latter measured on an evenly spaced sample of
    ``train_sample`` training columns (None: all of them) and on all of them after the last epoch.
    ``threads`` caps the BLAS threads while training: "auto" sizes them to the CPUs this process
    may really use (``course_lib.threads``), None leaves them alone. Returns the trained copy of
    ``W`` and the history."""
    if X.shape[1] != y.shape[-1]:
        raise ValueError(f"X has {X.shape[1]} samples (columns) but y has {y.shape[-1]}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    W = np.array(W, copy=True)
    N = X.shape[1]
    if shuffled_copy is None:
        shuffled_copy = epochs >= SHUFFLED_COPY_FROM_EPOCHS
    # Batch k holds the samples order[first:first + batch_size], first = k * batch_size, as whole
    # rows of X.T: a view of the shuffled copy, or gathered from X.T; either way (D, B), F-ordered.
    order = rng.permutation(N)
    samples = np.ascontiguousarray(X.T[order]) if shuffled_copy else X.T
    targets = np.take(y, order, axis=-1)
    batch_starts = np.arange(0, N, batch_size)
    step = 1 if train_sample is None or predict is None else max(1, N // train_sample)
    X_sample, y_sample = (X, y) if step == 1 else (np.asfortranarray(X[:, ::step]), y[..., ::step])
    velocity = np.zeros_like(W)
    average, averaged = np.zeros_like(W), 0
    history = History()
    if progress:  # tqdm.auto costs a fifth of a second to import: only when a bar is shown
        from tqdm.auto import tqdm

        bar = tqdm(range(epochs), desc="epochs", leave=False)
    else:
        bar = range(epochs)
    with blas_threads(threads):
        for epoch in bar:
            start = time.perf_counter()
            total_loss = 0.0
            for first in rng.permutation(batch_starts):
                if shuffled_copy:
                    X_batch = samples[first:first + batch_size].T
                else:
                    X_batch = np.take(samples, order[first:first + batch_size], axis=0).T
                loss, dW = loss_and_gradient(W, X_batch, targets[..., first:first + batch_size])
                velocity *= momentum
                velocity -= learning_rate * dW
                W += velocity
                if average_from is not None and epoch >= average_from:
                    average += W
                    averaged += 1
                total_loss += float(loss) * X_batch.shape[1]
            history.loss.append(total_loss / N)
            history.learning_rate.append(learning_rate)
            history.seconds.append(time.perf_counter() - start)
            if predict is not None:
                estimate = average / averaged if averaged else W
                if epoch == epochs - 1:
                    history.train_accuracy.append(accuracy(y, predict(estimate, X)))
                else:
                    history.train_accuracy.append(accuracy(y_sample, predict(estimate, X_sample)))
                if validation is not None:
                    history.val_accuracy.append(accuracy(validation[1], predict(estimate, validation[0])))
            if progress:
                bar.set_postfix(loss=f"{history.loss[-1]:.4f}")
            learning_rate *= decay
    return (average / averaged if averaged else W), history
