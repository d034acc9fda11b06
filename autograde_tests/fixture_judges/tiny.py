"""The judge of the pipeline's fixture notebook ``tiny``: its visible and hidden tests as
named checks run in the grader, with the reference answers they are planned with."""
from __future__ import annotations

import numpy as np

from course_lib.checks.common import CheckFailure, as_float, as_float_array, call, close
from course_lib.grading.judge import AssignmentJudge, CellJudge, Check


def reference_cce(yhat, y):
    return -np.sum(y * np.log(np.clip(yhat, 1e-12, 1.0))) / y.shape[1]


def reference_softmax(z):
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def reference_mean_accuracy(yhat, y):
    return float(np.mean(np.argmax(yhat, axis=0) == np.argmax(y, axis=0)))


def cce_example(student) -> None:
    yhat = np.array([[0.7, 0.2], [0.3, 0.8]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    value = as_float(call(None, student.cce, yhat, y), "cce(yhat, y)")
    if abs(value - 0.2899) > 1e-3:
        raise CheckFailure(f"cce on the 2-sample example is {value:.4f}, expected 0.2899 (the mean over samples of -sum(y log yhat))")


def cce_random(student) -> None:
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(4, 6))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=0)
    labels = np.eye(4)[:, rng.integers(0, 4, size=6)]
    expected = float(-np.sum(labels * np.log(probabilities)) / 6)
    got = as_float(call(None, student.cce, probabilities, labels), "cce on random 4-class data")
    if not close(np.array(got), np.array(expected)):
        raise CheckFailure("cce on random 4-class data is wrong: average over samples (columns), not over all entries")


def cce_zero(student) -> None:
    value = as_float(call(None, student.cce, np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])), "cce with a zero probability")
    if value > 100:
        raise CheckFailure("cce must not see log(0): clip yhat away from zero")
    if value < 10:
        raise CheckFailure("cce with a zero probability at the correct class must be large (-log of the clipped 1e-12)")


def softmax_columns(student) -> None:
    s = as_float_array(call(None, student.softmax, np.array([[1.0, 2.0], [3.0, 0.0]])), "softmax(z)", shape=(2, 2))
    if not close(s.sum(axis=0), np.ones(2)):
        raise CheckFailure("the columns of softmax(z) must sum to 1")


def softmax_random(student) -> None:
    z = np.random.default_rng(3).normal(size=(5, 7)) * 3
    expected = np.exp(z) / np.exp(z).sum(axis=0)
    if not close(as_float_array(call(None, student.softmax, z), "softmax on random data", shape=(5, 7)), expected):
        raise CheckFailure("softmax on random data is wrong: normalise each column (axis=0)")


def softmax_large(student) -> None:
    big = as_float_array(call(None, student.softmax, np.array([[1000.0], [1001.0]])), "softmax of large logits", shape=(2, 1))
    if not close(big, np.array([[1 / (1 + np.e)], [np.e / (1 + np.e)]])):
        raise CheckFailure("softmax of large logits overflows: subtract the column max before exp")


def accuracy(student) -> None:
    yhat = np.array([[0.9, 0.1, 0.4], [0.1, 0.9, 0.6]])
    y = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    if not close(np.array(as_float(call(None, student.mean_accuracy, yhat, y), "mean_accuracy")), np.array(2 / 3)):
        raise CheckFailure("mean_accuracy counts the columns whose largest entry matches the label")


JUDGE = AssignmentJudge(
    assignment="tiny",
    reference={"cce": reference_cce, "softmax": reference_softmax, "mean_accuracy": reference_mean_accuracy},
    cells={cell.grade_id: cell for cell in [
        CellJudge("cce_tests", (Check("the 2-sample example", cce_example), Check("random 4-class data", cce_random),
                                Check("a zero probability (clipping)", cce_zero))),
        CellJudge("softmax_tests", (Check("columns sum to 1", softmax_columns), Check("random data", softmax_random),
                                    Check("large logits (stability)", softmax_large))),
        CellJudge("mean_accuracy_tests", (Check("three samples", accuracy),)),
    ]},
)
