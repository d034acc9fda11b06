"""The stable softmax and the Softmax layer, its Jacobian backward beside its forward."""
from __future__ import annotations

import numpy as np

from course_lib.layer import Layer


def softmax(Z):
    """Column-wise softmax of scores Z (C, N): ``exp(z - max z) / sum exp(z - max z)``."""
    E = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return E / np.sum(E, axis=0, keepdims=True)


class Softmax(Layer):
    """a = softmax(z) per column; backward applies each sample's Jacobian ``diag(a) - a a^T``."""

    def forward(self, input):
        """input z (C, N) -> a = exp(z - max z) / sum exp(z - max z), per column."""
        self.input = input
        E = np.exp(input - np.max(input, axis=0, keepdims=True))
        self.output = E / np.sum(E, axis=0, keepdims=True)
        return self.output

    def backward(self, output_gradient, learning_rate):
        """dL/dz[:, n] = (diag(a_n) - a_n a_n^T) dL/da[:, n]: (C, N) -> (C, N)."""
        a = self.output
        # T[:, :, n] is the Jacobian da/dz of sample n: diag(a_n) - a_n a_n^T.
        T = np.einsum('in,ij->ijn', a, np.eye(a.shape[0])) - np.einsum('in,jn->ijn', a, a)
        return np.einsum('ijn,jn->in', T, output_gradient)

    def backward_cce(self, y):
        """Fused softmax + cross-entropy: dL/dz = yhat - y per sample (C, N), no Jacobians."""
        return self.output - y
