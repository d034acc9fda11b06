"""Elementwise activation layers: logistic (sigmoid) and ReLU."""
from __future__ import annotations

import numpy as np

from course_lib.layer import Layer


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic ``1 / (1 + exp(-z))``, computed without overflow."""
    z = np.asarray(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Layer):
    """a = sigmoid(z); dL/dz = dL/da * a (1 - a)."""

    def forward(self, input):
        self.input = input
        self.output = sigmoid(input)
        return self.output

    def backward(self, output_gradient, learning_rate):
        return output_gradient * self.output * (1 - self.output)


class ReLU(Layer):
    """a = max(z, 0); dL/dz = dL/da * [z > 0]."""

    def forward(self, input):
        self.input = input
        self.output = np.maximum(input, 0)
        return self.output

    def backward(self, output_gradient, learning_rate):
        return output_gradient * (self.input > 0)
