"""Visible checks for the MLP backprop notebook.

The network: ``p['W']['hidden']`` (H, D+1) and ``p['W']['output']`` (C, H+1), each with
its bias as the last column; X is (D, N) (no row of ones), Y is one-hot (C, N).
``forward(p, X)`` returns ``{'hidden': A (H, N), 'output': P (C, N)}`` and
``compute_grad_loss(p, X, Y)`` returns ``(loss, grads)`` with grads shaped like p.

The checks use hand-worked cases, properties and numerical gradients of the student's
own loss. A failure that matches a common mistake carries its name in
``error.mistake`` (a key of ``MISTAKES``).
"""
from __future__ import annotations

import numpy as np

from course_lib.checks import mnist_softmax
from course_lib.checks.common import CheckFailure, as_float, close, passed
from course_lib.gradient_check import numerical_gradient, rel_error

MISTAKES = {
    **{name: mnist_softmax.MISTAKES[name] for name in
       ("raised", "wrong_shape", "not_finite", "wrong_type", "wrong_value", "modifies_input")},
    "forward_not_dict": "forward did not return the dict {'hidden': A, 'output': P}",
    "hidden_no_activation": "the hidden layer skips the logistic activation",
    "bias_not_last_column": "the bias is not taken from the last column of W",
    "softmax_whole_matrix": "the output softmax normalised over the whole matrix",
    "softmax_wrong_axis": "the output softmax normalised rows instead of columns",
    "output_not_softmax": "the output columns are not probabilities",
    "output_wrong_value": "the output layer is wrong although the hidden layer is right",
    "loss_wrong": "the loss returned by compute_grad_loss is wrong",
    "grads_structure": "compute_grad_loss did not return (loss, {'W': {'hidden': ..., 'output': ...}})",
    "gradient_transposed": "a weight gradient is transposed",
    "gradient_missing_bias_column": "a weight gradient has no bias column",
    "gradient_missing_1_over_N": "the gradients are N times too large (the 1/N is missing)",
    "gradient_sign": "the gradients have the wrong sign",
    "output_bias_gradient_wrong": "the bias column of the output gradient is wrong",
    "hidden_derivative_missing": "the backward pass skips the logistic derivative A (1 - A)",
    "hidden_bias_gradient_wrong": "the bias column of the hidden gradient is wrong",
    "hidden_backprop_wrong": "the hidden-layer gradient is wrong although the output gradient is right",
}

_SHAPE_HINT = (" (check the shapes: W_output's last column is the bias, which gets no gradient from the hidden "
               "layer, so leave it out when passing the gradient back)")


def mistake(name: str, message: str) -> CheckFailure:
    return mnist_softmax.mistake(name, message, MISTAKES)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _params(rng, D, H, C, scale=0.5):
    return {"W": {"hidden": scale * rng.standard_normal((H, D + 1)),
                  "output": scale * rng.standard_normal((C, H + 1))}}


def _forward(forward, p, X, label="forward(p, X)"):
    D, N = X.shape
    H, C = p["W"]["hidden"].shape[0], p["W"]["output"].shape[0]
    a = mnist_softmax.call(forward, label, p, X)
    if not isinstance(a, dict) or "hidden" not in a or "output" not in a:
        raise mistake("forward_not_dict", f"{label} returned a {type(a).__name__}"
                      f"{' with keys ' + str(sorted(a)) if isinstance(a, dict) else ''}; return the dict "
                      "{'hidden': A, 'output': P}")
    A = mnist_softmax.coerce(a["hidden"], f"{label}['hidden']", (H, N))
    P = mnist_softmax.coerce(a["output"], f"{label}['output']", (C, N))
    return A, P


# ---------------------------------------------------------------- forward

def _check_forward_properties(forward) -> None:
    rng = np.random.default_rng(20)
    D, H, C, N = 5, 4, 3, 7
    p = _params(rng, D, H, C, scale=1.0)
    X = rng.standard_normal((D, N))
    A, P = _forward(forward, p, X, f"forward(p, X) with D={D}, H={H}, C={C}, N={N}")
    if np.any(A <= 0) or np.any(A >= 1):
        raise mistake("hidden_no_activation", f"the hidden activations range from {A.min():.3f} to {A.max():.3f}; "
                                              "the logistic function gives values strictly between 0 and 1")
    if np.any(P < 0) or not close(P.sum(axis=0), np.ones(N)):
        if close(P.sum(axis=1), np.ones(C)):
            raise mistake("softmax_wrong_axis", "each row of the output sums to 1, but each column (one sample) "
                                                "should: softmax over the classes, axis 0")
        if abs(P.sum() - 1) < 1e-9:
            raise mistake("softmax_whole_matrix", "the output sums to 1 over the whole matrix; each column "
                                                  "(one sample) should sum to 1")
        raise mistake("output_not_softmax", f"the output's columns sum to {np.round(P.sum(axis=0), 4).tolist()}; "
                                            "the output layer is a softmax, so each column sums to 1")


def _check_forward_bias(forward) -> None:
    # Zero weights, biases b and c: every sample gets hidden sigmoid(b) and output softmax(W_o [sigmoid(b); 1]).
    D, H, C, N = 5, 4, 3, 6
    rng = np.random.default_rng(21)
    p = {"W": {"hidden": np.zeros((H, D + 1)), "output": np.zeros((C, H + 1))}}
    b = np.array([-2.0, -0.5, 0.5, 2.0])
    c = np.log(np.array([1.0, 2.0, 5.0]))
    p["W"]["hidden"][:, -1] = b
    p["W"]["output"][:, -1] = c
    X = rng.standard_normal((D, N))
    A, P = _forward(forward, p, X, "forward(p, X) with zero weights and nonzero biases")
    if not close(A, np.repeat(_sigmoid(b)[:, None], N, axis=1)):
        raise mistake("bias_not_last_column", f"with hidden weights 0 and bias b = {b.tolist()} (the last column of "
                      f"W_hidden), every sample's hidden activations should be sigmoid(b) = "
                      f"{np.round(_sigmoid(b), 4).tolist()}; got {np.round(A[:, 0], 4).tolist()} for the first sample")
    expected = np.repeat(np.array([1.0, 2.0, 5.0])[:, None] / 8, N, axis=1)
    if not close(P, expected):
        raise mistake("bias_not_last_column", f"with output weights 0 and bias c = ln(1, 2, 5) (the last column of "
                      f"W_output), every sample's output should be (1, 2, 5)/8; got "
                      f"{np.round(P[:, 0], 4).tolist()} for the first sample")


def _check_forward_values(forward) -> None:
    rng = np.random.default_rng(22)
    D, H, C, N = 5, 4, 3, 7
    p = _params(rng, D, H, C, scale=1.0)
    X = rng.standard_normal((D, N))
    A, P = _forward(forward, p, X)
    W_h, W_o = p["W"]["hidden"], p["W"]["output"]
    expected_A = _sigmoid(W_h[:, :-1] @ X + W_h[:, -1:])
    if not close(A, expected_A):
        raise mistake("wrong_value", f"the hidden activations differ from sigmoid(W_hidden [X; 1]): first sample "
                                     f"{np.round(A[:, 0], 4).tolist()}, expected {np.round(expected_A[:, 0], 4).tolist()}")
    Z = W_o[:, :-1] @ A + W_o[:, -1:]
    expected_P = np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)
    if not close(P, expected_P):
        raise mistake("output_wrong_value", "the hidden layer is right but the output is not softmax(W_output "
                      f"[A; 1]) of the hidden activations A: first sample {np.round(P[:, 0], 4).tolist()}, "
                      f"expected {np.round(expected_P[:, 0], 4).tolist()}")
    big = {"W": {"hidden": W_h, "output": W_o.copy()}}
    big["W"]["output"][:, -1] += 1000.0
    _forward(forward, big, X, "forward(p, X) with output scores around 1000")  # must stay finite


def check_forward(forward) -> None:
    """Check ``forward(p, X)``: logistic hidden layer, softmax output, biases in the last columns."""
    _check_forward_properties(forward)
    _check_forward_bias(forward)
    _check_forward_values(forward)
    passed("forward", 8)


# ---------------------------------------------------------------- backprop

def _problem(seed: int, hidden_weights: bool = True):
    rng = np.random.default_rng(seed)
    D, H, C, N = 5, 4, 3, 7
    p = _params(rng, D, H, C)
    if not hidden_weights:
        p["W"]["hidden"][:] = 0.0  # every hidden unit at z = 0: a = 1/2, a'(0) = 1/4
    X = rng.standard_normal((D, N))
    labels = np.arange(N) % C
    Y = np.zeros((C, N))
    Y[labels, np.arange(N)] = 1
    return p, X, Y


def _grad_loss(compute_grad_loss, p, X, Y):
    label = "compute_grad_loss(p, X, Y)"
    result = mnist_softmax.call(compute_grad_loss, label, p, X, Y, hint=_SHAPE_HINT)
    if not isinstance(result, tuple) or len(result) != 2:
        raise mistake("grads_structure", f"{label} returned a {type(result).__name__}; return `loss, grads`")
    loss, grads = result
    try:
        leaves = {name: grads["W"][name] for name in ("hidden", "output")}
    except (TypeError, KeyError, IndexError):
        raise mistake("grads_structure", "the gradients should be a dict shaped like p: "
                                         "{'W': {'hidden': dW_hidden, 'output': dW_output}}") from None
    return as_float(mnist_softmax.coerce(loss, "the loss"), "the loss"), leaves


def _check_loss(compute_grad_loss) -> None:
    D, H, C, N = 5, 4, 3, 6
    p = {"W": {"hidden": np.zeros((H, D + 1)), "output": np.zeros((C, H + 1))}}
    p["W"]["output"][:, -1] = np.log(np.array([1.0, 2.0, 5.0]))  # output (1, 2, 5)/8 for every sample
    X = np.random.default_rng(23).standard_normal((D, N))
    Y = np.zeros((C, N))
    Y[np.arange(N) % C, np.arange(N)] = 1
    loss, _ = _grad_loss(compute_grad_loss, p, X, Y)
    expected = -np.mean(np.log(np.array([1.0, 2.0, 5.0]) / 8))
    if not np.isclose(loss, expected, rtol=1e-9):
        raise mistake("loss_wrong", f"with outputs (1, 2, 5)/8 for every sample and labels 0, 1, 2, 0, 1, 2 the mean "
                                    f"cross-entropy is {expected:.6f}, got {loss:.6f}: check forward first")


def _numerical(compute_grad_loss, p, X, Y, name):
    def loss_at(W):
        q = {"W": dict(p["W"])}
        q["W"][name] = W
        return _grad_loss(compute_grad_loss, q, X, Y)[0]
    return numerical_gradient(loss_at, p["W"][name].copy())[0]


def _shape(dW, W, name):
    dW = mnist_softmax.coerce(dW, f"grads['W']['{name}']")
    rows, cols = W.shape
    if dW.shape == (cols, rows):
        raise mistake("gradient_transposed", f"grads['W']['{name}'] has shape {dW.shape}, W has shape {W.shape}: "
                                             "the gradient is transposed (it must have W's shape)")
    if dW.shape == (rows, cols - 1):
        raise mistake("gradient_missing_bias_column", f"grads['W']['{name}'] has shape {dW.shape}, W has shape "
                      f"{W.shape}: the bias (last) column is missing; its gradient is the sum over samples of dZ")
    if dW.shape != W.shape:
        raise mistake("wrong_shape", f"grads['W']['{name}'] has shape {dW.shape}, expected W's shape {W.shape}")
    return dW


def _check_output_gradient(compute_grad_loss) -> None:
    p, X, Y = _problem(24)
    N = X.shape[1]
    _, grads = _grad_loss(compute_grad_loss, p, X, Y)
    dW = _shape(grads["output"], p["W"]["output"], "output")
    _shape(grads["hidden"], p["W"]["hidden"], "hidden")
    numeric = _numerical(compute_grad_loss, p, X, Y, "output")
    found = mnist_softmax.relation(dW, numeric, {"gradient_missing_1_over_N": N})
    if found == "equal":
        return
    if found == "gradient_missing_1_over_N":
        raise mistake(found, f"dW_output is {N} times the numerical gradient with {N} samples: the loss is a "
                             "mean, so dZ_output = (P - Y) / N")
    if found == "negated":
        raise mistake("gradient_sign", "dW_output is minus the numerical gradient: dZ_output is P - Y (over N)")
    if found == "bias_column":
        raise mistake("output_bias_gradient_wrong", "dW_output's weight columns are right but its bias column "
                      f"is not (got {np.round(dW[:, -1], 5).tolist()}, numerically "
                      f"{np.round(numeric[:, -1], 5).tolist()}): the bias gradient sums dZ_output over the samples")
    raise mistake("wrong_value", f"dW_output differs from the numerical gradient of your loss (relative error "
                                 f"{rel_error(dW, numeric):.1e}, should be < 1e-6)")


def _check_hidden_gradient(compute_grad_loss, hidden_weights: bool) -> None:
    p, X, Y = _problem(25, hidden_weights)
    _, grads = _grad_loss(compute_grad_loss, p, X, Y)
    dW = _shape(grads["hidden"], p["W"]["hidden"], "hidden")
    numeric = _numerical(compute_grad_loss, p, X, Y, "hidden")
    # With every hidden unit at z = 0 the logistic's derivative is 1/4 everywhere.
    found = mnist_softmax.relation(dW, numeric, {} if hidden_weights else {"hidden_derivative_missing": 4})
    if found == "equal":
        return
    if found == "hidden_derivative_missing":
        raise mistake(found, "with every hidden unit at z = 0 (a = 1/2) dW_hidden is 4 times the numerical "
                             "gradient: multiply by the logistic's derivative a (1 - a) = 1/4 there")
    if found == "negated":
        raise mistake("gradient_sign", "dW_hidden is minus the numerical gradient")
    if found == "bias_column":
        raise mistake("hidden_bias_gradient_wrong", "dW_hidden's weight columns are right but its bias column is "
                      "not: the bias gradient sums dZ_hidden over the samples")
    raise mistake("hidden_backprop_wrong", f"dW_output is right but dW_hidden is not (relative error "
                  f"{rel_error(dW, numeric):.1e} to the numerical gradient): pass dZ_output back through W_output "
                  "without its bias column, multiply by the logistic's derivative A (1 - A), then form dZ_hidden [X; 1]^T")


def check_compute_grad_loss(compute_grad_loss) -> None:
    """Check ``compute_grad_loss(p, X, Y)`` against numerical gradients of its own loss."""
    _check_loss(compute_grad_loss)
    _check_output_gradient(compute_grad_loss)
    _check_hidden_gradient(compute_grad_loss, hidden_weights=False)
    _check_hidden_gradient(compute_grad_loss, hidden_weights=True)
    passed("compute_grad_loss", 5)
