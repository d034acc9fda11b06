"""Known-good versions of the notebooks' graded functions and layers: what a probe puts in place
of a student's other answers while it judges one part, so that a mistake in those is not
charged again (``course_lib.checks.known_good.with_known_good``, the mnist model choice, the
layers loop trained on known-good layers).

They are answers, so they are instructor code like the solutions: never in the student bundle
nor on a grading kernel's path. The grader sends this file's source with the one probe request
that needs it (``KNOWN_GOOD_FIELD``), which runs after the parts it stands in for were judged;
the kernel builds it as a module of its own for that request. It may import only numpy and
what the student package ships."""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

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
        self.input = np.array(input, dtype=np.float64)
        e = np.exp(self.input - self.input.max(axis=0))
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


@cache
def _definitions() -> tuple[str, dict[str, tuple[str, frozenset[str]]]]:
    """This file's imports, and each top-level definition's text with the top-level names it uses."""
    text = Path(__file__).read_text()
    lines = text.splitlines(keepends=True)
    imports, definitions = [], {}
    for node in ast.parse(text).body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        segment = "".join(lines[start:node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(segment)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            used = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            definitions[node.name] = (segment, used)
    return "".join(imports), definitions


def source(names) -> str:
    """What the grader sends to a kernel with the probe that needs the known-good ``names``: their
    definitions and the helpers they use, nothing else of this file (so a kernel that keeps what it
    is sent learns no other part's or other notebook's answer)."""
    imports, definitions = _definitions()
    unknown = sorted(set(names) - set(definitions) | set(names) & {"source", "_definitions"})
    if unknown:
        raise KeyError(f"no known-good {unknown}")
    wanted, queue = set(), list(names)
    while queue:
        name = queue.pop()
        if name not in wanted:
            wanted.add(name)
            queue += [n for n in definitions[name][1] if n in definitions and n not in ("source", "_definitions")]
    return imports + "".join(f"\n\n{definitions[name][0]}" for name in definitions if name in wanted)
