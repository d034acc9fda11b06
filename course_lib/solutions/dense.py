"""Fully connected layer with the bias absorbed as the last column of ``weights``."""
from __future__ import annotations

import numpy as np

from course_lib.initializers import glorot_weights
from course_lib.layer import Layer


class Dense(Layer):
    """z = W [x; 1]: weights (output_size, input_size + 1), input (input_size, N)."""

    def __init__(self, input_size, output_size, *, rng, dtype=np.float64):
        super().__init__()
        self.weights = glorot_weights(output_size, input_size, rng, dtype)
        self.weights_gradient = np.zeros_like(self.weights)

    def forward(self, input):
        self.input = np.vstack([input, np.ones((1, input.shape[1]), dtype=input.dtype)])
        self.output = np.dot(self.weights, self.input)
        return self.output

    def backward(self, output_gradient, learning_rate):
        """dW = dL/dz [x; 1]^T; returns dL/dx = W[:, :-1]^T dL/dz (bias row dropped), then W -= lr dW."""
        self.weights_gradient = np.dot(output_gradient, self.input.T)
        input_gradient = np.dot(self.weights[:, :-1].T, output_gradient)
        self.weights -= learning_rate * self.weights_gradient
        return input_gradient

    def params(self):
        return {"weights": self.weights}

    def grads(self):
        return {"weights": self.weights_gradient}
