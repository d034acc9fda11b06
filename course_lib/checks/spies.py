"""Spy layers and loss stand-ins for checking a training loop, and ``loop_trace``, which runs a
student's loop on them and returns what happened as plain data (a dict of lists, tuples and
arrays). The visible check analyses the trace in the student's kernel; the grader's judge
analyses the same trace sent back by the grading kernel's probe."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.checks.common import replaced_globals
from course_lib.layer import Layer

LOOP_LEARNING_RATE = 0.25


class ShiftLayer(Layer):
    """First spy layer: forward adds 100 to its input (so the next layer can tell it was
    chained); backward records what it gets and returns zeros."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def forward(self, input):
        self.input = np.array(input, dtype=np.float64)
        self.log.append(("forward", "tag", self.input.copy()))
        self.output = self.input + 100.0  # kept like any layer's, for a loop that reads it
        return self.output.copy()

    def backward(self, output_gradient, learning_rate):
        self.log.append(("backward", "tag", np.array(output_gradient, dtype=np.float64), learning_rate))
        return np.zeros((2, np.shape(output_gradient)[1]))


class TableLayer(Layer):
    """Last spy layer: returns fixed probabilities ``P[:, sample]`` for the samples whose ids
    (row 0 of the input, minus 100) it receives; backward records and returns a marker."""

    def __init__(self, log, P):
        super().__init__()
        self.log, self.P, self.calls = log, P, 0

    def forward(self, input):
        self.input = input = np.array(input, dtype=np.float64)
        ids = np.rint(input[0] - 100).astype(int)
        self.log.append(("forward", "table", input.copy()))
        self.output = self.P[:, np.clip(ids, 0, self.P.shape[1] - 1)]
        return self.output.copy()

    def backward(self, output_gradient, learning_rate):
        self.calls += 1
        self.log.append(("backward", "table", np.array(output_gradient, dtype=np.float64), learning_rate))
        return np.full((2, np.shape(output_gradient)[1]), 1000.0 + self.calls)


def loop_data(num_samples: int, num_classes: int, rng: np.random.Generator):
    """X whose row 0 is the sample id, Y one-hot, and a fixed probability table P."""
    X = np.vstack([np.arange(num_samples, dtype=np.float64), rng.standard_normal(num_samples)])
    y = np.arange(num_samples) % num_classes
    Y = np.eye(num_classes)[:, y]
    P = rng.uniform(0.1, 1.0, (num_classes, num_samples))
    return X, Y, P / P.sum(axis=0)


class LossSpies:
    """Stand-ins for the notebook's ``cce`` and ``cce_gradient`` while the loop is checked, so
    that the loop's points do not depend on those answers: every call is logged and answered
    with a marker (the k-th loss is ``0.5 + k / 8``, the k-th gradient is filled with ``3 + k``)."""

    def __init__(self):
        self.losses: list[tuple[np.ndarray, np.ndarray]] = []
        self.gradients: list[tuple[np.ndarray, np.ndarray]] = []

    def cce(self, y, yhat):
        self.losses.append((np.array(y, dtype=np.float64), np.array(yhat, dtype=np.float64)))
        return 0.5 + len(self.losses) / 8

    def cce_gradient(self, y, yhat):
        self.gradients.append((np.array(y, dtype=np.float64), np.array(yhat, dtype=np.float64)))
        return np.full(np.shape(yhat), 3.0 + len(self.gradients))


@dataclass
class LossCalls:
    """The recorded calls of the loss stand-ins: lists of (y, yhat)."""

    losses: list
    gradients: list


def _run(train_layers, X, Y, P, epochs, batch_size, learning_rate, seed, spies):
    log: list = []
    network = [ShiftLayer(log), TableLayer(log, P)]
    stand_ins = dict(cce=spies.cce, cce_gradient=spies.cce_gradient) if spies else {}
    with replaced_globals(train_layers, **stand_ins), np.errstate(all="ignore"):
        result = train_layers(network, X.copy(), Y.copy(), epochs, batch_size, learning_rate, np.random.default_rng(seed))
    return result, log


def loop_trace(train_layers, *, num_samples=11, batch_size=3, epochs=3, seed=5) -> dict:
    """Run ``train_layers(network, X, Y, epochs, batch_size, learning_rate, rng)`` on the spy
    layers, with the loss stand-ins in place of the notebook's ``cce`` and ``cce_gradient`` (or,
    when the loop does not call them by those names, without): the returned value, the layers'
    log and the stand-ins' calls. The student's exceptions propagate."""
    X, Y, P = loop_data(num_samples, 3, np.random.default_rng(seed))
    spies = LossSpies()
    result, log = _run(train_layers, X, Y, P, epochs, batch_size, LOOP_LEARNING_RATE, seed, spies)
    spied = bool(spies.losses and spies.gradients)
    if not spied:
        result, log = _run(train_layers, X, Y, P, epochs, batch_size, LOOP_LEARNING_RATE, seed, None)
    return {"result": result, "log": log, "losses": spies.losses if spied else [],
            "gradients": spies.gradients if spied else [], "spied": spied}


def train_trace(known_good, train_layers, *, seed=4106, epochs=4, batch_size=16, learning_rate=0.2) -> dict:
    """Train softmax regression (``known_good``'s PlainDense into its PlainSoftmax, with its losses
    in place of the notebook's ``cce`` and ``cce_gradient``) on 40 samples of 3 classes with the
    student's loop: the returned losses and the trained weights."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 40)
    X = 3 * rng.standard_normal((5, 3))[:, labels] + rng.standard_normal((5, 40))
    Y = np.eye(3)[:, labels]
    network = [known_good.PlainDense(np.random.default_rng(1).normal(0.0, 0.3, (3, 6))), known_good.PlainSoftmax()]
    with replaced_globals(train_layers, cce=known_good.cce, cce_gradient=known_good.cce_gradient), np.errstate(all="ignore"):
        result = train_layers(network, X.copy(), Y.copy(), epochs, batch_size, learning_rate, np.random.default_rng(2))
    return {"result": result, "weights": network[0].weights}
