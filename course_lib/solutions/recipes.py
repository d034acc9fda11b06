"""The reference training recipes on the full MNIST (used by the CLI and the benchmark)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from course_lib.data import MNIST, one_hot
from course_lib.history import History
from course_lib.metrics import accuracy
from course_lib.optim import minibatch_sgd
from course_lib.solutions.network import Network, mlp, train
from course_lib.solutions.softmax_regression import predict, softmax_loss_and_gradient
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
    network: Network
    history: History
    test_accuracy: float
    wall_seconds: float


def train_mlp(data: MNIST, *, hidden: int = 100, epochs: int = 10, seed: int = 0, progress: bool = False,
              threads: int | str | None = "auto") -> MLPResult:
    """784 -> hidden (ReLU) -> 10 softmax, mini-batch 32, learning rate 0.1 decaying by 0.85, fused backward."""
    rng = np.random.default_rng(seed)
    network = mlp(data.X_train.shape[0], hidden, 10, rng, activation="relu", dtype=data.X_train.dtype)
    Y = one_hot(data.y_train, 10, dtype=data.X_train.dtype)
    start = time.perf_counter()
    history = train(network, data.X_train, Y, epochs, 32, 0.1, rng, decay=0.85, fused=True, progress=progress,
                    threads=threads)
    wall = time.perf_counter() - start
    return MLPResult(network, history, accuracy(data.y_test, network.predict(data.X_test)), wall)
