"""The one-hidden-layer MLP with parameters in the nested dict ``p['W']['hidden']``, ``p['W']['output']``.

Each weight matrix holds its bias as the last column; X is (D, N), Y one-hot (C, N)."""
from __future__ import annotations

import numpy as np

from course_lib.activations import sigmoid
from course_lib.initializers import glorot_weights
from course_lib.solutions.losses import cce
from course_lib.solutions.softmax import softmax


def init_params(input_size, hidden_size, num_classes, rng, dtype=np.float64):
    """Glorot-initialised ``{'W': {'hidden': (H, D+1), 'output': (C, H+1)}}`` with zero biases."""
    return {"W": {
        "hidden": glorot_weights(hidden_size, input_size, rng, dtype),
        "output": glorot_weights(num_classes, hidden_size, rng, dtype),
    }}


def affine(W, X):
    """``W [X; 1]`` without building the row of ones: (K, D+1), (D, N) -> (K, N)."""
    return np.dot(W[:, :-1], X) + W[:, -1:]


def activate(Z, activation="logistic"):
    """Hidden activation: logistic ``1/(1+e^-z)`` or ReLU ``max(z, 0)``."""
    if activation == "logistic":
        return sigmoid(Z)
    if activation == "relu":
        return np.maximum(Z, 0)
    raise ValueError(f"activation must be 'logistic' or 'relu', got {activation!r}")


def forward(p, X, activation="logistic"):
    """``{'hidden': a(W_h [X; 1]) (H, N), 'output': softmax(W_o [A; 1]) (C, N)}``."""
    A = activate(affine(p["W"]["hidden"], X), activation)
    return {"hidden": A, "output": softmax(affine(p["W"]["output"], A))}


def compute_grad_loss(p, X, Y, activation="logistic"):
    """(mean cross-entropy, gradients with p's structure) by backprop:
    dZ_o = (P - Y)/N, dW_o = dZ_o [A; 1]^T, dZ_h = W_o^T dZ_o * a'(Z_h), dW_h = dZ_h [X; 1]^T."""
    N = X.shape[1]
    a = forward(p, X, activation)
    A, P = a["hidden"], a["output"]
    loss = cce(Y, P)
    dZ_output = (P - Y) / N
    dW_output = np.hstack([np.dot(dZ_output, A.T), np.sum(dZ_output, axis=1, keepdims=True)])
    dA = np.dot(p["W"]["output"][:, :-1].T, dZ_output)
    if activation == "logistic":
        dZ_hidden = dA * A * (1 - A)
    else:
        dZ_hidden = dA * (A > 0)
    dW_hidden = np.hstack([np.dot(dZ_hidden, X.T), np.sum(dZ_hidden, axis=1, keepdims=True)])
    return loss, {"W": {"hidden": dW_hidden, "output": dW_output}}


def loss(p, X, Y, activation="logistic"):
    """Mean cross-entropy of the network's output."""
    return cce(Y, forward(p, X, activation)["output"])


def predict(p, X, activation="logistic"):
    """Predicted labels (N,)."""
    return np.argmax(forward(p, X, activation)["output"], axis=0)
