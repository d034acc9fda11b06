"""The MLP backprop notebook: it runs (gradient check, Armijo training with the live figure),
its solutions and building blocks are course_lib.solutions' code, its blanks and nbgrader cells
are well formed, its visible checks name the mistakes of wrong answers; and the live figure."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from course_lib.checks import mlp_backprop as checks
from course_lib.checks.common import CheckFailure
from course_lib.live_figure import LiveFigure
from course_lib.solutions import losses, mlp
from course_lib.solutions import softmax as softmax_module
from nbtools import (
    NOTEBOOKS,
    assert_notebook_conventions,
    assert_same_code,
    code_of,
    code_of_node,
    definitions,
    expect_mistake,
    graded_cells,
    execute_notebook,
    hidden_part,
    nbgrader_meta,
    printed,
    read_notebook,
)

NOTEBOOK = "mlp_backprop/mlp_backprop.ipynb"


# --- the notebook ----------------------------------------------------------------------------

@pytest.mark.notebook
def test_notebook_runs_checks_gradients_and_trains(run_notebook):
    nb, seconds = run_notebook(NOTEBOOK)
    out = printed(nb)
    assert out.count("\u2714") == len(graded_cells(nb)) == 2, out
    errors = {name: float(value) for name, value in re.findall(r"dW_(\w+) \(\d+, \d+\): relative error (\S+)", out)}
    assert set(errors) == {"hidden", "output"} and max(errors.values()) < 1e-6, errors
    train, test = (float(v) / 100 for v in re.search(r"train accuracy: ([\d.]+)%, test accuracy: ([\d.]+)%", out).groups())
    print(f"6 hidden units, 100 iterations: train {train:.2%}, test {test:.2%}")
    assert test > 0.8  # far above chance (10%) after 100 full-batch steps
    training = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "training")
    pngs = [o for o in training.outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1, "the live figure is one display, updated in place"
    # The progress bar (a widget: its text is in the saved widget state) shows the running loss.
    widgets = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    bar = " ".join(str(w.get("state", {}).get("value", "")).replace("\u2007", " ") for w in widgets.values())
    last_loss = re.search(r"loss ([\d.]+)$", out, re.M)[1]
    assert f"loss={last_loss}" in bar, bar
    assert "wide_test_accuracy" not in out  # the wide network is off by default


@pytest.mark.notebook
@pytest.mark.skipif(not os.environ.get("COURSE_LIB_WIDE_NETWORK"),
                    reason="trains the optional wide network (set COURSE_LIB_WIDE_NETWORK=1 to run)")
def test_optional_wide_network_reaches_97_percent(tmp_path):
    nb = read_notebook(NOTEBOOK)
    wide = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "wide_network")
    assert "TRAIN_WIDE_NETWORK = False" in wide.source
    wide.source = wide.source.replace("TRAIN_WIDE_NETWORK = False", "TRAIN_WIDE_NETWORK = True")
    path = tmp_path / "mlp_backprop.ipynb"
    nbformat.write(nb, path)
    executed, seconds = execute_notebook(path, timeout=900)
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", printed(executed))[1]) / 100
    print(f"wide network: test accuracy {accuracy:.2%}, notebook ran in {seconds:.1f} s")
    assert accuracy >= 0.97


def test_solutions_and_building_blocks_are_the_reference():
    nb = read_notebook(NOTEBOOK)
    assert_same_code(nb, "forward", mlp.forward)
    assert_same_code(nb, "compute_grad_loss", mlp.compute_grad_loss)
    given = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and not nbgrader_meta(cell).get("solution"):
            try:
                given.update(definitions(cell.source))
            except SyntaxError:
                continue
    for name, reference in [("softmax", softmax_module.softmax), ("cce", losses.cce), ("affine", mlp.affine),
                            ("activate", mlp.activate), ("init_params", mlp.init_params), ("loss", mlp.loss),
                            ("predict", mlp.predict)]:
        assert code_of_node(given[name]) == code_of(reference), f"{name} and {reference.__qualname__} have drifted apart"
    blocks = next(c.source for c in nb.cells if nbgrader_meta(c).get("grade_id") == "building_blocks")
    assert f"EPS = {losses.EPS!r}" in blocks


def test_blanks_and_nbgrader_cells():
    nb = read_notebook(NOTEBOOK)
    texts = assert_notebook_conventions(nb)
    assert texts == {
        "forward": ["A = activate(?, activation)", 'return {"hidden": A, "output": ?}'],
        "compute_grad_loss": ["dZ_output = ?", "dW_output = np.hstack([?, ?])", "dA = np.dot(?, dZ_output)",
                              "dZ_hidden = dA * ?", "dW_hidden = np.hstack([?, ?])"],
    }
    points = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in graded_cells(nb)}
    assert points == {"forward_tests": 2, "compute_grad_loss_tests": 4}


# --- the visible checks ----------------------------------------------------------------------

def test_visible_checks_pass_on_the_reference(capsys):
    checks.check_forward(mlp.forward)
    checks.check_compute_grad_loss(mlp.compute_grad_loss)
    assert capsys.readouterr().out.count("\u2714") == 2


def test_every_named_mistake_is_documented():
    import inspect

    named = set(re.findall(r'mistake\(\s*"([a-z0-9_]+)"', inspect.getsource(checks)))
    assert named <= set(checks.MISTAKES), named - set(checks.MISTAKES)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward_with(mistake=None):
    """A forward pass with one deliberate mistake (written out, not the reference)."""
    def forward(p, X, activation="logistic"):
        W_h, W_o = p["W"]["hidden"], p["W"]["output"]
        Z_h = W_h[:, 1:] @ X + W_h[:, :1] if mistake == "bias_first" else W_h[:, :-1] @ X + W_h[:, -1:]
        A = Z_h if mistake == "no_activation" else _sigmoid(Z_h)
        Z_o = W_o[:, :-1] @ A + W_o[:, -1:]
        E = np.exp(Z_o - Z_o.max(axis=0))
        P = {"whole": E / E.sum(), "rows": E / E.sum(axis=1, keepdims=True), "no_softmax": Z_o}.get(mistake, E / E.sum(axis=0))
        if mistake == "tuple":
            return A, P
        return {"hidden": A, "output": P}
    return forward


@pytest.mark.parametrize("mistake, answer", [
    ("hidden_no_activation", forward_with("no_activation")),
    ("bias_not_last_column", forward_with("bias_first")),
    ("softmax_whole_matrix", forward_with("whole")),
    ("softmax_wrong_axis", forward_with("rows")),
    ("output_not_softmax", forward_with("no_softmax")),
    ("forward_not_dict", forward_with("tuple")),
])
def test_forward_check_names_the_mistake(mistake, answer):
    expect_mistake(checks.check_forward, answer, mistake)


def test_the_written_out_answers_are_right():
    checks.check_forward(forward_with())
    checks.check_compute_grad_loss(grad_loss_with())


def grad_loss_with(mistake=None):
    """compute_grad_loss with one deliberate mistake (written out, not the reference)."""
    def compute_grad_loss(p, X, Y, activation="logistic"):
        N = X.shape[1]
        a = forward_with()(p, X)
        A, P = a["hidden"], a["output"]
        loss = -np.sum(Y * np.log(P)) / N
        dZ_o = {"no_1_over_N": P - Y, "sign": (Y - P) / N}.get(mistake, (P - Y) / N)
        if mistake == "labels_transposed":
            dZ_o = (P - Y.T) / N
        weights_part = np.outer(dZ_o, A) if mistake == "outer" else dZ_o @ A.T
        dW_o = np.hstack([weights_part, np.zeros((dZ_o.shape[0], 1)) if mistake == "output_bias" else dZ_o.sum(axis=1, keepdims=True)])
        if mistake == "mean_twice":
            dW_o = dW_o / N
        W_o = p["W"]["output"] if mistake == "with_bias_column" else p["W"]["output"][:, :-1]
        dA = W_o.T @ dZ_o
        dZ_h = {"no_derivative": dA, "derivative_a": dA * A}.get(mistake, dA * A * (1 - A))
        dW_h = np.hstack([dZ_h @ X.T, dZ_h.sum(axis=1, keepdims=True)])
        if mistake == "transposed":
            dW_o = dW_o.T
        if mistake == "no_bias_column":
            dW_h = dW_h[:, :-1]
        if mistake == "hidden_bias":
            dW_h[:, -1] = 0
        if mistake == "flat":
            return loss, {"hidden": dW_h, "output": dW_o}
        return loss * (N if mistake == "loss_summed" else 1), {"W": {"hidden": dW_h, "output": dW_o}}
    return compute_grad_loss


@pytest.mark.parametrize("mistake, answer", [
    ("loss_wrong", grad_loss_with("loss_summed")),
    ("gradient_missing_1_over_N", grad_loss_with("no_1_over_N")),
    ("gradient_sign", grad_loss_with("sign")),
    ("output_bias_gradient_wrong", grad_loss_with("output_bias")),
    ("hidden_backprop_through_bias", grad_loss_with("with_bias_column")),
    ("hidden_derivative_missing", grad_loss_with("no_derivative")),
    ("hidden_derivative_wrong", grad_loss_with("derivative_a")),
    ("hidden_bias_gradient_wrong", grad_loss_with("hidden_bias")),
    ("gradient_transposed", grad_loss_with("transposed")),
    ("gradient_missing_bias_column", grad_loss_with("no_bias_column")),
    ("grads_structure", grad_loss_with("flat")),
    # The batch-versus-one-sample family.
    ("per_sample_formula_on_batch", grad_loss_with("outer")),
    ("labels_transposed", grad_loss_with("labels_transposed")),
    ("gradient_divided_by_N_twice", grad_loss_with("mean_twice")),
])
def test_backprop_check_names_the_mistake(mistake, answer):
    expect_mistake(checks.check_compute_grad_loss, answer, mistake)


def test_a_per_sample_formula_is_named_with_what_is_right_and_what_to_change():
    message = expect_mistake(checks.check_compute_grad_loss, grad_loss_with("outer"), "per_sample_formula_on_batch")
    assert "right for one sample (N = 1)" in message and "np.dot(dZ_output, A.T)" in message
    assert "(18, 24)" in message  # np.outer of the (3, 6) and (4, 6) batch, by its meaning


def test_judge_gives_the_single_sample_check_to_a_per_sample_formula():
    from course_lib.grading.judge import LiveView
    from course_lib.judges.mlp_backprop import JUDGE

    cell = JUDGE.cells["compute_grad_loss_tests"]
    for mistake, passing in [("outer", {"a single sample (N = 1)"}),
                             ("no_1_over_N", {"the loss", "the hidden layer's gradient (given the output layer's)",
                                              "a single sample (N = 1)"}),
                             ("labels_transposed", set())]:
        namespace = {"compute_grad_loss": grad_loss_with(mistake), "forward": forward_with()}
        passed = set()
        for check in cell.checks:
            try:
                check.run(LiveView(namespace))
                passed.add(check.name)
            except CheckFailure:
                pass
        assert passed == passing, (mistake, passed)


def test_backprop_check_explains_a_shape_error():
    message = expect_mistake(checks.check_compute_grad_loss, grad_loss_with("with_bias_column"),
                             "hidden_backprop_through_bias")
    assert "could not be broadcast" in message and "bias" in message


# --- the hidden tests ------------------------------------------------------------------------

@pytest.mark.parametrize("grade_id, name, right, wrong", [
    ("forward_tests", "forward", mlp.forward, forward_with("rows")),
    ("compute_grad_loss_tests", "compute_grad_loss", mlp.compute_grad_loss, grad_loss_with("derivative_a")),
])
def test_hidden_tests_pass_the_reference_and_fail_a_wrong_answer(grade_id, name, right, wrong):
    code = hidden_part(read_notebook(NOTEBOOK), grade_id)
    exec(code, {"np": np, name: right})
    with pytest.raises(CheckFailure), np.errstate(all="ignore"):
        exec(code, {"np": np, name: wrong})


# --- the live figure -------------------------------------------------------------------------

def _figure():
    rng = np.random.default_rng(0)
    labels = np.arange(16) % 10
    return LiveFigure(rng.random((784, 16)), labels, display=False), labels


def test_live_figure_renders_headless_and_colours_titles_by_correctness():
    figure, labels = _figure()
    outputs = np.full((10, 16), 0.01)
    outputs[labels, np.arange(16)] = 0.91
    outputs[:, 3] = 0.01
    outputs[(labels[3] + 1) % 10, 3] = 0.91  # sample 3 predicted wrong
    figure.update([2.3, 1.5, 1.0], [2, 3], [0.5, 0.6], [0.45, 0.55], outputs)
    assert figure.png.startswith(b"\x89PNG")
    colours = [axes.title.get_color() for axes, _ in figure._stems]
    assert colours[3] == "tab:red" and colours.count("tab:green") == 15
    assert figure.loss_axes.get_yscale() == "log"
    np.testing.assert_allclose(figure._stems[0][1].markerline.get_ydata(), outputs[:, 0])
    assert figure.loss_axes.get_title() == "training loss: 1.0000"
    first = figure.png
    figure.update([2.3, 1.5, 1.0, 0.8], [2, 4], [0.5, 0.7], [0.45, 0.65], outputs)
    assert figure.png != first
    assert figure.loss_axes.get_title() == "training loss: 0.8000"


def test_live_figure_refuses_bad_shapes():
    figure, _ = _figure()
    with pytest.raises(ValueError, match="outputs"):
        figure.update([1.0], [1], [0.5], [0.5], np.zeros((10, 15)))
    with pytest.raises(ValueError, match="same length"):
        figure.update([1.0], [1, 2], [0.5], [0.5], np.zeros((10, 16)))
    with pytest.raises(ValueError, match="images"):
        LiveFigure(np.zeros((784, 9)), np.zeros(16), display=False)
    with pytest.raises(ValueError, match="labels"):
        LiveFigure(np.zeros((784, 16)), np.zeros(9), display=False)


def test_importing_the_live_figure_has_no_side_effects():
    # dict's own accessors: reading rcParams['backend'] through RcParams would itself import pyplot
    code = ("import matplotlib, sys\n"
            "params = lambda: {k: repr(dict.__getitem__(matplotlib.rcParams, k)) for k in dict.keys(matplotlib.rcParams)}\n"
            "before = params()\n"
            "import course_lib.live_figure\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n"
            "assert params() == before\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=NOTEBOOKS)
