"""The layer interface of the course's networks (samples are columns)."""
from __future__ import annotations

import numpy as np


class Layer:
    """A layer maps ``input`` (features x samples) to ``output`` and, given
    dL/d(output), returns dL/d(input), updating its own parameters with SGD."""

    def __init__(self):
        self.input = None
        self.output = None

    def forward(self, input: np.ndarray) -> np.ndarray:
        """input (D_in, N) -> output (D_out, N)."""
        raise NotImplementedError

    def backward(self, output_gradient: np.ndarray, learning_rate: float) -> np.ndarray:
        """output_gradient = dL/d(output) (D_out, N) -> dL/d(input) (D_in, N)."""
        raise NotImplementedError

    def params(self) -> dict[str, np.ndarray]:
        """Trainable parameters by name (empty for parameter-free layers)."""
        return {}

    def grads(self) -> dict[str, np.ndarray]:
        """Gradients of the last ``backward``, with the same keys as ``params()``."""
        return {}
