"""The mutants (each catalogued mistake written into the reference solution cell) and the
correct alternatives of the four graded notebooks.

``blanks={i: code}`` fills blank ``i`` of the cell (its ``# BLANK:`` line or region) with
``code``; ``replace=[(old, new)]`` edits the cell's other lines (for mistakes outside a blank,
such as the order of statements). ``mistake`` is the name the visible checks should give."""
from __future__ import annotations

import importlib.util

from mutation import Variant


def _maker(notebook: str):
    def mutant(cell, mistake, what, blanks=None, replace=None, blank=None, name=None):
        return Variant(notebook, cell, name or mistake, what, dict(blanks or {}), list(replace or []), blank, mistake)

    def alternative(cell, name, what, blanks=None, replace=None, blank=None):
        return Variant(notebook, cell, name, what, dict(blanks or {}), list(replace or []), blank, None)

    return mutant, alternative


# --- layers ------------------------------------------------------------------------------------

M, A = _maker("layers")
CLIPPED = "np.log(np.clip(yhat, EPS, 1.0))"
SOFTMAX_RETURN = "        return self.output\n\n    def backward"
DENSE_LINES = ("        input_gradient = np.dot(self.weights[:, :-1].T, output_gradient)\n"
               "        self.weights -= learning_rate * self.weights_gradient\n")
LOOP_BACKWARD = ("            for layer in reversed(network):\n"
                 "                output_gradient = layer.backward(output_gradient, learning_rate)"
                 "  # BLANK: output_gradient = ?\n")
LOOP_BATCHES = "        for batch in epoch_batches(N, batch_size, rng):\n"

LAYERS = [
    M("cce", "cce_per_sample", "one loss per sample", {0: f"return -np.sum(y * {CLIPPED}, axis=0)"}),
    M("cce", "cce_sum", "summed over samples", {0: f"return -np.sum(y * {CLIPPED})"}),
    M("cce", "cce_sign", "missing minus sign", {0: f"return np.sum(y * {CLIPPED}) / y.shape[1]"}),
    M("cce", "cce_divides_by_classes", "divided by the classes", {0: f"return -np.sum(y * {CLIPPED}) / y.shape[0]"}),
    M("cce", "cce_mean_over_all_entries", "np.mean over everything", {0: f"return -np.mean(y * {CLIPPED})"}),
    M("cce", "cce_log_of_y", "log of y instead of yhat", {0: "return -np.sum(yhat * np.log(y)) / y.shape[1]"}),
    M("cce", "cce_log_of_zero", "no clipping", {0: "return -np.sum(y * np.log(yhat)) / y.shape[1]"}),

    M("cce_gradient", "cce_gradient_divided_by_n", "divided by N",
      {0: "return -y / np.clip(yhat, EPS, 1.0) / y.shape[1]"}),
    M("cce_gradient", "cce_gradient_sign", "missing minus sign", {0: "return y / np.clip(yhat, EPS, 1.0)"}),
    M("cce_gradient", "cce_gradient_fused", "yhat - y", {0: "return yhat - y"}),
    M("cce_gradient", "cce_gradient_missing_y", "-1/yhat", {0: "return -1 / np.clip(yhat, EPS, 1.0)"}),
    M("cce_gradient", "cce_gradient_divides_by_zero", "no clipping", {0: "return -y / yhat"}),
    M("cce_gradient", "cce_gradient_inverted", "-yhat / y", {0: "return -np.clip(yhat, EPS, 1.0) / y"}),
    M("cce_gradient", "cce_gradient_log", "-y log yhat", {0: f"return -y * {CLIPPED}"}),
    M("cce_gradient", "wrong_value", "typo: another class's yhat (-y_0 / yhat_2)",
      {0: "return -y / np.clip(yhat[::-1], EPS, 1.0)"}, name="class_index_typo"),

    M("softmax", "softmax_whole_matrix", "sum over the whole matrix",
      {0: "E = np.exp(input - np.max(input))\nself.output = E / np.sum(E)"}),
    M("softmax", "softmax_wrong_axis", "axis=1",
      {0: "E = np.exp(input - np.max(input, axis=1, keepdims=True))\n"
          "self.output = E / np.sum(E, axis=1, keepdims=True)"}),
    M("softmax", "softmax_overflow", "no max shift",
      {0: "E = np.exp(input)\nself.output = E / np.sum(E, axis=0, keepdims=True)"}),
    M("softmax", "softmax_global_max", "max of the whole matrix",
      {0: "E = np.exp(input - np.max(input))\nself.output = E / np.sum(E, axis=0, keepdims=True)"}),
    M("softmax", "softmax_max_over_rows", "each row's max subtracted",
      {0: "E = np.exp(input - np.max(input, axis=1, keepdims=True))\n"
          "self.output = E / np.sum(E, axis=0, keepdims=True)"}),
    M("softmax", "softmax_output_not_stored", "returns without storing self.output",
      {0: "E = np.exp(input - np.max(input, axis=0, keepdims=True))\nresult = E / np.sum(E, axis=0, keepdims=True)"},
      replace=[(SOFTMAX_RETURN, SOFTMAX_RETURN.replace("self.output", "result"))]),
    M("softmax", "softmax_modifies_input", "normalises the input in place",
      {0: "input -= np.max(input, axis=0, keepdims=True)\nnp.exp(input, out=input)\n"
          "input /= np.sum(input, axis=0, keepdims=True)\nself.output = input"}),
    M("softmax", "softmax_backward_diagonal_only", "T = diag(a(1-a))",
      {1: "T = np.einsum('in,ij->ijn', a * (1 - a), np.eye(a.shape[0]))"}),
    M("softmax", "softmax_backward_missing_outer", "T = diag(a)",
      {1: "T = np.einsum('in,ij->ijn', a, np.eye(a.shape[0]))"}),
    M("softmax", "softmax_backward_missing_diagonal", "T = -a a^T", {1: "T = -np.einsum('in,jn->ijn', a, a)"}),
    M("softmax", "softmax_backward_sign", "T = a a^T - diag(a)",
      {1: "T = np.einsum('in,jn->ijn', a, a) - np.einsum('in,ij->ijn', a, np.eye(a.shape[0]))"}),
    M("softmax", "softmax_backward_mixes_samples", "outer product summed over samples",
      {1: "T = np.einsum('in,ij->ijn', a, np.eye(a.shape[0])) - np.einsum('in,jm->ij', a, a)[:, :, None]"},
      name="jacobian_mixes_samples"),
    M("softmax", "softmax_backward_mixes_samples", "einsum 'ijn,jm->im'",
      {2: "return np.einsum('ijn,jm->im', T, output_gradient)"}, name="einsum_mixes_samples"),
    M("softmax", "softmax_backward_ignores_output_gradient", "einsum of T alone",
      {2: "return np.einsum('ijn->in', T)"}),
    M("softmax", "softmax_backward_returns_jacobian", "returns T", {2: "return T"}),
    M("softmax", "softmax_backward_ignores_output_gradient", "sums over the wrong index",
      {2: "return np.einsum('ijn,jn->jn', T, output_gradient)"}, name="einsum_wrong_output_index"),
    M("softmax", "wrong_value", "typo: a_i a_i instead of a_i a_j",
      {1: "T = np.einsum('in,ij->ijn', a, np.eye(a.shape[0])) - np.einsum('in,in->in', a, a)[:, None, :]"},
      name="jacobian_index_typo"),

    M("dense", "dense_weights_gradient_transposed", "x g^T", {0: "self.weights_gradient = np.dot(self.input, output_gradient.T)"}),
    M("dense", "dense_weights_gradient_missing_bias", "without the row of ones",
      {0: "self.weights_gradient = np.dot(output_gradient, self.input[:-1].T)"}),
    M("dense", "dense_weights_gradient_divided_by_n", "divided by the batch size",
      {0: "self.weights_gradient = np.dot(output_gradient, self.input.T) / output_gradient.shape[1]"}),
    M("dense", "dense_weights_gradient_sign", "minus sign",
      {0: "self.weights_gradient = -np.dot(output_gradient, self.input.T)"}),
    M("dense", "dense_updated_before_input_gradient", "update first",
      replace=[(DENSE_LINES, "".join(reversed(DENSE_LINES.splitlines(keepends=True))))], blank=0),
    M("dense", "dense_update_sign", "+ instead of -",
      replace=[("self.weights -= learning_rate", "self.weights += learning_rate")], blank=0),
    M("dense", "dense_no_update", "no SGD step",
      replace=[("        self.weights -= learning_rate * self.weights_gradient\n", "")], blank=0),
    M("dense", "dense_input_gradient_bias_row", "input gradient through the bias column",
      replace=[("np.dot(self.weights[:, :-1].T, output_gradient)", "np.dot(self.weights.T, output_gradient)")],
      blank=0),
    M("dense", "dense_weights_gradient_uses_output", "output instead of output_gradient",
      {0: "self.weights_gradient = np.dot(self.output, self.input.T)"}),

    M("train_layers", "loop_reuses_one_batch", "always the first samples",
      {0: "X_batch = X[:, :batch_size]", 1: "Y_batch = Y[:, :batch_size]"}),
    M("train_layers", "loop_never_reshuffles", "batches drawn once",
      replace=[("    for epoch in range(epochs):\n",
                "    batches = epoch_batches(N, batch_size, rng)\n    for epoch in range(epochs):\n"),
               (LOOP_BATCHES, "        for batch in batches:\n")], blank=0),
    M("train_layers", "loop_never_reshuffles", "a fresh generator with the same seed every epoch",
      replace=[(LOOP_BATCHES, "        for batch in epoch_batches(N, batch_size, np.random.default_rng(0)):\n")],
      blank=0, name="loop_reseeds_every_epoch"),
    M("train_layers", "loop_one_step_per_epoch", "only the first batch",
      replace=[(LOOP_BATCHES, "        for batch in epoch_batches(N, batch_size, rng)[:1]:\n")], blank=0),
    M("train_layers", "loop_batches_do_not_cover_epoch", "off by one in the sample count",
      replace=[(LOOP_BATCHES, "        for batch in epoch_batches(N - 1, batch_size, rng):\n")], blank=0),
    M("train_layers", "loop_backward_not_every_batch", "backward once per epoch",
      replace=[(LOOP_BACKWARD, "".join(line[4:] + "\n" for line in LOOP_BACKWARD.splitlines()))], blank=5),
    M("train_layers", "loop_forward_not_chained", "every layer gets X_batch", {2: "output = layer.forward(X_batch)"}),
    M("train_layers", "loop_backward_order", "backward in forward order",
      replace=[("for layer in reversed(network):", "for layer in network:")], blank=5),
    M("train_layers", "loop_gradient_not_chained", "backward's result dropped",
      {5: "layer.backward(output_gradient, learning_rate)"}),
    M("train_layers", "loop_labels_not_sliced_with_batch", "labels of the first samples",
      {1: "Y_batch = Y[:, :len(batch)]"}),
    M("train_layers", "loop_gradient_not_divided_by_batch_size", "no / len(batch)",
      {4: "output_gradient = cce_gradient(Y_batch, output)"}),
    M("train_layers", "loop_learning_rate_not_passed", "a fixed learning rate",
      {5: "output_gradient = layer.backward(output_gradient, 0.01)"}),
    M("train_layers", "loop_loss_not_reset_each_epoch", "total_loss set once",
      replace=[("        total_loss = 0.0\n", ""), ("    losses = []\n", "    losses = []\n    total_loss = 0.0\n")],
      blank=3),
    M("train_layers", "loop_loss_sum_of_batch_means", "batch means not weighted by their size",
      {3: "total_loss += cce(Y_batch, output)"}),
    M("train_layers", "loop_loss_last_batch_only", "the last batch's loss",
      replace=[("        losses.append(total_loss / N)", "        losses.append(cce(Y_batch, output))")], blank=3),
    M("train_layers", "loop_wrong_return", "returns the last epoch's loss",
      replace=[("    return losses", "    return total_loss / N")], blank=3),
]

# The batch-versus-one-sample family: right for one sample, wrong on a batch.
LAYERS += [
    M("cce", "cce_divides_by_classes", "rows as samples (a framework's convention): mean over rows of the row sums",
      {0: f"return -np.mean(np.sum(y * {CLIPPED}, axis=1))"}, name="cce_rows_as_samples"),
    M("softmax", "softmax_whole_matrix", "the one-sample formula on the batch",
      {0: "E = np.exp(input - np.max(input))\nself.output = E / E.sum()"}, name="softmax_one_sample_formula"),
    M("softmax", "softmax_backward_flattened_jacobian", "np.identity(np.size(a)) and np.outer over the batch",
      {1: "T = np.identity(np.size(a)) * a - np.outer(a, a)", 2: "return np.dot(T, output_gradient)"}),
    M("softmax", "softmax_backward_flattened_jacobian", "np.diagflat over the batch",
      {1: "T = np.diagflat(a) - np.outer(a, a)", 2: "return np.dot(T, output_gradient)"}, name="jacobian_diagflat"),
    M("dense", "dense_weights_gradient_outer", "np.outer (one sample's formula)",
      {0: "self.weights_gradient = np.outer(output_gradient, self.input)"}),
    M("train_layers", "loop_steps_per_sample", "one step per sample of each batch",
      replace=[(LOOP_BATCHES, "        for batch in [[n] for b in epoch_batches(N, batch_size, rng) for n in b]:\n")], blank=0),
    M("train_layers", "loop_reaches_into_layer", "updates the first layer's weights itself",
      {5: "output_gradient = layer.backward(output_gradient, 0.0)"},
      replace=[("        losses.append(total_loss / N)",
                "            network[0].weights -= learning_rate * network[0].weights_gradient\n"
                "        losses.append(total_loss / N)")]),
    M("train_layers", "loop_labels_transposed", "labels as rows", {1: "Y_batch = Y.T[batch]"}),
]

LAYERS_ALTERNATIVES = [
    A("cce", "loop", "a loop over samples",
      {0: "total = 0.0\nfor n in range(y.shape[1]):\n    for k in range(y.shape[0]):\n"
          "        if y[k, n] > 0:\n            total -= y[k, n] * np.log(max(yhat[k, n], EPS))\n"
          "return total / y.shape[1]"}),
    A("cce", "einsum_maximum", "einsum and np.maximum",
      {0: "return -np.einsum('kn,kn->', y, np.log(np.maximum(yhat, 1e-15))) / y.shape[1]"}),
    A("cce", "mean_of_column_sums", "mean of the per-sample losses",
      {0: f"return np.mean(-np.sum(y * {CLIPPED}, axis=0))"}),
    A("cce", "float64_cast", "casts its inputs to float64 first (float32 inputs welcome)",
      {0: "y, yhat = np.asarray(y, dtype=np.float64), np.asarray(yhat, dtype=np.float64)\n"
          "return float(-np.sum(y * np.log(np.clip(yhat, EPS, 1.0))) / y.shape[1])"}),
    A("cce_gradient", "where", "np.where with a safe denominator",
      {0: "return np.where(y != 0, -y / np.where(yhat > EPS, yhat, EPS), 0.0)"}),
    A("cce_gradient", "maximum", "np.maximum", {0: "return -y / np.maximum(yhat, EPS)"}),
    A("softmax", "log_sum_exp", "log-sum-exp",
      {0: "shifted = input - np.max(input, axis=0, keepdims=True)\n"
          "self.output = np.exp(shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True)))"}),
    A("softmax", "loop", "a loop over columns",
      {0: "self.output = np.empty(input.shape)\nfor n in range(input.shape[1]):\n"
          "    e = np.exp(input[:, n] - input[:, n].max())\n    self.output[:, n] = e / e.sum()"}),
    A("softmax", "scipy", "scipy.special.softmax",
      {0: "from scipy.special import softmax as _softmax\nself.output = _softmax(input, axis=0)"}),
    A("softmax", "broadcast_jacobian", "Jacobians by broadcasting",
      {1: "T = a[:, None, :] * np.eye(a.shape[0])[:, :, None] - a[:, None, :] * a[None, :, :]"}),
    A("softmax", "einsum_transposed_jacobian", "einsum 'jin,jn->in' (the Jacobian is symmetric)",
      {2: "return np.einsum('jin,jn->in', T, output_gradient)"}),
    A("softmax", "einsum_other_index", "einsum 'ijn,in->jn' (the Jacobian is symmetric)",
      {2: "return np.einsum('ijn,in->jn', T, output_gradient)"}),
    A("softmax", "loop_jacobian", "one Jacobian per sample in a loop",
      {1: "T = np.stack([np.diag(a[:, n]) - np.outer(a[:, n], a[:, n]) for n in range(a.shape[1])], axis=2)"}),
    A("dense", "matmul", "@", {0: "self.weights_gradient = output_gradient @ self.input.T"}),
    A("dense", "einsum", "einsum", {0: "self.weights_gradient = np.einsum('mn,dn->md', output_gradient, self.input)"}),
    A("dense", "outer_loop", "a sum of outer products",
      {0: "self.weights_gradient = sum(np.outer(output_gradient[:, n], self.input[:, n]) "
          "for n in range(self.input.shape[1]))"}),
    A("dense", "float32_dtype", "keeps the weights' dtype (float32 safe)",
      {0: "self.weights_gradient = np.dot(output_gradient, self.input.T).astype(self.weights.dtype, copy=False)"}),
    A("train_layers", "index_loop", "own permutation and slicing, an explicit layer index",
      replace=[(LOOP_BATCHES, "        order = rng.permutation(N)\n"
                              "        for start in range(0, N, batch_size):\n"
                              "            batch = order[start:start + batch_size]\n"),
               ("            for layer in reversed(network):\n",
                "            for i in range(len(network) - 1, -1, -1):\n                layer = network[i]\n")],
      blank=0),
    A("train_layers", "weighted_average", "np.average of batch losses weighted by batch size",
      replace=[("        total_loss = 0.0\n", "        batch_losses, sizes = [], []\n"),
               ("        losses.append(total_loss / N)", "        losses.append(float(np.average(batch_losses, weights=sizes)))")],
      blanks={3: "batch_losses.append(cce(Y_batch, output)); sizes.append(len(batch))"}),
    A("cce", "callable_object", "cce rebound to a callable object that takes samples as columns",
      replace=[("def cce(y, yhat):", "class ColumnsLoss:\n    def __call__(self, y, yhat):\n        return _cce(y, yhat)\n\n\ndef _cce(y, yhat):"),
               ("# BLANK: return(?)", "# BLANK: return(?)\n\n\ncce = ColumnsLoss()")], blank=0),
    A("softmax", "jacobian_per_sample_loop", "one identity the size of one sample, a loop over the batch",
      {1: "T = np.stack([np.identity(a.shape[0]) * a[:, n] - np.outer(a[:, n], a[:, n]) for n in range(a.shape[1])], axis=2)"}),
    A("train_layers", "take", "np.take for the batch columns",
      {0: "X_batch = np.take(X, batch, axis=1)", 1: "Y_batch = np.take(Y, batch, axis=1)"}),
    A("train_layers", "reads_layer_output", "forward called, then its result read from layer.output",
      {2: "layer.forward(output)\noutput = layer.output"}),
]

# --- softmax_toy -------------------------------------------------------------------------------

M, A = _maker("softmax_toy")
PICK = "log_P[y, np.arange(N)]"

TOY = [
    M("softmax_loss", "loss_per_sample", "no mean", {1: f"return -{PICK}"}),
    M("softmax_loss", "loss_sum", "summed", {1: f"return -np.sum({PICK})"}),
    M("softmax_loss", "loss_sum", "a loop over the samples that never averages",
      {1: "total = 0.0\nfor n in range(N):\n    total -= log_P[y[n], n]\nreturn total"}, name="loss_loop_not_averaged"),
    M("softmax_loss", "loss_sign", "missing minus", {1: f"return np.mean({PICK})"}),
    M("softmax_loss", "loss_mean_over_classes", "divided by every entry", {1: f"return -np.sum({PICK}) / log_P.size"}),
    M("softmax_loss", "loss_ignores_labels", "mean over every class", {1: "return -np.mean(np.sum(log_P, axis=0))"}),
    M("softmax_loss", "loss_wrong_axis", "normalised along rows",
      {0: "log_P = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))"}),
    M("softmax_loss", "loss_whole_matrix", "normalised over the whole matrix",
      {0: "log_P = Z - np.log(np.sum(np.exp(Z)))"}),
    M("softmax_loss", "loss_log_of_zero", "log of the probabilities",
      {0: "log_P = np.log(np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True))"}),
    M("softmax_loss", "wrong_value", "typo: log_P[y, y]", {1: "return -np.mean(log_P[y, y])"}, name="index_typo"),

    M("softmax_gradient", "gradient_not_averaged", "no / N", {1: "return np.dot(dZ, X.T)"}),
    M("softmax_gradient", "gradient_not_averaged", "the samples' outer products added up in a loop",
      {1: "gradient = np.zeros_like(W)\nfor n in range(N):\n    gradient += np.outer(dZ[:, n], X[:, n])\nreturn gradient"},
      name="gradient_loop_not_averaged"),
    M("softmax_gradient", "gradient_missing_minus_one", "nothing subtracted", {0: "dZ[y, np.arange(N)] -= 0"}),
    M("softmax_gradient", "gradient_sign", "Y - P", {1: "return np.dot(-dZ, X.T) / N"}),
    M("softmax_gradient", "gradient_transposed", "X dZ^T", {1: "return np.dot(X, dZ.T) / N"}),
    M("softmax_gradient", "gradient_whole_rows", "dZ[y] -= 1", {0: "dZ[y] -= 1"}),
    M("softmax_gradient", "gradient_indices_swapped", "dZ[arange, y]", {0: "dZ[np.arange(N), y] -= 1"}),
    M("softmax_gradient", "modifies_input", "X scaled in place", {1: "X /= N\nreturn np.dot(dZ, X.T)"}),

    M("softmax_loss_l2", "l2_on_bias", "whole W", {0: "return softmax_loss(W, X, y) + alpha * np.sum(W ** 2)"}),
    M("softmax_loss_l2", "l2_not_squared", "the norm",
      {0: "return softmax_loss(W, X, y) + alpha * np.linalg.norm(W[:, :-1])"}),
    M("softmax_loss_l2", "l2_loss_factor_two", "2 alpha",
      {0: "return softmax_loss(W, X, y) + 2 * alpha * np.sum(W[:, :-1] ** 2)"}),
    M("softmax_loss_l2", "l2_loss_half", "alpha / 2",
      {0: "return softmax_loss(W, X, y) + 0.5 * alpha * np.sum(W[:, :-1] ** 2)"}),
    M("softmax_loss_l2", "l2_sign", "penalty subtracted",
      {0: "return softmax_loss(W, X, y) - alpha * np.sum(W[:, :-1] ** 2)"}),
    M("softmax_loss_l2", "l2_loss_missing_alpha", "no alpha",
      {0: "return softmax_loss(W, X, y) + np.sum(W[:, :-1] ** 2)"}),

    M("softmax_gradient_l2", "l2_on_bias", "whole W", {0: "dW += 2 * alpha * W"}, name="l2_gradient_on_bias"),
    M("softmax_gradient_l2", "l2_gradient_missing_two", "alpha W", {0: "dW[:, :-1] += alpha * W[:, :-1]"}),
    M("softmax_gradient_l2", "l2_gradient_no_penalty", "nothing added", {0: "dW += 0"}),
    M("softmax_gradient_l2", "l2_sign", "penalty subtracted", {0: "dW[:, :-1] -= 2 * alpha * W[:, :-1]"},
      name="l2_gradient_sign"),
    M("softmax_gradient_l2", "l2_gradient_missing_alpha", "2 W", {0: "dW[:, :-1] += 2 * W[:, :-1]"}),
    M("softmax_gradient_l2", "l2_gradient_replaces", "= instead of +=", {0: "dW = 2 * alpha * W"}),
    M("softmax_gradient_l2", "l2_gradient_replaces", "the penalty alone, bias column zeroed",
      {0: "dW = np.zeros_like(W)\ndW[:, :-1] = 2 * alpha * W[:, :-1]"}, name="l2_gradient_replaces_masked"),
    M("softmax_gradient_l2", "l2_gradient_squared", "2 alpha W^2", {0: "dW[:, :-1] += 2 * alpha * W[:, :-1] ** 2"}),
    M("softmax_gradient_l2", "modifies_input", "zeroes W's bias column in place",
      {0: "W[:, -1] = 0\ndW += 2 * alpha * W"}, name="l2_gradient_modifies_W"),
    M("mini_batches", "batches_not_shuffled", "np.arange", {0: "permutation = np.arange(num_samples)"}),
    M("mini_batches", "batches_without_generator", "np.random.permutation", {0: "permutation = np.random.permutation(num_samples)"}),
    M("mini_batches", "batches_fixed_seed", "a Generator of its own, seed 0",
      {0: "permutation = np.random.default_rng(0).permutation(num_samples)"}),
    M("mini_batches", "batches_overlap", "a window moved by one sample",
      {1: "return [permutation[start:start + batch_size] for start in range(0, num_samples - batch_size + 1)]"}),
    M("mini_batches", "batches_drop_remainder", "the last, smaller batch dropped",
      {1: "return [permutation[start:start + batch_size] for start in range(0, num_samples - batch_size + 1, batch_size)]"}),
    M("mini_batches", "batches_with_replacement", "rng.integers",
      {0: "permutation = rng.integers(0, num_samples, num_samples)"}),
    M("mini_batches", "batches_count_for_size", "np.array_split into batch_size parts",
      {1: "return np.array_split(permutation, batch_size)"}),
    M("mini_batches", "batches_of_one", "one sample per batch",
      {1: "return [permutation[start:start + 1] for start in range(0, num_samples)]"}),
]

TOY_ALTERNATIVES = [
    A("mini_batches", "shuffle_in_place", "rng.shuffle of np.arange",
      {0: "permutation = np.arange(num_samples)\nrng.shuffle(permutation)"}),
    A("mini_batches", "np_split", "np.split at multiples of batch_size",
      {1: "return np.split(permutation, range(batch_size, num_samples, batch_size))"}),
    A("mini_batches", "choice", "rng.choice without replacement, a while loop",
      {0: "permutation = rng.choice(num_samples, num_samples, replace=False)",
       1: "batches, start = [], 0\nwhile start < num_samples:\n    batches.append(permutation[start:start + batch_size])\n    start += batch_size\nreturn batches"}),

    A("softmax_loss", "logaddexp", "np.logaddexp.reduce",
      {0: "log_P = Z - np.logaddexp.reduce(Z, axis=0, keepdims=True)"}),
    A("softmax_loss", "scipy_logsumexp", "scipy.special.logsumexp on the unshifted scores",
      {0: "from scipy.special import logsumexp\nlog_P = np.dot(W, X) - logsumexp(np.dot(W, X), axis=0, keepdims=True)"}),
    A("softmax_loss", "loop", "a loop over samples",
      {1: "total = 0.0\nfor n in range(N):\n    total -= log_P[y[n], n]\nreturn total / N"}),
    A("softmax_loss", "one_hot", "one-hot labels", {1: "return -np.sum(np.eye(W.shape[0])[:, y] * log_P) / N"}),
    A("softmax_gradient", "one_hot_matmul", "P - Y with one-hot Y and @",
      {0: "dZ = dZ - np.eye(W.shape[0])[:, y]", 1: "return dZ @ X.T / N"}),
    A("softmax_gradient", "einsum", "einsum", {1: "return np.einsum('kn,dn->kd', dZ, X) / N"}),
    A("softmax_gradient", "loop", "a loop over samples",
      {0: "for n in range(N):\n    dZ[y[n], n] -= 1",
       1: "grad = np.zeros(W.shape)\nfor n in range(N):\n    grad += np.outer(dZ[:, n], X[:, n])\nreturn grad / N"}),
    A("softmax_loss_l2", "norm_squared", "the squared norm",
      {0: "return softmax_loss(W, X, y) + alpha * np.linalg.norm(W[:, :-1]) ** 2"}),
    A("softmax_loss_l2", "product", "W * W", {0: "return softmax_loss(W, X, y) + alpha * np.sum(W[:, :-1] * W[:, :-1])"}),
    A("softmax_gradient_l2", "masked", "a zero bias column appended",
      {0: "dW += 2 * alpha * np.hstack([W[:, :-1], np.zeros((W.shape[0], 1))])"}),
    A("softmax_gradient_l2", "copy_and_zero", "a copy of W with its bias column zeroed",
      {0: "penalty = W.copy()\npenalty[:, -1] = 0\ndW += 2 * alpha * penalty"}),
]

# --- mnist_softmax -----------------------------------------------------------------------------

M, A = _maker("mnist_softmax")
LOSS = "loss = -np.mean(Z[y, columns] - np.log(S))"
L2 = " + l2_reg * np.sum(W[:, :-1] ** 2)"

MNIST = [
    M("softmax", "softmax_whole_matrix", "sum over the whole matrix", {1: "return E / np.sum(E)"}),
    M("softmax", "softmax_wrong_axis", "axis=1",
      {0: "E = np.exp(Z - np.max(Z, axis=1, keepdims=True))", 1: "return E / np.sum(E, axis=1, keepdims=True)"}),
    M("softmax", "softmax_not_normalised", "returns exp", {1: "return E"}),
    M("softmax", "softmax_no_max_shift", "no max shift", {0: "E = np.exp(Z)"}),
    M("softmax", "softmax_global_max", "max of the whole matrix", {0: "E = np.exp(Z - np.max(Z))"}),
    M("softmax", "softmax_max_over_rows", "each row's max", {0: "E = np.exp(Z - np.max(Z, axis=1, keepdims=True))"}),
    M("softmax", "modifies_input", "shifts Z in place", {0: "Z -= np.max(Z, axis=0, keepdims=True)\nE = np.exp(Z)"},
      name="softmax_modifies_input"),
    M("softmax", "softmax_not_normalised", "divides by the max", {1: "return E / np.max(E, axis=0, keepdims=True)"},
      name="softmax_divides_by_max"),

    M("predict", "predict_wrong_axis", "argmax over samples", {0: "return np.argmax(np.dot(W, X), axis=1)"}),
    M("predict", "predict_returns_scores", "the highest score", {0: "return np.max(np.dot(W, X), axis=0)"}),
    M("predict", "predict_returns_scores", "the probabilities", {0: "return softmax(np.dot(W, X))"},
      name="predict_returns_probabilities"),
    M("predict", "predict_argmin", "argmin", {0: "return np.argmin(np.dot(W, X), axis=0)"}),
    M("predict", "predict_flat_argmax", "argmax without axis", {0: "return np.argmax(np.dot(W, X))"}),
    M("predict", "predict_off_by_one", "labels counted from 1", {0: "return np.argmax(np.dot(W, X), axis=0) + 1"}),
    M("predict", "predict_ignores_bias", "the bias left out", {0: "return np.argmax(np.dot(W[:, :-1], X[:-1]), axis=0)"}),
    M("predict", "predict_returns_scores", "one-hot labels",
      {0: "return np.eye(W.shape[0])[:, np.argmax(np.dot(W, X), axis=0)]"}, name="predict_one_hot"),

    M("loss_and_gradient", "loss_no_max_shift", "no shift", {0: "Z -= 0"}),
    M("loss_and_gradient", "loss_global_max", "max of the whole matrix", {0: "Z -= np.max(Z)"}),
    M("loss_and_gradient", "loss_max_over_rows", "each row's max", {0: "Z -= np.max(Z, axis=1, keepdims=True)"}),
    M("loss_and_gradient", "loss_per_sample", "no mean",
      {1: "loss = -(Z[y, columns] - np.log(S))" + L2}),
    M("loss_and_gradient", "loss_summed", "summed", {1: "loss = -np.sum(Z[y, columns] - np.log(S))" + L2}),
    M("loss_and_gradient", "loss_sign", "missing minus", {1: "loss = np.mean(Z[y, columns] - np.log(S))" + L2}),
    M("loss_and_gradient", "loss_log_of_zero", "log of the probabilities",
      {1: "loss = -np.mean(np.log(E[y, columns] / S))" + L2}),
    M("loss_and_gradient", "l2_missing", "no L2 term", {1: LOSS}),
    M("loss_and_gradient", "l2_on_bias", "L2 on all of W", {1: LOSS + " + l2_reg * np.sum(W ** 2)"}),
    M("loss_and_gradient", "l2_loss_factor", "L2 term halved", {1: LOSS + " + 0.5 * l2_reg * np.sum(W[:, :-1] ** 2)"}),
    M("loss_and_gradient", "gradient_missing_minus_one", "nothing subtracted", {2: "E[y, columns] -= 0"}),
    M("loss_and_gradient", "gradient_whole_rows", "E[y] -= 1", {2: "E[y] -= 1"}),
    M("loss_and_gradient", "gradient_transposed", "X E^T", {3: "dW = np.dot(X, E.T) / N", 4: "dW[:-1] += 2 * l2_reg * W[:, :-1].T"}),
    M("loss_and_gradient", "gradient_missing_1_over_N", "no / N", {3: "dW = np.dot(E, X.T)"}),
    M("loss_and_gradient", "gradient_sign", "minus", {3: "dW = -np.dot(E, X.T) / N"}),
    M("loss_and_gradient", "gradient_missing_bias_column", "without the row of ones",
      {3: "dW = np.dot(E, X[:-1].T) / N", 4: "dW += 2 * l2_reg * W[:, :-1]"}),
    M("loss_and_gradient", "l2_gradient_missing", "no L2 term", {4: "dW[:, :-1] += 0"}),
    M("loss_and_gradient", "l2_gradient_on_bias", "L2 on all of W", {4: "dW += 2 * l2_reg * W"}),
    M("loss_and_gradient", "l2_gradient_missing_factor_2", "l2_reg W", {4: "dW[:, :-1] += l2_reg * W[:, :-1]"}),
    M("loss_and_gradient", "l2_gradient_sign", "L2 term subtracted", {4: "dW[:, :-1] += -2 * l2_reg * W[:, :-1]"}),
    M("loss_and_gradient", "loss_gradient_not_pair", "returns only the loss",
      replace=[("    return loss, dW", "    return loss")], blank=4),
    M("loss_and_gradient", "loss_labels_select_rows", "Z[y]: whole rows",
      {1: "loss = -np.mean(Z[y] - np.log(S))" + L2}),

    # The student's own model choice (choose_hyperparameters and W_final).
    M("choose_model", "selection_on_test_data", "accuracy on the test set",
      {1: "table[i, j] = accuracy(y_test, predict(W, X_test))"}),
    M("choose_model", "selection_on_training_data", "accuracy on the training data",
      {1: "table[i, j] = accuracy(y_fit, predict(W, X_fit))"}),
    M("choose_model", "selection_not_on_validation", "the loss history's last value",
      {1: "table[i, j] = l2_reg"}),
    M("choose_model", "selection_not_best", "argmin", {2: "i, j = np.unravel_index(np.argmin(table), table.shape)"}),
    M("choose_model", "model_not_trained", "W_final left at zero",
      {3: "W_final, history = np.zeros((C, X_fit.shape[0])), []"}),
    M("choose_model", "model_below_threshold", "l2_reg = 0.1",
      {3: "W_final, history = train(X_fit, y_fit, 0.1, epochs=3, batch_size=best_batch_size)"}),
    M("choose_model", "model_wrong_shape", "W_final transposed",
      {3: "W_final, history = np.zeros((X_fit.shape[0], C)), []"}),
    M("choose_model", "model_not_finite", "W_final of NaN",
      {3: "W_final, history = np.full((C, X_fit.shape[0]), np.nan), []"}),
    M("choose_model", "model_missing", "the model named W", {3: "W, history = train(X_fit, y_fit, best_l2, epochs=3)"}),
]

MNIST_ALTERNATIVES = [
    A("choose_model", "accuracy_by_hand", "the accuracy as a mean of matches",
      {1: "table[i, j] = np.mean(predict(W, X_val) == y_val)"}),
    A("choose_model", "divmod_argmax", "the best cell by divmod",
      {2: "i, j = divmod(int(np.argmax(table)), table.shape[1])"}),
    A("softmax", "no_keepdims", "max and sum without keepdims", {0: "E = np.exp(Z - np.max(Z, axis=0))",
                                                                 1: "return E / np.sum(E, axis=0)"}),
    A("softmax", "log_sum_exp", "log-sum-exp",
      {0: "E = np.exp(Z - np.max(Z, axis=0) - np.log(np.sum(np.exp(Z - np.max(Z, axis=0)), axis=0)))", 1: "return E"}),
    A("softmax", "loop", "a loop over columns",
      {0: "E = np.empty(np.shape(Z))\nfor n in range(E.shape[1]):\n    E[:, n] = np.exp(Z[:, n] - Z[:, n].max())",
       1: "return E / E.sum(axis=0)"}),
    A("softmax", "float32_inputs", "asarray in the input's dtype (float32 stays float32)",
      {0: "Z = np.asarray(Z)\nE = np.exp(Z - Z.max(axis=0, keepdims=True))"}),
    A("predict", "matmul", "(W @ X).argmax(axis=0)", {0: "return (W @ X).argmax(axis=0)"}),
    A("predict", "softmax_argmax", "the argmax of the probabilities", {0: "return np.argmax(softmax(W @ X), axis=0)"}),
    A("predict", "loop", "a loop", {0: "return np.array([int(np.argmax(W @ X[:, n])) for n in range(X.shape[1])])"}),
    A("loss_and_gradient", "one_hot_einsum", "one-hot Y and einsum",
      {2: "E -= np.eye(W.shape[0])[:, y]", 3: "dW = np.einsum('kn,dn->kd', E, X) / N"}),
    A("loss_and_gradient", "logaddexp", "np.logaddexp.reduce and the squared norm",
      {1: "loss = -np.mean(Z[y, columns] - np.logaddexp.reduce(Z, axis=0)) + l2_reg * np.linalg.norm(W[:, :-1]) ** 2"}),
    A("loss_and_gradient", "matmul_mask", "@ and a masked penalty",
      {3: "dW = E @ X.T / N", 4: "dW += 2 * l2_reg * np.hstack([W[:, :-1], np.zeros((W.shape[0], 1))])"}),
    A("loss_and_gradient", "returns_list", "the pair returned as a list",
      replace=[("    return loss, dW", "    return [loss, dW]")], blank=0),
    A("loss_and_gradient", "loop", "the loss as a loop over samples",
      {1: "loss = sum(np.log(S[n]) - Z[y[n], n] for n in range(N)) / N + l2_reg * np.sum(W[:, :-1] ** 2)"}),
]

# --- mlp_backprop ------------------------------------------------------------------------------

M, A = _maker("mlp_backprop")
HIDDEN_W, OUTPUT_W = 'p["W"]["hidden"]', 'p["W"]["output"]'
HIDDEN_SUM = "np.sum(dZ_hidden, axis=1, keepdims=True)"

MLP = [
    M("forward", "bias_not_last_column", "bias left out",
      {0: f"A = activate(np.dot({HIDDEN_W}[:, :-1], X), activation)"}, name="hidden_bias_left_out"),
    M("forward", "bias_not_last_column", "bias taken from the first column",
      {0: f"A = activate(np.dot({HIDDEN_W}[:, 1:], X) + {HIDDEN_W}[:, :1], activation)"}, name="bias_first_column"),
    M("forward", "hidden_no_activation", "no logistic", {0: f"A = affine({HIDDEN_W}, X)"}),
    M("forward", "hidden_wrong_activation", "ReLU instead of the logistic",
      {0: f'A = activate(affine({HIDDEN_W}, X), "relu")'}),
    M("forward", "output_not_softmax", "no softmax", {1: f'return {{"hidden": A, "output": affine({OUTPUT_W}, A)}}'}),
    M("forward", "output_not_softmax", "logistic output",
      {1: f'return {{"hidden": A, "output": sigmoid(affine({OUTPUT_W}, A))}}'}, name="output_logistic"),
    M("forward", "softmax_wrong_axis", "softmax over rows",
      {1: f'return {{"hidden": A, "output": softmax(affine({OUTPUT_W}, A).T).T}}'}),
    M("forward", "softmax_whole_matrix", "normalised over the whole matrix",
      {1: f'Z = affine({OUTPUT_W}, A)\nreturn {{"hidden": A, "output": np.exp(Z - Z.max()) / np.sum(np.exp(Z - Z.max()))}}'}),
    M("forward", "output_no_max_shift", "exp without shift",
      {1: f'Z = affine({OUTPUT_W}, A)\nreturn {{"hidden": A, "output": np.exp(Z) / np.sum(np.exp(Z), axis=0)}}'}),
    M("forward", "output_bias_not_last_column", "output bias left out",
      {1: f'return {{"hidden": A, "output": softmax(np.dot({OUTPUT_W}[:, :-1], A))}}'}),
    M("forward", "output_wrong_value", "output from the hidden scores instead of the activations",
      {1: f'return {{"hidden": A, "output": softmax(affine({OUTPUT_W}, affine({HIDDEN_W}, X)))}}'}),
    M("forward", "forward_not_dict", "a tuple", {1: f"return A, softmax(affine({OUTPUT_W}, A))"}),

    M("compute_grad_loss", "gradient_missing_1_over_N", "P - Y", {0: "dZ_output = P - Y"}),
    M("compute_grad_loss", "labels_transposed", "P - Y.T", {0: "dZ_output = (P - Y.T) / N"}),
    M("compute_grad_loss", "per_sample_formula_on_batch", "np.outer over the batch",
      {1: "dW_output = np.hstack([np.outer(dZ_output, A), np.sum(dZ_output, axis=1, keepdims=True)])"}),
    M("compute_grad_loss", "gradient_divided_by_N_twice", "the mean taken twice",
      {1: "dW_output = np.hstack([np.dot(dZ_output, A.T) / N, np.sum(dZ_output, axis=1, keepdims=True) / N])"}),
    M("compute_grad_loss", "gradient_sign", "Y - P", {0: "dZ_output = (Y - P) / N"}),
    M("compute_grad_loss", "gradient_transposed", "dW_output transposed",
      {1: "dW_output = np.hstack([np.dot(dZ_output, A.T), np.sum(dZ_output, axis=1, keepdims=True)]).T"}),
    M("compute_grad_loss", "gradient_missing_bias_column", "no bias column",
      {1: "dW_output = np.hstack([np.dot(dZ_output, A.T)])"}),
    M("compute_grad_loss", "output_bias_gradient_wrong", "mean instead of sum",
      {1: "dW_output = np.hstack([np.dot(dZ_output, A.T), np.mean(dZ_output, axis=1, keepdims=True)])"}),
    M("compute_grad_loss", "hidden_backprop_through_bias", "W_output with its bias column",
      {2: f"dA = np.dot({OUTPUT_W}.T, dZ_output)"}),
    M("compute_grad_loss", "hidden_backprop_not_transposed", "W_output not transposed",
      {2: f"dA = np.dot({OUTPUT_W}[:, :-1], dZ_output)"}),
    M("compute_grad_loss", "hidden_derivative_missing", "no derivative", {3: "dZ_hidden = dA * 1"}),
    M("compute_grad_loss", "hidden_derivative_wrong", "a instead of a(1-a)", {3: "dZ_hidden = dA * A"}),
    M("compute_grad_loss", "hidden_derivative_wrong", "(1-a) instead of a(1-a)", {3: "dZ_hidden = dA * (1 - A)"},
      name="hidden_derivative_one_minus_a"),
    M("compute_grad_loss", "hidden_backprop_wrong", "the derivative of the logistic at A",
      {3: "dZ_hidden = dA * sigmoid(A) * (1 - sigmoid(A))"}),
    M("compute_grad_loss", "hidden_bias_gradient_wrong", "hidden bias: mean instead of sum",
      {4: "dW_hidden = np.hstack([np.dot(dZ_hidden, X.T), np.mean(dZ_hidden, axis=1, keepdims=True)])"}),
    M("compute_grad_loss", "gradient_missing_bias_column", "hidden: no bias column",
      {4: "dW_hidden = np.hstack([np.dot(dZ_hidden, X.T)])"}, name="hidden_missing_bias_column"),
    M("compute_grad_loss", "loss_wrong", "cce's arguments swapped",
      replace=[("    loss = cce(Y, P)\n", "    loss = cce(P, Y)\n")], blank=0),
    M("compute_grad_loss", "grads_structure", "a flat dict",
      replace=[('return loss, {"W": {"hidden": dW_hidden, "output": dW_output}}',
                'return loss, {"hidden": dW_hidden, "output": dW_output}')], blank=4),
]

MLP_ALTERNATIVES = [
    A("forward", "explicit_ones", "[X; 1] written out and @",
      {0: f"A = activate({HIDDEN_W} @ np.vstack([X, np.ones((1, X.shape[1]))]), activation)"}),
    A("forward", "einsum_output", "einsum and a separate bias",
      {1: f'Z = np.einsum("kh,hn->kn", {OUTPUT_W}[:, :-1], A) + {OUTPUT_W}[:, [-1]]\n'
          'return {"hidden": A, "output": softmax(Z)}'}),
    A("forward", "log_sum_exp", "softmax by log-sum-exp",
      {1: f'Z = affine({OUTPUT_W}, A)\nZ = Z - Z.max(axis=0)\n'
          'return {"hidden": A, "output": np.exp(Z - np.log(np.exp(Z).sum(axis=0)))}'}),
    A("forward", "float32_inputs", "the logistic written out, dtype kept",
      {0: f"A = 1 / (1 + np.exp(-affine({HIDDEN_W}, X)))"}),
    A("compute_grad_loss", "matmul", "@ everywhere, [A; 1] written out",
      {1: "dW_output = dZ_output @ np.vstack([A, np.ones((1, N))]).T",
       2: f"dA = {OUTPUT_W}[:, :-1].T @ dZ_output",
       4: "dW_hidden = dZ_hidden @ np.vstack([X, np.ones((1, N))]).T"}),
    A("compute_grad_loss", "einsum", "einsum",
      {2: f'dA = np.einsum("kh,kn->hn", {OUTPUT_W}[:, :-1], dZ_output)'}),
    A("compute_grad_loss", "derivative_from_z", "the logistic's derivative from z",
      {3: f"S = sigmoid(affine({HIDDEN_W}, X))\ndZ_hidden = dA * S * (1 - S)"}),
    A("compute_grad_loss", "a_minus_a_squared", "A - A**2", {3: "dZ_hidden = dA * (A - A ** 2)"}),
    A("compute_grad_loss", "returns_list", "the pair returned as a list",
      replace=[('    return loss, {"W": {"hidden": dW_hidden, "output": dW_output}}',
                '    return [loss, {"W": {"hidden": dW_hidden, "output": dW_output}}]')], blank=4),
    A("compute_grad_loss", "forward_keeps_z", "a forward that also returns Z, which the backprop reuses",
      replace=[("def compute_grad_loss(", 'def forward(p, X, activation="logistic"):\n'
                                          '    Z = affine(p["W"]["hidden"], X)\n'
                                          '    A = activate(Z, activation)\n'
                                          '    return {"hidden": A, "output": softmax(affine(p["W"]["output"], A)), "Z": Z}\n\n\n'
                                          "def compute_grad_loss("),
               ("    A, P = a[\"hidden\"], a[\"output\"]\n", "    A, P, Z = a[\"hidden\"], a[\"output\"], a[\"Z\"]\n"),
               ("        dZ_hidden = dA * (A > 0)", "        dZ_hidden = dA * (Z > 0)")],
      blanks={3: "S = 1 / (1 + np.exp(-Z))\ndZ_hidden = dA * S * (1 - S)"}),
    A("compute_grad_loss", "loop", "the weight gradients as sums over samples",
      {1: "dW_output = sum(np.outer(dZ_output[:, n], np.append(A[:, n], 1.0)) for n in range(N))",
       4: "dW_hidden = sum(np.outer(dZ_hidden[:, n], np.append(X[:, n], 1.0)) for n in range(N))"}),
]

# The graded functions: (notebook, solution cell, the blanks that belong to the function).
FUNCTIONS = {
    "cce": ("layers", "cce", None),
    "cce_gradient": ("layers", "cce_gradient", None),
    "Softmax.forward": ("layers", "softmax", {0}),
    "Softmax.backward": ("layers", "softmax", {1, 2}),
    "Dense.backward": ("layers", "dense", None),
    "train_layers": ("layers", "train_layers", None),
    "softmax_loss (toy)": ("softmax_toy", "softmax_loss", None),
    "softmax_gradient (toy)": ("softmax_toy", "softmax_gradient", None),
    "softmax_loss_l2 (toy)": ("softmax_toy", "softmax_loss_l2", None),
    "softmax_gradient_l2 (toy)": ("softmax_toy", "softmax_gradient_l2", None),
    "mini_batches (toy)": ("softmax_toy", "mini_batches", None),
    "softmax (MNIST)": ("mnist_softmax", "softmax", None),
    "predict (MNIST)": ("mnist_softmax", "predict", None),
    "softmax_loss_and_gradient (MNIST)": ("mnist_softmax", "loss_and_gradient", None),
    "choose_hyperparameters and W_final (MNIST)": ("mnist_softmax", "choose_model", None),
    "forward (MLP)": ("mlp_backprop", "forward", None),
    "compute_grad_loss (MLP)": ("mlp_backprop", "compute_grad_loss", None),
}


def function_of(variant: Variant) -> str:
    """The graded function a variant is about."""
    for name, (notebook, cell, blanks) in FUNCTIONS.items():
        if variant.notebook == notebook and variant.cell == cell and (blanks is None or variant.blank in blanks):
            return name
    raise KeyError(f"{variant.notebook}/{variant.cell} blank {variant.blank}")


MUTANTS = LAYERS + TOY + MNIST + MLP
# scipy is no dependency of the course: the alternatives that use it count only where it is installed.
ALTERNATIVES = [variant for variant in LAYERS_ALTERNATIVES + TOY_ALTERNATIVES + MNIST_ALTERNATIVES + MLP_ALTERNATIVES
                if importlib.util.find_spec("scipy") is not None or "scipy" not in variant.name]
