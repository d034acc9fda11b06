"""The reference training recipes on the full MNIST (used by the CLI and the benchmark)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from course_lib.batching import epoch_batches
from course_lib.data import MNIST, one_hot
from course_lib.history import History
from course_lib.metrics import accuracy
from course_lib.optim import minibatch_sgd
from course_lib.solutions import mlp
from course_lib.solutions.softmax_regression import predict, softmax_loss_and_gradient
from course_lib.threads import blas_threads
from course_lib.toy_data import add_bias_row


@dataclass
class SoftmaxRegressionResult:
    W: np.ndarray            # (10, 785), bias last
    mean: np.ndarray         # (784, 1) training-mean pixel subtracted before W
    history: History         # val_accuracy is the test accuracy after each epoch
    test_accuracy: float
    wall_seconds: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels (N,) for images X (784, N)."""
        return predict(self.W, add_bias_row(X - self.mean))


def train_softmax_regression(data: MNIST, *, epochs: int = 8, seed: int = 0, progress: bool = False,
                             threads: int | str | None = "auto") -> SoftmaxRegressionResult:
    """Mini-batch SGD (batch 250, learning rate 0.5 decaying by 0.9 per epoch, momentum 0.9,
    iterates averaged from epoch 2) on centred pixels; ``threads`` as in ``minibatch_sgd``."""
    mean = data.X_train.mean(axis=1, keepdims=True)
    X_train = add_bias_row(np.asfortranarray(data.X_train - mean))
    X_test = add_bias_row(data.X_test - mean)
    W0 = np.zeros((10, X_train.shape[0]), dtype=X_train.dtype)
    start = time.perf_counter()
    W, history = minibatch_sgd(
        softmax_loss_and_gradient, W0, X_train, data.y_train, rng=np.random.default_rng(seed),
        epochs=epochs, batch_size=250, learning_rate=0.5, decay=0.9, momentum=0.9, average_from=2,
        predict=predict, validation=(X_test, data.y_test), progress=progress, threads=threads,
    )
    wall = time.perf_counter() - start
    return SoftmaxRegressionResult(W, mean, history, accuracy(data.y_test, predict(W, X_test)), wall)


@dataclass
class MLPResult:
    params: dict             # {'W': {'hidden': (H, 785), 'output': (10, H+1)}}, biases last
    history: History
    test_accuracy: float
    wall_seconds: float
    activation: str = "relu"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels (N,) for images X (784, N)."""
        return mlp.predict(self.params, X, self.activation)


def train_mlp(data: MNIST, *, hidden: int = 100, epochs: int = 10, seed: int = 0, progress: bool = False,
              threads: int | str | None = "auto") -> MLPResult:
    """784 -> hidden (ReLU) -> 10 softmax (the nested-dict MLP of ``solutions.mlp``), mini-batch 32,
    learning rate 0.1 decaying by 0.85 per epoch: ``W <- W - learning_rate dW`` from ``compute_grad_loss``."""
    rng = np.random.default_rng(seed)
    params = mlp.init_params(data.X_train.shape[0], hidden, 10, rng, dtype=data.X_train.dtype)
    # Rows of X.T and Y.T are samples: np.take copies a batch as whole rows (= X[:, batch]).
    samples = np.asfortranarray(data.X_train).T
    targets = np.asfortranarray(one_hot(data.y_train, 10, dtype=data.X_train.dtype)).T
    N, learning_rate, history = samples.shape[0], 0.1, History()
    start = time.perf_counter()
    with blas_threads(threads):
        for epoch in tqdm(range(epochs), desc="epochs", disable=not progress, leave=False):
            epoch_start, total_loss = time.perf_counter(), 0.0
            for batch in epoch_batches(N, 32, rng):
                X_batch, Y_batch = np.take(samples, batch, axis=0).T, np.take(targets, batch, axis=0).T
                loss, grads = mlp.compute_grad_loss(params, X_batch, Y_batch, "relu")
                for name, dW in grads["W"].items():
                    params["W"][name] -= learning_rate * dW
                total_loss += float(loss) * batch.size
            history.loss.append(total_loss / N)
            history.learning_rate.append(learning_rate)
            history.seconds.append(time.perf_counter() - epoch_start)
            learning_rate *= 0.85
    wall = time.perf_counter() - start
    test_accuracy = accuracy(data.y_test, mlp.predict(params, data.X_test, "relu"))
    return MLPResult(params, history, test_accuracy, wall)
