"""The layers notebook: it runs, its solutions are course_lib.solutions' code, its blanks are
well formed, and its visible checks pass on the reference and name the mistakes of wrong answers."""
from __future__ import annotations

import re

import numpy as np
import pytest

from course_lib.checks import layers as checks
from course_lib.checks.common import CheckFailure
from course_lib.solutions import losses, network
from course_lib.solutions.dense import Dense
from course_lib.solutions.losses import cce, cce_gradient
from course_lib.solutions.softmax import Softmax
from nbtools import (
    assert_blanks_well_formed,
    assert_nbgrader_metadata,
    assert_same_code,
    blanks_in,
    expect_mistake,
    graded_cells,
    hidden_part,
    nbgrader_meta,
    read_notebook,
    release,
    solution_cells,
)

NOTEBOOK = "layers/layers.ipynb"

# --- the notebook ----------------------------------------------------------------------------

@pytest.mark.notebook
def test_layers_notebook_runs_top_to_bottom(run_notebook):
    nb, seconds = run_notebook(NOTEBOOK)
    printed = "".join(o.get("text", "") for c in graded_cells(nb) for o in c.get("outputs", []))
    assert printed.count("\u2714") >= len(graded_cells(nb)), printed


def test_layers_notebook_solutions_are_the_reference():
    nb = read_notebook(NOTEBOOK)
    for name, reference in [
        ("cce", cce), ("cce_gradient", cce_gradient),
        ("Softmax.forward", Softmax.forward), ("Softmax.backward", Softmax.backward),
        ("Dense.__init__", Dense.__init__), ("Dense.forward", Dense.forward), ("Dense.backward", Dense.backward),
        ("Dense.params", Dense.params), ("Dense.grads", Dense.grads),
        ("train_layers", network.train_layers),
    ]:
        assert_same_code(nb, name, reference)
    eps = [c.source for c in solution_cells(nb) if "EPS = " in c.source]
    assert eps and f"EPS = {losses.EPS!r}" in eps[0]


def test_layers_notebook_blanks_and_metadata():
    nb = read_notebook(NOTEBOOK)
    assert assert_blanks_well_formed(nb) == 12
    assert_nbgrader_metadata(nb)
    graded = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in graded_cells(nb)}
    assert graded == {"cce_tests": 1, "cce_gradient_tests": 1, "softmax_forward_tests": 2,
                      "softmax_backward_tests": 3, "dense_backward_tests": 2, "train_layers_tests": 3}
    texts = [t for c in solution_cells(nb) for t in blanks_in(c.source)]
    for lecture in ["return(?)", "self.output = ?", "T = ?", "return np.einsum(?, T, output_gradient)",
                    "self.weights_gradient = np.dot(?, ?)", "X_batch = X[:, ?]", "Y_batch = Y[:, ?]"]:
        assert lecture in texts


def test_released_source_keeps_the_given_lines():
    nb = read_notebook(NOTEBOOK)
    dense = next(c.source for c in solution_cells(nb) if nbgrader_meta(c)["grade_id"] == "dense")
    released = release(dense)
    assert "np.dot(?, ?)" in released and "self.input.T" not in released
    assert "input_gradient = np.dot(self.weights[:, :-1].T, output_gradient)" in released
    softmax = next(c.source for c in solution_cells(nb) if nbgrader_meta(c)["grade_id"] == "softmax")
    assert "np.exp" not in release(softmax) and "        self.output = ?\n" in release(softmax)


# --- train_layers, the reference loop --------------------------------------------------------

def test_train_layers_takes_the_same_steps_as_network_train():
    """The lecture's list-of-layers loop and Network/train agree step for step."""
    data = np.random.default_rng(3)
    labels = data.integers(0, 3, 64)
    X = 3 * data.standard_normal((5, 3))[:, labels] + data.standard_normal((5, 64))
    Y = np.eye(3)[:, labels]
    layers = [Dense(5, 3, rng=np.random.default_rng(1)), Softmax()]
    net = network.Network([Dense(5, 3, rng=np.random.default_rng(1)), Softmax()])
    losses_ = network.train_layers(layers, X, Y, 30, 16, 0.1, np.random.default_rng(2))
    history = network.train(net, X, Y, 30, 16, 0.1, np.random.default_rng(2))
    np.testing.assert_allclose(losses_, history.loss, rtol=1e-12)
    np.testing.assert_allclose(layers[0].weights, net.layers[0].weights, rtol=1e-12)
    assert len(losses_) == 30 and losses_[-1] < 0.3 * losses_[0]


# --- the visible checks ----------------------------------------------------------------------

def test_visible_checks_pass_on_the_reference(capsys):
    checks.check_cce(cce)
    checks.check_cce_gradient(cce_gradient)
    checks.check_softmax_forward(Softmax)
    checks.check_softmax_backward(Softmax)
    checks.check_dense_backward(Dense)
    checks.check_training_loop(network.train_layers)
    checks.check_training_loop(network.train_layers, num_samples=10, batch_size=4, epochs=2, seed=41)
    assert capsys.readouterr().out.count("\u2714") == 7


def test_every_named_mistake_is_documented():
    import inspect

    source = inspect.getsource(checks)
    named = set(re.findall(r'"((?:cce|softmax|dense|loop)_[a-z_]+)"[,:]', source))
    assert named <= set(checks.MISTAKES), named - set(checks.MISTAKES)


def _clip(p):
    return np.clip(p, 1e-12, 1.0)


@pytest.mark.parametrize("mistake, answer", [
    ("cce_sum", lambda y, p: -np.sum(y * np.log(_clip(p)))),
    ("cce_per_sample", lambda y, p: -np.sum(y * np.log(_clip(p)), axis=0)),
    ("cce_sign", lambda y, p: np.sum(y * np.log(_clip(p))) / y.shape[1]),
    ("cce_log_of_y", lambda y, p: -np.sum(p * np.log(y)) / y.shape[1]),
    ("cce_log_of_zero", lambda y, p: -np.sum(y * np.log(p)) / y.shape[1]),
    ("cce_divides_by_classes", lambda y, p: -np.sum(y * np.log(_clip(p))) / y.shape[0]),
    ("cce_mean_over_all_entries", lambda y, p: -np.mean(y * np.log(_clip(p)))),
])
def test_cce_check_names_the_mistake(mistake, answer):
    expect_mistake(checks.check_cce, answer, mistake)


def test_cce_check_says_what_was_expected():
    message = expect_mistake(checks.check_cce, lambda y, p: 0.5, "wrong_value")
    assert "expected" in message and "0.500000" in message
    expect_mistake(checks.check_cce, lambda y, p: None, "wrong_type")


@pytest.mark.parametrize("mistake, answer", [
    ("cce_gradient_divided_by_n", lambda y, p: -y / _clip(p) / y.shape[1]),
    ("cce_gradient_sign", lambda y, p: y / _clip(p)),
    ("cce_gradient_fused", lambda y, p: p - y),
    ("cce_gradient_missing_y", lambda y, p: -1 / _clip(p)),
    ("cce_gradient_divides_by_zero", lambda y, p: -y / p),
    ("wrong_shape", lambda y, p: (-y / _clip(p)).T),
])
def test_cce_gradient_check_names_the_mistake(mistake, answer):
    expect_mistake(checks.check_cce_gradient, answer, mistake)


def _softmax_class(forward=None, backward=None):
    namespace = {}
    if forward:
        def forward_method(self, input):
            self.input = input
            self.output = forward(input)
            return self.output
        namespace["forward"] = forward_method
    if backward:
        namespace["backward"] = lambda self, g, learning_rate: backward(self.output, g)
    return type("StudentSoftmax", (Softmax,), namespace)


def _jacobians(a):
    return np.einsum('in,ij->ijn', a, np.eye(a.shape[0])) - np.einsum('in,jn->ijn', a, a)


@pytest.mark.parametrize("mistake, forward", [
    ("softmax_whole_matrix", lambda z: np.exp(z) / np.sum(np.exp(z))),
    ("softmax_wrong_axis", lambda z: np.exp(z - z.max(axis=1, keepdims=True))
     / np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)),
    ("softmax_overflow", lambda z: np.exp(z) / np.sum(np.exp(z), axis=0)),
    ("softmax_global_max", lambda z: np.exp(z - z.max()) / np.sum(np.exp(z - z.max()), axis=0)),
    ("wrong_value", lambda z: np.exp(z) / (np.exp(z).sum(axis=0) + 1)),
    ("wrong_shape", lambda z: np.exp(z - z.max(axis=0)).sum(axis=0)),
])
def test_softmax_forward_check_names_the_mistake(mistake, forward):
    expect_mistake(checks.check_softmax_forward, _softmax_class(forward=forward), mistake)


def test_softmax_forward_check_wants_self_output_and_an_untouched_input():
    class NotStored(Softmax):
        def forward(self, input):
            return Softmax().forward(input)

    class InPlace(Softmax):
        def forward(self, input):
            input -= input.max(axis=0)
            np.exp(input, out=input)
            input /= input.sum(axis=0)
            self.output = input
            return input

    expect_mistake(checks.check_softmax_forward, NotStored, "softmax_output_not_stored")
    expect_mistake(checks.check_softmax_forward, InPlace, "softmax_modifies_input")


@pytest.mark.parametrize("mistake, backward", [
    ("softmax_backward_diagonal_only", lambda a, g: a * (1 - a) * g),
    ("softmax_backward_ignores_output_gradient", lambda a, g: np.einsum('ijn->in', _jacobians(a))),
    ("softmax_backward_sign", lambda a, g: -np.einsum('ijn,jn->in', _jacobians(a), g)),
    ("softmax_backward_returns_jacobian", lambda a, g: _jacobians(a)),
    ("wrong_value", lambda a, g: np.einsum('ijn,in->jn', _jacobians(a), g[::-1])),
])
def test_softmax_backward_check_names_the_mistake(mistake, backward):
    expect_mistake(checks.check_softmax_backward, _softmax_class(backward=backward), mistake)


def test_softmax_backward_check_judges_backward_whatever_forward_does(capsys):
    """The state is set by the check: a wrong forward costs forward alone."""
    wrong_forward = _softmax_class(forward=lambda z: np.exp(z) / np.sum(np.exp(z)))
    checks.check_softmax_backward(wrong_forward)
    assert "\u2714 Softmax.backward" in capsys.readouterr().out


def test_a_softmax_right_to_float32_only_is_told_so():
    def in_float32(z):
        z = z.astype(np.float32)
        return np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)

    single = _softmax_class(forward=in_float32)
    message = expect_mistake(checks.check_softmax_forward, single, "wrong_value")
    assert "float32" in message and "float64" in message
    far_off = _softmax_class(forward=lambda z: np.exp(z) / (np.exp(z).sum(axis=0) + 1))
    assert "float32" not in expect_mistake(checks.check_softmax_forward, far_off, "wrong_value")


def test_a_backward_that_needs_what_only_its_forward_keeps_is_told_how_the_check_calls_it():
    """The checks set input and output and call backward alone: an attribute kept under another
    name by the student's forward is missing there, and the message says why."""
    class CachedSoftmax(Softmax):
        def forward(self, input):
            self.a = super().forward(input)
            return self.a

        def backward(self, output_gradient, learning_rate):
            return self.a * output_gradient - self.a * np.sum(self.a * output_gradient, axis=0)

    message = expect_mistake(checks.check_softmax_backward, CachedSoftmax, "raised")
    assert "AttributeError" in message and "without forward" in message and "self.output" in message
    message = expect_mistake(checks.check_softmax_backward, _softmax_class(backward=lambda a, g: 1 / 0), "raised")
    assert "without forward" not in message  # other errors are not explained that way


def test_a_dense_that_appends_the_ones_again_is_told_that_self_input_has_them():
    def ones_again(self, output_gradient, learning_rate):
        x1 = np.vstack([self.input, np.ones((1, self.input.shape[1]))])
        self.weights_gradient = output_gradient @ x1.T
        input_gradient = self.weights[:, :-1].T @ output_gradient
        self.weights -= learning_rate * self.weights_gradient
        return input_gradient

    message = expect_mistake(checks.check_dense_backward, _dense_class(ones_again), "wrong_shape")
    assert "one column too many" in message and "already holds the row of ones" in message


def _flattened_backward(self, output_gradient, learning_rate):
    """Right for one sample: a Jacobian the size of the whole (flattened) batch."""
    T = np.identity(np.size(self.output)) * self.output - np.outer(self.output, self.output)
    return np.dot(T, output_gradient)


def test_softmax_backward_check_names_a_jacobian_over_the_flattened_batch():
    answer = type("StudentSoftmax", (Softmax,), {"backward": _flattened_backward})
    message = expect_mistake(checks.check_softmax_backward, answer, "softmax_backward_flattened_jacobian")
    assert "correct for one sample" in message and "one C x C Jacobian per sample" in message
    assert "einsum" in message and "(20, 20)" in message


def _outer_backward(self, output_gradient, learning_rate):
    self.weights_gradient = np.outer(output_gradient, self.input)
    input_gradient = np.dot(self.weights[:, :-1].T, output_gradient)
    self.weights -= learning_rate * self.weights_gradient
    return input_gradient


def test_dense_backward_check_names_np_outer_on_a_batch_by_the_shapes_meaning():
    message = expect_mistake(checks.check_dense_backward, _dense_class(_outer_backward), "dense_weights_gradient_outer")
    assert "your weights gradient has shape (18, 30); it must have the shape of W, (3, 5)" in message
    assert "right for one sample" in message and "broadcast" not in message
    checks.dense_one_sample(_dense_class(_outer_backward))  # the one-sample part is right


def _dense_class(backward):
    return type("StudentDense", (Dense,), {"backward": backward})


def _transposed(self, g, lr):
    self.weights_gradient = np.dot(self.input, g.T)
    dx = np.dot(self.weights[:, :-1].T, g)
    self.weights -= lr * self.weights_gradient.T
    return dx


def _no_bias_column(self, g, lr):
    self.weights_gradient = np.dot(g, self.input[:-1].T)
    dx = np.dot(self.weights[:, :-1].T, g)
    self.weights[:, :-1] -= lr * self.weights_gradient
    return dx


def _divided(self, g, lr):
    self.weights_gradient = np.dot(g, self.input.T) / g.shape[1]
    dx = np.dot(self.weights[:, :-1].T, g)
    self.weights -= lr * self.weights_gradient
    return dx


def _update_first(self, g, lr):
    self.weights_gradient = np.dot(g, self.input.T)
    self.weights -= lr * self.weights_gradient
    return np.dot(self.weights[:, :-1].T, g)


def _plus(self, g, lr):
    self.weights_gradient = np.dot(g, self.input.T)
    dx = np.dot(self.weights[:, :-1].T, g)
    self.weights += lr * self.weights_gradient
    return dx


def _no_update(self, g, lr):
    self.weights_gradient = np.dot(g, self.input.T)
    return np.dot(self.weights[:, :-1].T, g)


def _bias_row_kept(self, g, lr):
    self.weights_gradient = np.dot(g, self.input.T)
    dx = np.dot(self.weights.T, g)
    self.weights -= lr * self.weights_gradient
    return dx


def _negated(self, g, lr):
    self.weights_gradient = -np.dot(g, self.input.T)
    dx = np.dot(self.weights[:, :-1].T, g)
    self.weights += lr * self.weights_gradient
    return dx


@pytest.mark.parametrize("mistake, backward", [
    ("dense_weights_gradient_transposed", _transposed),
    ("dense_weights_gradient_missing_bias", _no_bias_column),
    ("dense_weights_gradient_divided_by_n", _divided),
    ("dense_weights_gradient_sign", _negated),
    ("dense_updated_before_input_gradient", _update_first),
    ("dense_update_sign", _plus),
    ("dense_no_update", _no_update),
    ("dense_input_gradient_bias_row", _bias_row_kept),
])
def test_dense_backward_check_names_the_mistake(mistake, backward):
    expect_mistake(checks.check_dense_backward, _dense_class(backward), mistake)


def _loop(*, slicing="batch", reshuffle=True, every_batch=True, chain_forward=True, reverse=True,
          chain_backward=True, divide=True, pass_rate=True, reset=True, loss="weighted"):
    """train_layers with one mistake switched on."""

    def train(net, X, Y, epochs, batch_size, learning_rate, rng):
        N = X.shape[1]
        losses_, total_loss = [], 0.0
        fixed = network.epoch_batches(N, batch_size, rng)
        for epoch in range(epochs):
            if reset:
                total_loss = 0.0
            batches = network.epoch_batches(N, batch_size, rng) if reshuffle else fixed
            batch_losses = []
            for batch in (batches if every_batch else batches[:1]):
                columns = batches[0] if slicing == "first" else batch
                X_batch = X[:, columns]
                Y_batch = Y[:, columns] if slicing != "labels" else Y[:, np.roll(batch, 1)]
                output = X_batch
                for layer in net:
                    output = layer.forward(output if chain_forward else X_batch)
                batch_losses.append(cce(Y_batch, output))
                total_loss += batch_losses[-1] * len(batch)
                gradient = cce_gradient(Y_batch, output) / (len(batch) if divide else 1)
                for layer in (reversed(net) if reverse else net):
                    new = layer.backward(gradient, learning_rate if pass_rate else 0.01)
                    if chain_backward:
                        gradient = new
            losses_.append({"weighted": total_loss / N, "sum": sum(batch_losses),
                            "last": batch_losses[-1]}[loss])
        return losses_

    return train


@pytest.mark.parametrize("mistake, loop", [
    ("loop_one_step_per_epoch", _loop(every_batch=False)),
    ("loop_reuses_one_batch", _loop(slicing="first")),
    ("loop_never_reshuffles", _loop(reshuffle=False)),
    ("loop_forward_not_chained", _loop(chain_forward=False)),
    ("loop_backward_order", _loop(reverse=False)),
    ("loop_gradient_not_chained", _loop(chain_backward=False)),
    ("loop_labels_not_sliced_with_batch", _loop(slicing="labels")),
    ("loop_gradient_not_divided_by_batch_size", _loop(divide=False)),
    ("loop_learning_rate_not_passed", _loop(pass_rate=False)),
    ("loop_loss_not_reset_each_epoch", _loop(reset=False)),
    ("loop_loss_sum_of_batch_means", _loop(loss="sum")),
    ("loop_loss_last_batch_only", _loop(loss="last")),
])
def test_training_loop_check_names_the_mistake(mistake, loop):
    expect_mistake(checks.check_training_loop, loop, mistake)


def test_training_loop_check_reports_errors_and_wrong_returns():
    def crashes(net, X, Y, epochs, batch_size, learning_rate, rng):
        return cce(Y, net[0].forward(X[:, :3]))

    message = expect_mistake(checks.check_training_loop, crashes, "raised")
    assert "ValueError" in message
    expect_mistake(checks.check_training_loop, lambda *args: None, "loop_wrong_return")


def _per_sample_loop(reach_into_layer: bool):
    """A loop over the samples of each batch: per-sample SGD steps, or per-sample gradients added
    up in the loop (reaching into the first layer's weights) and never averaged."""

    def train(net, X, Y, epochs, batch_size, learning_rate, rng):
        N, losses_ = X.shape[1], []
        for epoch in range(epochs):
            total_loss = 0.0
            for batch in network.epoch_batches(N, batch_size, rng):
                summed = np.zeros_like(net[0].weights) if reach_into_layer else None
                for n in batch:
                    output = X[:, [n]]
                    for layer in net:
                        output = layer.forward(output)
                    total_loss += cce(Y[:, [n]], output)
                    gradient = cce_gradient(Y[:, [n]], output)
                    for layer in reversed(net):
                        gradient = layer.backward(gradient, 0.0 if reach_into_layer else learning_rate)
                    if reach_into_layer:
                        summed += net[0].weights_gradient
                if reach_into_layer:
                    net[0].weights -= learning_rate * summed
            losses_.append(total_loss / N)
        return losses_

    return train


def test_training_loop_check_names_a_loop_over_samples():
    message = expect_mistake(checks.check_training_loop, _per_sample_loop(False), "loop_steps_per_sample")
    assert "once per sample" in message and "right for batches of one sample" in message


def test_training_loop_check_says_which_rule_a_loop_reaching_into_a_layer_broke():
    message = expect_mistake(checks.check_training_loop, _per_sample_loop(True), "loop_reaches_into_layer")
    assert "forward" in message and "backward" in message and "`.weights`" in message
    for internal in ("ShiftLayer", "TableLayer", "_Tag", "AttributeError: '"):
        assert internal not in message


def test_a_replaced_cce_is_named_and_judged_by_what_it_returns():
    class RowsAsSamples:
        def __call__(self, y_true, y_pred):
            return float(np.mean(-np.sum(y_true * np.log(np.clip(y_pred, 1e-7, 1.0)), axis=1)))

    message = expect_mistake(checks.check_cce, RowsAsSamples(), "cce_divides_by_classes")
    assert "as if rows were samples" in message and "RowsAsSamples" in message and "__call__" in message
    message = expect_mistake(checks.check_cce, lambda y, yhat: -np.sum(y * np.log(_clip(yhat))), "cce_sum")
    assert "a lambda" in message and "right for one sample" in message


# --- the hidden tests can fail ---------------------------------------------------------------

def _run_hidden(nb, grade_id, **answers):
    namespace = {"np": np, "cce": cce, "cce_gradient": cce_gradient, "Softmax": Softmax, "Dense": Dense,
                 "train_layers": network.train_layers, "check_training_loop": checks.check_training_loop}
    namespace.update(answers)
    exec(compile(hidden_part(nb, grade_id), grade_id, "exec"), namespace)


def test_hidden_tests_pass_on_the_reference(capsys):
    nb = read_notebook(NOTEBOOK)
    for grade_id in ["cce_tests", "cce_gradient_tests", "softmax_forward_tests", "softmax_backward_tests",
                     "dense_backward_tests", "train_layers_tests"]:
        _run_hidden(nb, grade_id)


@pytest.mark.parametrize("grade_id, answers", [
    ("cce_tests", {"cce": lambda y, p: -np.sum(y * np.log(_clip(p))) / y.shape[0]}),
    ("cce_tests", {"cce": lambda y, p: -np.sum(y * np.log(p)) / y.shape[1]}),
    ("cce_gradient_tests", {"cce_gradient": lambda y, p: -y / _clip(p) / y.shape[1]}),
    ("softmax_forward_tests", {"Softmax": _softmax_class(forward=lambda z: np.exp(z) / np.exp(z).sum(axis=0))}),
    ("softmax_backward_tests", {"Softmax": _softmax_class(backward=lambda a, g: a * (1 - a) * g)}),
    ("dense_backward_tests", {"Dense": _dense_class(_update_first)}),
    ("train_layers_tests", {"train_layers": _loop(loss="sum")}),
])
def test_hidden_tests_fail_on_wrong_answers(grade_id, answers, capsys):
    nb = read_notebook(NOTEBOOK)
    with pytest.raises((AssertionError, CheckFailure, FloatingPointError, ValueError)):
        with np.errstate(all="ignore"):
            _run_hidden(nb, grade_id, **answers)


def test_hidden_tests_reject_look_alike_results():
    """A result object that claims equality with everything cannot pass the hidden tests."""
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), dtype=bool)

        def __sub__(self, other):
            return np.zeros(np.shape(other))

        def __array_wrap__(self, *args, **kwargs):
            return super().__array_wrap__(*args, **kwargs)

    nb = read_notebook(NOTEBOOK)
    with pytest.raises((AssertionError, CheckFailure)):
        _run_hidden(nb, "cce_gradient_tests", cce_gradient=lambda y, p: np.zeros_like(y).view(Liar))
