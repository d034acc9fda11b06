"""What a student sees when a visible check fails in a real kernel: the check's message, with
no traceback into course_lib's own code."""
from __future__ import annotations

import nbformat
from nbclient import NotebookClient


def test_a_failing_check_shows_its_message_without_a_traceback(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_lib.checks.layers import check_cce"),
        nbformat.v4.new_code_cell("def cce(y, yhat):\n    return -np.sum(y * np.log(np.clip(yhat, 1e-12, 1.0)))\n\ncheck_cce(cce)"),
        nbformat.v4.new_code_cell("1 / 0"),
    ])
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    error = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    assert error.ename == "CheckFailure" and "cce_sum" not in error.evalue
    assert "divide by the number of samples" in error.evalue
    assert error.traceback == [f"CheckFailure: {error.evalue}"]
    assert not any("course_lib" in line or "File " in line for line in error.traceback)
    # Other errors keep IPython's ordinary traceback.
    other = next(o for o in nb.cells[2].outputs if o.output_type == "error")
    assert other.ename == "ZeroDivisionError" and len(other.traceback) > 1


INTERNAL = ("ShiftLayer", "TableLayer", "_Tag", "PlainDense", "PlainSoftmax", "LossSpies", "StandIn", "course_lib/",
            "checks/layers.py", "could not be broadcast")


def _shown(output) -> str:
    """What JupyterLab shows of an output: the text, or an error's traceback lines."""
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return output.get("text", "") or str(output.get("data", {}).get("text/plain", ""))


def test_visible_checks_say_errors_in_words_without_internal_names(tmp_path):
    """An unfilled blank, a missing package, a loop reaching into a layer, np.outer on a batch and a
    Jacobian over the flattened batch: each shown in words, with nothing of course_lib's insides."""
    loop = ("def train_layers(network, X, Y, epochs, batch_size, learning_rate, rng):\n"
            "    for epoch in range(epochs):\n"
            "        network[0].weights -= learning_rate\n"
            "    return [0.0] * epochs\n\ncheck_training_loop(train_layers)")
    dense = ("class Outer(Dense):\n    def backward(self, output_gradient, learning_rate):\n"
             "        self.weights_gradient = np.outer(output_gradient, self.input)\n"
             "        self.weights -= learning_rate * self.weights_gradient\n"
             "        return self.weights[:, :-1].T @ output_gradient\n\ncheck_dense_backward(Outer)")
    softmax = ("class Flat(Softmax):\n    def backward(self, output_gradient, learning_rate):\n"
               "        T = np.identity(np.size(self.output)) * self.output - np.outer(self.output, self.output)\n"
               "        return np.dot(T, output_gradient)\n\ncheck_softmax_backward(Flat)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in [
        "import numpy as np\nfrom course_lib.checks.layers import check_cce, check_dense_backward, check_softmax_backward, "
        "check_training_loop\nfrom course_lib.solutions.dense import Dense\nfrom course_lib.solutions.softmax import Softmax",
        "def cce(y, yhat):\n    return(?)",
        "check_cce(cce)",
        "import tensorflow_is_not_here as tf",
        loop, dense, softmax,
    ]])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = ["\n".join(_shown(o) for o in cell.outputs) for cell in nb.cells]
    assert "blank not filled yet: `cce` is not defined" in shown[2] and "NameError" not in shown[2], shown[2]
    assert "the course environment has no package `tensorflow_is_not_here`" in shown[3], shown[3]
    assert "reached into a layer" in shown[4] and "forward" in shown[4], shown[4]
    assert "your weights gradient has shape (18, 30); it must have the shape of W, (3, 5)" in shown[5], shown[5]
    assert "your Jacobian is correct for one sample" in shown[6], shown[6]
    for text in shown[2:]:
        assert "Traceback" not in text and 'File "' not in text, text
        for internal in INTERNAL:
            assert internal not in text, (internal, text)
    # The failing cells still fail (nbgrader's autograde and Validate see an error).
    assert all(any(o.output_type == "error" for o in cell.outputs) for cell in nb.cells[2:])


def test_validate_and_plain_nbgrader_feedback_say_errors_in_words():
    """``messages.error_message`` (validate, plain nbgrader's feedback): raw errors translated,
    internal names and course_lib paths left out."""
    from course_lib.grading.messages import error_message

    def cell(ename, evalue):
        return {"outputs": [{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}]}

    said = error_message(cell("NameError", "name 'cce' is not defined"))
    assert said.startswith("blank not filled yet: `cce` is not defined") and "NameError" not in said
    said = error_message(cell("ModuleNotFoundError", "No module named 'torch'"))
    assert "the course environment has no package `torch`" in said and "NumPy" in said
    said = error_message(cell("AttributeError", "'ShiftLayer' object has no attribute 'weights'"))
    assert "reached into a layer" in said and "ShiftLayer" not in said
    said = error_message(cell("ValueError", "operands could not be broadcast together with shapes (20,20) (4,5)"))
    assert "(20, 20) and (4, 5)" in said and "broadcast" not in said
    said = error_message(cell("TypeError", "PlainDense.forward() takes 2 positional arguments but 3 were given "
                                           "(/grading/tree/course_lib/checks/spies.py:12)"))
    assert "PlainDense" not in said and "course_lib/" not in said
