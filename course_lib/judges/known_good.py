"""Known-good versions of the notebooks' graded functions and layers: what a probe puts in place
of a student's other answers while it judges one part, so that a mistake in those is not
charged again (``course_lib.checks.known_good.with_known_good``, the mnist model choice, the
layers loop trained on known-good layers).

They are answers, so they are instructor code like the solutions: never in the student bundle
nor on a grading kernel's path. A probe request that needs some of them carries the source of
those definitions alone (``grading.standins.known_good_source``, in ``KNOWN_GOOD_FIELD``); it runs
after the parts they stand in for were judged, and the kernel builds that source into a module of
its own for that request. Each definition may use only numpy, what the student package ships and
this file's other definitions."""
from __future__ import annotations

import numpy as np

from course_lib.layer import Layer


def _log_softmax(Z):
    Z = Z - np.max(Z, axis=0, keepdims=True)
    return Z - np.log(np.sum(np.exp(Z), axis=0, keepdims=True))


# --- softmax_toy ------------------------------------------------------------------------------

def softmax_loss(W, X, y):
    """The toy notebook's mean cross-entropy of softmax(W X) (log-softmax, no log of 0)."""
    W, X, y = np.asarray(W, dtype=np.float64), np.asarray(X, dtype=np.float64), np.asarray(y)
    return float(-np.mean(_log_softmax(W @ X)[y, np.arange(X.shape[1])]))


def softmax_gradient(W, X, y):
    """The toy notebook's gradient (P - Y) X^T / N."""
    W, X, y = np.asarray(W, dtype=np.float64), np.asarray(X, dtype=np.float64), np.asarray(y)
    N = X.shape[1]
    dZ = np.exp(_log_softmax(W @ X))
    dZ[y, np.arange(N)] -= 1
    return dZ @ X.T / N


# --- mlp_backprop -----------------------------------------------------------------------------

def forward(p, X, activation="logistic"):
    """The MLP's forward pass: {'hidden': a(W_h [X; 1]), 'output': softmax(W_o [A; 1])}."""
    W_h, W_o = p["W"]["hidden"], p["W"]["output"]
    Z = W_h[:, :-1] @ X + W_h[:, -1:]
    A = 1 / (1 + np.exp(-Z)) if activation == "logistic" else np.maximum(Z, 0)
    S = W_o[:, :-1] @ A + W_o[:, -1:]
    return {"hidden": A, "output": np.exp(_log_softmax(S))}


# --- mnist_softmax ----------------------------------------------------------------------------

def softmax_loss_and_gradient(W, X, y, l2_reg=0.0):
    """(loss, dW) of softmax regression with L2 on W without its bias column: the arithmetic of
    ``solutions.softmax_regression`` written out again, since the kernel has no solutions to import
    (the model choice is judged against tables made with this same arithmetic)."""
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


def predict(W, X):
    """Labels (N,): argmax over the classes of W X."""
    return np.argmax(np.dot(W, X), axis=0)


# --- layers -----------------------------------------------------------------------------------

class PlainDense(Layer):
    """A known-good dense layer, z = W [x; 1], for running a loop with layers of known behaviour."""

    def __init__(self, W):
        super().__init__()
        self.weights = np.array(W, dtype=np.float64)
        self.weights_gradient = np.zeros_like(self.weights)

    def forward(self, input):
        self.input = np.vstack([input, np.ones((1, input.shape[1]))])
        self.output = self.weights @ self.input
        return self.output.copy()

    def backward(self, output_gradient, learning_rate):
        input_gradient = self.weights[:, :-1].T @ output_gradient
        self.weights_gradient = output_gradient @ self.input.T
        self.weights = self.weights - learning_rate * self.weights_gradient
        return input_gradient


class PlainSoftmax(Layer):
    """A known-good softmax layer with the per-sample Jacobian backward."""

    def forward(self, input):
        self.input = input
        e = np.exp(input - input.max(axis=0))
        self.output = e / e.sum(axis=0)
        return self.output.copy()

    def backward(self, output_gradient, learning_rate):
        a = self.output
        return a * output_gradient - a * np.sum(a * output_gradient, axis=0)


def cce(y, yhat):
    """Mean cross-entropy over the columns (the test network's probabilities are never 0)."""
    return float(-(y * np.log(yhat)).sum() / y.shape[1])


def cce_gradient(y, yhat):
    """Per-sample gradient -y / yhat."""
    return -y / yhat
