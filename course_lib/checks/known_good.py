"""Known-good versions of the notebooks' graded functions, for judging a function that calls
another graded function of the same notebook on its own (``with_known_good``): the L2 loss and
gradient of the toy notebook call the student's ``softmax_loss`` and ``softmax_gradient``, the
MLP's ``compute_grad_loss`` calls the student's ``forward``. Shipped with the course (like the
spy layers of ``spies``), so the grading kernel's probe can use them; they are written here,
not imported from the instructor's solutions, which never enter the kernel."""
from __future__ import annotations

import numpy as np

from course_lib.checks.common import replaced_globals


def _log_softmax(Z):
    Z = Z - np.max(Z, axis=0, keepdims=True)
    return Z - np.log(np.sum(np.exp(Z), axis=0, keepdims=True))


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


def forward(p, X, activation="logistic"):
    """The MLP's forward pass: {'hidden': logistic(W_h [X; 1]), 'output': softmax(W_o [A; 1])}."""
    W_h, W_o = p["W"]["hidden"], p["W"]["output"]
    Z = W_h[:, :-1] @ X + W_h[:, -1:]
    A = 1 / (1 + np.exp(-Z)) if activation == "logistic" else np.maximum(Z, 0)
    S = W_o[:, :-1] @ A + W_o[:, -1:]
    return {"hidden": A, "output": np.exp(_log_softmax(S))}


KNOWN_GOOD = {"softmax_loss": softmax_loss, "softmax_gradient": softmax_gradient, "forward": forward}


def with_known_good(function, names, *args, **kwargs):
    """``function(*args, **kwargs)`` with the graded functions ``names`` (keys of ``KNOWN_GOOD``)
    that it looks up in the notebook's globals replaced by known-good ones, so that a mistake in
    those is not charged again to ``function``. The student's exceptions propagate."""
    unknown = [name for name in names if name not in KNOWN_GOOD]
    if unknown:
        raise KeyError(f"no known-good {unknown}")
    with replaced_globals(function, **{name: KNOWN_GOOD[name] for name in names}):
        return function(*args, **kwargs)
