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
from course_lib.checks.common import (
    GENERIC_MISTAKES,
    CheckFailure,
    as_float,
    close,
    coerce,
    failure,
    passed,
    relation,
)
from course_lib.gradient_check import numerical_gradient, rel_error
from course_lib.pytree import tree_map

MISTAKES = {
    **GENERIC_MISTAKES,
    "forward_not_dict": "forward did not return the dict {'hidden': A, 'output': P}",
    "hidden_no_activation": "the hidden layer skips the logistic activation",
    "hidden_wrong_activation": "the hidden layer uses another activation (ReLU) instead of the logistic",
    "bias_not_last_column": "the hidden bias is not taken from the last column of W_hidden",
    "output_bias_not_last_column": "the output bias is not taken from the last column of W_output",
    "output_no_max_shift": "the output softmax does not subtract the column maximum, so large scores overflow",
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
    "hidden_derivative_wrong": "the backward pass uses A or 1 - A instead of the logistic derivative A (1 - A)",
    "hidden_backprop_through_bias": "dA is computed with W_output's bias column",
    "hidden_backprop_not_transposed": "dA multiplies by W_output instead of its transpose",
    "hidden_bias_gradient_wrong": "the bias column of the hidden gradient is wrong",
    "hidden_backprop_wrong": "the hidden-layer gradient is wrong although the output gradient is right",
    "gradient_divided_by_N_twice": "the gradients are N times too small (the mean over samples taken twice)",
    "per_sample_formula_on_batch": "a formula right for one sample (np.outer, a vector product) applied to a batch",
    "labels_transposed": "the labels are used transposed (rows as samples) instead of one-hot classes x samples",
}

_SHAPE_HINT = (" (check the shapes: W_output's last column is the bias, which gets no gradient from the hidden "
               "layer, so leave it out when passing the gradient back)")


def mistake(name: str, message: str) -> CheckFailure:
    """A CheckFailure naming the mistake ``name`` (a key of ``MISTAKES``)."""
    return failure(None, name, message)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _params(rng, D, H, C, scale=0.5):
    return {"W": {"hidden": scale * rng.standard_normal((H, D + 1)),
                  "output": scale * rng.standard_normal((C, H + 1))}}


def _forward(forward, p, X, label="forward(p, X)", not_finite=None):
    D, N = X.shape
    H, C = p["W"]["hidden"].shape[0], p["W"]["output"].shape[0]
    a = mnist_softmax.call_student(forward, label, p, X)
    if not isinstance(a, dict) or "hidden" not in a or "output" not in a:
        raise mistake("forward_not_dict", f"{label} returned a {type(a).__name__}"
                      f"{' with keys ' + str(sorted(a)) if isinstance(a, dict) else ''}; return the dict "
                      "{'hidden': A, 'output': P}")
    A = coerce(None, a["hidden"], f"{label}['hidden']", (H, N))
    P = coerce(None, a["output"], f"{label}['output']", (C, N), not_finite)
    return A, P


# ---------------------------------------------------------------- forward

def _check_forward_properties(forward) -> None:
    rng = np.random.default_rng(20)
    D, H, C, N = 5, 4, 3, 7
    p = _params(rng, D, H, C, scale=1.0)
    X = rng.standard_normal((D, N))
    A, P = _forward(forward, p, X, f"forward(p, X) with D={D}, H={H}, C={C}, N={N}")
    if np.all(A >= 0) and np.any(A == 0) and np.any(A > 1):
        raise mistake("hidden_wrong_activation", f"the hidden activations range from {A.min():.3f} to {A.max():.3f} "
                                                 "with exact zeros, like a ReLU; this network's hidden layer is the "
                                                 "logistic function, with values strictly between 0 and 1")
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
        raise mistake("output_bias_not_last_column", f"with output weights 0 and bias c = ln(1, 2, 5) (the last column of "
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


def _check_forward_large_scores(forward, relative: bool = False) -> None:
    """The case of ``_check_forward_values`` with output scores around 1000: finite (and, with
    ``relative``, the same output as the student's own for the scores near 0)."""
    rng = np.random.default_rng(22)
    D, H, C, N = 5, 4, 3, 7
    p = _params(rng, D, H, C, scale=1.0)
    X = rng.standard_normal((D, N))
    W_h, W_o = p["W"]["hidden"], p["W"]["output"]
    big = {"W": {"hidden": W_h, "output": W_o.copy()}}
    big["W"]["output"][:, -1] += 1000.0
    label = "forward(p, X) with output scores around 1000"
    _, P = _forward(forward, big, X, label, not_finite=(
        "output_no_max_shift", f"{label}: the output contains inf or nan, exp overflows. Subtract each column's "
                               "maximum score before exp; it does not change the probabilities"))
    if relative:
        _, near = _forward(forward, p, X)
        if not close(P, near):
            raise mistake("output_no_max_shift", f"{label}: the output differs from the output for the same scores "
                                                 "near 0; raising every score of a sample equally changes no probability")


def _check_forward_float32(forward) -> None:
    # The notebook trains on float32 MNIST with float32 weights: forward must work on them.
    rng = np.random.default_rng(26)
    D, H, C, N = 5, 4, 3, 7
    p = tree_map(lambda W: W.astype(np.float32), _params(rng, D, H, C, scale=1.0))
    X = rng.standard_normal((D, N)).astype(np.float32)
    A, P = _forward(forward, p, X, "forward(p, X) with float32 weights and inputs")
    W_h, W_o = (p["W"][k].astype(np.float64) for k in ("hidden", "output"))
    expected_A = _sigmoid(W_h[:, :-1] @ X.astype(np.float64) + W_h[:, -1:])
    Z = W_o[:, :-1] @ expected_A + W_o[:, -1:]
    expected_P = np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)
    if not (np.allclose(A, expected_A, rtol=1e-4, atol=1e-6) and np.allclose(P, expected_P, rtol=1e-4, atol=1e-6)):
        raise mistake("wrong_value", "with float32 weights and inputs the hidden activations or the output differ "
                                     "from the float64 computation by more than float32 precision")


def check_forward(forward) -> None:
    """Check ``forward(p, X)``: logistic hidden layer, softmax output, biases in the last columns."""
    _check_forward_properties(forward)
    _check_forward_bias(forward)
    _check_forward_values(forward)
    _check_forward_large_scores(forward)
    _check_forward_float32(forward)
    passed("forward", 9)


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
    try:
        result = mnist_softmax.call_student(compute_grad_loss, label, p, X, Y, hint=_SHAPE_HINT)
    except CheckFailure as error:
        if error.mistake == "raised":
            _name_shape_error(str(error), p, X)
            _name_batch_mistake(compute_grad_loss, p, X, Y, str(error))
        raise
    if not isinstance(result, (tuple, list)) or len(result) != 2:  # `loss, grads = ...` takes either
        raise mistake("grads_structure", f"{label} returned a {type(result).__name__}; return `loss, grads`")
    loss, grads = result
    try:
        leaves = {name: grads["W"][name] for name in ("hidden", "output")}
    except (TypeError, KeyError, IndexError):
        raise mistake("grads_structure", "the gradients should be a dict shaped like p: "
                                         "{'W': {'hidden': dW_hidden, 'output': dW_output}}") from None
    return as_float(coerce(None, loss, "the loss"), "the loss"), leaves


def _name_shape_error(message: str, p, X) -> None:
    """Name the shape errors of passing dZ_output back through W_output wrongly (numpy's message
    quotes the shapes)."""
    (H, _), (C, _), N = p["W"]["hidden"].shape, p["W"]["output"].shape, X.shape[1]
    compact = message.replace(" ", "")
    if f"({H + 1},{N})({H},{N})" in compact or f"({H},{N})({H + 1},{N})" in compact:
        raise mistake("hidden_backprop_through_bias", f"{message.split(' (check')[0]}: dA has {H + 1} rows but the "
                      f"hidden layer has {H} units; W_output's last column is the bias, which gets no gradient from "
                      "the hidden layer, so leave it out when passing dZ_output back")
    if f"({C},{H})and({C},{N})" in compact:
        raise mistake("hidden_backprop_not_transposed", f"{message.split(' (check')[0]}: W_output without its bias "
                      f"column is ({C}, {H}) and dZ_output is ({C}, {N}); passing the gradient back to the {H} hidden "
                      "units needs W_output transposed")


def _right_for(compute_grad_loss, p, X, Y, with_loss: bool = True) -> bool:
    """Whether the student's compute_grad_loss gives the exact gradients (and loss) on (X, Y),
    computed here in float64 (only this yes or no leaves the function: the checks hand out no
    gradients of a student's own arrays)."""
    try:
        with np.errstate(all="ignore"):
            loss, grads = compute_grad_loss(p, X.copy(), Y.copy())
        loss = float(np.asarray(loss, dtype=np.float64).reshape(()))
        dW = {name: np.asarray(grads["W"][name], dtype=np.float64) for name in ("hidden", "output")}
    except Exception:  # noqa: BLE001 - anything wrong with the student's result: not right
        return False
    W_h, W_o = (np.asarray(p["W"][k], dtype=np.float64) for k in ("hidden", "output"))
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    N = X.shape[1]
    A = _sigmoid(W_h[:, :-1] @ X + W_h[:, -1:])
    S = W_o[:, :-1] @ A + W_o[:, -1:]
    log_P = S - S.max(axis=0) - np.log(np.sum(np.exp(S - S.max(axis=0)), axis=0))
    dZ_output = (np.exp(log_P) - Y) / N
    dZ_hidden = (W_o[:, :-1].T @ dZ_output) * A * (1 - A)
    ones = np.ones((1, N))
    expected = {"hidden": dZ_hidden @ np.vstack([X, ones]).T, "output": dZ_output @ np.vstack([A, ones]).T}
    return (not with_loss or bool(np.isclose(loss, float(-np.sum(Y * log_P) / N), rtol=1e-6))) and all(
        dW[name].shape == expected[name].shape and np.allclose(dW[name], expected[name], rtol=1e-6, atol=1e-10)
        for name in expected)


def _name_batch_mistake(compute_grad_loss, p, X, Y, message: str) -> None:
    """A batch that raised, named by probing: right on one sample (a per-sample formula applied to
    the batch), or right with the labels transposed on a square batch (rows taken as samples)."""
    (H, _), (C, N) = p["W"]["hidden"].shape, Y.shape
    raised = message.split(" (check")[0].split("raised ", 1)[-1]
    if N > 1 and _right_for(compute_grad_loss, p, X[:, :1], Y[:, :1]):
        raise mistake("per_sample_formula_on_batch", f"compute_grad_loss is right for one sample (N = 1) but raised on "
                      f"a batch of {N} samples ({raised}): a formula for one sample was applied to the whole batch. "
                      f"np.outer flattens its arguments: np.outer(dZ_output, A) of a ({C}, {N}) and a ({H}, {N}) batch "
                      f"is ({C * N}, {H * N}), where dW_output's weight part is ({C}, {H}). For a batch, "
                      f"np.dot(dZ_output, A.T) sums the per-sample outer products over the columns")
    # compute_grad_loss given Y.T on a square batch: its gradient is right if it transposes Y back.
    if N >= C and _right_for(lambda q, x, y: compute_grad_loss(q, x, y.T), p, X[:, :C], Y[:, :C], with_loss=False):
        raise mistake("labels_transposed", f"compute_grad_loss raised on a batch of {N} samples ({raised}), and on a "
                      f"batch of as many samples as classes it gives the gradient for the labels Y.T: the labels were "
                      f"used transposed (rows as samples). Y is one-hot classes x samples, ({C}, N) like P: use Y as "
                      f"it is")


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
    dW = coerce(None, dW, f"grads['W']['{name}']")
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
    _judge_output_gradient(dW, _numerical(compute_grad_loss, p, X, Y, "output"), N)


def _judge_output_gradient(dW, numeric, N, reference: str = "the numerical gradient of your loss") -> None:
    """dW_output against ``numeric``, the gradient it should be, with the mistakes named."""
    found = relation(dW, numeric, {"gradient_missing_1_over_N": N, "gradient_divided_by_N_twice": 1 / N})
    if found == "equal":
        return
    if found == "gradient_missing_1_over_N":
        raise mistake(found, f"dW_output is {N} times the numerical gradient with {N} samples: the loss is a "
                             "mean, so dZ_output = (P - Y) / N")
    if found == "gradient_divided_by_N_twice":
        raise mistake(found, f"dW_output is 1/{N} of the numerical gradient with {N} samples (right for one "
                             "sample): dZ_output = (P - Y) / N already takes the mean over the samples, so the "
                             "products with A and the sums over samples must not divide by N again")
    if found == "negated":
        raise mistake("gradient_sign", "dW_output is minus the numerical gradient: dZ_output is P - Y (over N)")
    if found == "bias_column":
        raise mistake("output_bias_gradient_wrong", "dW_output's weight columns are right but its bias column "
                      f"is not (got {np.round(dW[:, -1], 5).tolist()}, numerically "
                      f"{np.round(numeric[:, -1], 5).tolist()}): the bias gradient sums dZ_output over the samples")
    raise mistake("wrong_value", f"dW_output differs from {reference} (relative error "
                                 f"{rel_error(dW, numeric):.1e}, should be < 1e-6)")


def _check_hidden_gradient(compute_grad_loss, hidden_weights: bool) -> None:
    p, X, Y = _problem(25, hidden_weights)
    _, grads = _grad_loss(compute_grad_loss, p, X, Y)
    dW = _shape(grads["hidden"], p["W"]["hidden"], "hidden")
    _judge_hidden_gradient(dW, _numerical(compute_grad_loss, p, X, Y, "hidden"), hidden_weights)


def _judge_hidden_gradient(dW, numeric, hidden_weights: bool, reference: str = "the numerical gradient") -> None:
    """dW_hidden against ``numeric``; ``hidden_weights`` False: the case of ``_problem`` with every
    hidden unit at z = 0, where the logistic's derivative is 1/4."""
    # With every hidden unit at z = 0 the logistic's derivative is 1/4 everywhere.
    found = relation(dW, numeric, {} if hidden_weights else {"hidden_derivative_missing": 4,
                                                              "hidden_derivative_wrong": 2})
    if found == "equal":
        return
    if found == "hidden_derivative_missing":
        raise mistake(found, "with every hidden unit at z = 0 (a = 1/2) dW_hidden is 4 times the numerical "
                             "gradient: multiply by the logistic's derivative a (1 - a) = 1/4 there")
    if found == "hidden_derivative_wrong":
        raise mistake(found, "with every hidden unit at z = 0 (a = 1/2) dW_hidden is 2 times the numerical "
                             "gradient: the logistic's derivative is a (1 - a) = 1/4 there, not a or 1 - a")
    if found == "negated":
        raise mistake("gradient_sign", "dW_hidden is minus the numerical gradient")
    if found == "bias_column":
        raise mistake("hidden_bias_gradient_wrong", "dW_hidden's weight columns are right but its bias column is "
                      "not: the bias gradient sums dZ_hidden over the samples")
    raise mistake("hidden_backprop_wrong", f"dW_output is right but dW_hidden is not (relative error "
                  f"{rel_error(dW, numeric):.1e} to {reference}): pass dZ_output back through W_output "
                  "without its bias column, multiply by the logistic's derivative A (1 - A), then form dZ_hidden [X; 1]^T")


def check_compute_grad_loss(compute_grad_loss) -> None:
    """Check ``compute_grad_loss(p, X, Y)`` against numerical gradients of its own loss."""
    _check_loss(compute_grad_loss)
    _check_output_gradient(compute_grad_loss)
    _check_hidden_gradient(compute_grad_loss, hidden_weights=False)
    _check_hidden_gradient(compute_grad_loss, hidden_weights=True)
    passed("compute_grad_loss", 5)
