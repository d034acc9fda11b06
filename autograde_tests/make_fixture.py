"""Write the pipeline's own small fixture course: fixture_course/tiny/tiny.ipynb.

It follows notebooks/README.md (schema-3 metadata, `# BLANK:` markers, a SOLUTION region,
visible checks plus HIDDEN TESTS that coerce via course_lib.checks.common). Run it to
regenerate the committed notebook: `python autograde_tests/make_fixture.py`.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent


def meta(grade_id, grade=False, solution=False, locked=True, points=None):
    data = {"grade": grade, "solution": solution, "locked": locked, "task": False,
            "grade_id": grade_id, "schema_version": 3}
    if points is not None:
        data["points"] = points
    return {"nbgrader": data}


def code(source, **kwargs):
    return nbformat.v4.new_code_cell(source, metadata=meta(**kwargs))


def markdown(source, **kwargs):
    return nbformat.v4.new_markdown_cell(source, metadata=meta(**kwargs))


IMPORTS = """import numpy as np
from course_lib.checks.common import CheckFailure, as_float, as_float_array, close, passed"""

CCE = '''def cce(yhat, y):
    """Mean categorical cross-entropy of predictions yhat (classes x samples) and one-hot y."""
    EPS = 1e-12
    return -np.sum(y * np.log(np.clip(yhat, EPS, 1.0))) / y.shape[1]  # BLANK: return(?)'''

CCE_TESTS = '''yhat = np.array([[0.7, 0.2], [0.3, 0.8]])
y = np.array([[1.0, 0.0], [0.0, 1.0]])
value = as_float(cce(yhat, y), "cce(yhat, y)")
if abs(value - 0.2899) > 1e-3:
    raise CheckFailure(f"cce on the 2-sample example is {value:.4f}, expected 0.2899 (the mean over samples of -sum(y log yhat))")
passed("cce (visible)", 1)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(7)
logits = rng.normal(size=(4, 6))
probabilities = np.exp(logits) / np.exp(logits).sum(axis=0)
labels = np.eye(4)[:, rng.integers(0, 4, size=6)]
expected_cce_hidden = float(-np.sum(labels * np.log(probabilities)) / 6)
student_cce_hidden = as_float(cce(probabilities, labels), "cce on random 4-class data")
if not close(np.array(student_cce_hidden), np.array(expected_cce_hidden)):
    raise CheckFailure("cce on random 4-class data is wrong: average over samples (columns), not over all entries")
zero_case = as_float(cce(np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])), "cce with a zero probability")
if zero_case > 100:
    raise CheckFailure("cce must not see log(0): clip yhat away from zero")
passed("cce (hidden)", 2)
### END HIDDEN TESTS'''

SOFTMAX = '''def softmax(z):
    """Column-wise softmax of z (classes x samples), stable: subtract the column max."""
    shifted = z - np.max(z, axis=0, keepdims=True)  # BLANK: shifted = ?
    # BEGIN BLANK: e = np.exp(?)
    e = np.exp(shifted)
    # END BLANK
    return e / np.sum(e, axis=0, keepdims=True)  # BLANK: return(?)'''

SOFTMAX_TESTS = '''z = np.array([[1.0, 2.0], [3.0, 0.0]])
s = as_float_array(softmax(z), "softmax(z)", shape=(2, 2))
if not close(s.sum(axis=0), np.ones(2)):
    raise CheckFailure("the columns of softmax(z) must sum to 1")
passed("softmax (visible)", 1)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(3)
z_hidden = rng.normal(size=(5, 7)) * 3
expected_softmax_hidden = np.exp(z_hidden) / np.exp(z_hidden).sum(axis=0)
if not close(as_float_array(softmax(z_hidden), "softmax on random data", shape=(5, 7)), expected_softmax_hidden):
    raise CheckFailure("softmax on random data is wrong: normalise each column (axis=0)")
big = as_float_array(softmax(np.array([[1000.0], [1001.0]])), "softmax of large logits", shape=(2, 1))
if not close(big, np.array([[1 / (1 + np.e)], [np.e / (1 + np.e)]])):
    raise CheckFailure("softmax of large logits overflows: subtract the column max before exp")
passed("softmax (hidden)", 2)
### END HIDDEN TESTS'''

ACCURACY = '''def mean_accuracy(yhat, y):
    """Fraction of columns where argmax(yhat) equals argmax(y)."""
    ### BEGIN SOLUTION
    return float(np.mean(np.argmax(yhat, axis=0) == np.argmax(y, axis=0)))
    ### END SOLUTION'''

ACCURACY_TESTS = '''### BEGIN HIDDEN TESTS
yhat_acc = np.array([[0.9, 0.1, 0.4], [0.1, 0.9, 0.6]])
y_acc = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
if not close(np.array(as_float(mean_accuracy(yhat_acc, y_acc), "mean_accuracy")), np.array(2 / 3)):
    raise CheckFailure("mean_accuracy counts the columns whose largest entry matches the label")
passed("mean_accuracy (hidden)", 1)
### END HIDDEN TESTS'''


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        markdown("# Tiny: the grading pipeline's fixture\nFill in the `?` blanks.", grade_id="intro"),
        code(IMPORTS, grade_id="imports"),
        code(CCE, grade_id="cce", solution=True, locked=False),
        code(CCE_TESTS, grade_id="cce_tests", grade=True, points=2),
        code(SOFTMAX, grade_id="softmax", solution=True, locked=False),
        code(SOFTMAX_TESTS, grade_id="softmax_tests", grade=True, points=3),
        code(ACCURACY, grade_id="mean_accuracy", solution=True, locked=False),
        code(ACCURACY_TESTS, grade_id="mean_accuracy_tests", grade=True, points=1),
    ]
    return nb


if __name__ == "__main__":
    path = HERE / "fixture_course" / "tiny" / "tiny.ipynb"
    nbformat.write(build(), str(path))
    print(path)
