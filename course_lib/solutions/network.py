"""A network as a list of layers, and the reference mini-batch training loop."""
from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from course_lib.activations import ReLU, Sigmoid
from course_lib.batching import epoch_batches
from course_lib.history import History
from course_lib.metrics import accuracy
from course_lib.solutions.dense import Dense
from course_lib.solutions.losses import cce, cce_gradient
from course_lib.solutions.softmax import Softmax
from course_lib.threads import blas_threads


class Network:
    """Layers applied in order; ``backward`` runs them in reverse."""

    def __init__(self, layers):
        self.layers = list(layers)

    def forward(self, X):
        """X (D, N) -> yhat (C, N)."""
        output = X
        for layer in self.layers:
            output = layer.forward(output)
        return output

    def backward(self, output_gradient, learning_rate):
        """Back-propagate dL/d(yhat) through every layer, updating each; returns dL/dX."""
        for layer in reversed(self.layers):
            output_gradient = layer.backward(output_gradient, learning_rate)
        return output_gradient

    def backward_cce(self, Y, learning_rate):
        """Backward from the mean cross-entropy over the batch; uses the fused
        ``yhat - y`` when the last layer is a Softmax."""
        batch_size = Y.shape[1]
        *body, last = self.layers
        if isinstance(last, Softmax):
            output_gradient = last.backward_cce(Y) / batch_size
        else:
            output_gradient = cce_gradient(Y, last.output) / batch_size
            body = self.layers
        for layer in reversed(body):
            output_gradient = layer.backward(output_gradient, learning_rate)
        return output_gradient

    def predict(self, X):
        """Predicted labels (N,)."""
        return np.argmax(self.forward(X), axis=0)


def train_layers(network, X, Y, epochs, batch_size, learning_rate, rng):
    """The lecture's loop over a plain list of layers: one SGD step on every batch of
    every epoch; returns the mean loss per epoch (``epochs`` floats).

    X (D, N), Y one-hot (C, N); the gradient of the mean batch loss is
    ``cce_gradient / batch size``."""
    N = X.shape[1]
    losses = []
    for epoch in range(epochs):
        total_loss = 0.0
        for batch in epoch_batches(N, batch_size, rng):
            X_batch = X[:, batch]
            Y_batch = Y[:, batch]
            output = X_batch
            for layer in network:
                output = layer.forward(output)
            total_loss += cce(Y_batch, output) * len(batch)
            output_gradient = cce_gradient(Y_batch, output) / len(batch)
            for layer in reversed(network):
                output_gradient = layer.backward(output_gradient, learning_rate)
        losses.append(total_loss / N)
    return losses


def train(network, X, Y, epochs, batch_size, learning_rate, rng, *, decay=1.0, fused=False,
          validation=None, progress=False, threads="auto"):
    """Mini-batch SGD on every batch of every epoch; ``history.loss`` is the mean loss per epoch.

    X (D, N), Y one-hot (C, N); the gradient of the mean batch loss is
    ``cce_gradient / batch_size``; ``learning_rate`` is multiplied by ``decay`` after each epoch.
    ``threads`` caps the BLAS threads ("auto": the CPUs this process may use, see course_lib.threads)."""
    history = History()
    N = X.shape[1]
    # Rows of X.T and Y.T are samples: np.take copies a batch as whole rows (= X[:, batch]).
    samples, targets = np.asfortranarray(X).T, np.asfortranarray(Y).T
    with blas_threads(threads):
        for epoch in tqdm(range(epochs), desc="epochs", disable=not progress, leave=False):
            start = time.perf_counter()
            total_loss = 0.0
            for batch in epoch_batches(N, batch_size, rng):
                X_batch, Y_batch = np.take(samples, batch, axis=0).T, np.take(targets, batch, axis=0).T
                yhat = network.forward(X_batch)
                total_loss += cce(Y_batch, yhat) * len(batch)
                if fused:
                    network.backward_cce(Y_batch, learning_rate)
                else:
                    network.backward(cce_gradient(Y_batch, yhat) / len(batch), learning_rate)
            history.loss.append(total_loss / N)
            history.learning_rate.append(learning_rate)
            history.seconds.append(time.perf_counter() - start)
            if validation is not None:
                history.val_accuracy.append(accuracy(validation[1], network.predict(validation[0])))
            learning_rate *= decay
    return history


def softmax_regression(input_size, num_classes, rng, dtype=np.float64):
    """Softmax regression as a network: Dense(input_size -> num_classes), Softmax."""
    return Network([Dense(input_size, num_classes, rng=rng, dtype=dtype), Softmax()])


def mlp(input_size, hidden_size, num_classes, rng, activation="logistic", dtype=np.float64):
    """One hidden layer: Dense, logistic or ReLU, Dense, Softmax."""
    activations = {"logistic": Sigmoid, "sigmoid": Sigmoid, "relu": ReLU}
    if activation not in activations:
        raise ValueError(f"activation must be one of {sorted(activations)}, got {activation!r}")
    return Network([
        Dense(input_size, hidden_size, rng=rng, dtype=dtype),
        activations[activation](),
        Dense(hidden_size, num_classes, rng=rng, dtype=dtype),
        Softmax(),
    ])
