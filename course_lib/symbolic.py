"""The softmax loss of the lecture's worked example, derived with sympy.

Three images with four features each (image k has class k), a symbolic weight matrix ``W``
(3x4) and bias ``b`` (3x1), raw scores ``z = W x + b``, each image's loss
``L_n = -log softmax(z_n)[y_n]`` and the average ``L = (1/N) sum_n L_n``. From there:
substitution and a ``lambdify``-ed evaluation, the gradient by ``sp.diff`` against the
vectorised ``(P - Y) X^T / N`` (and ``(P - Y) 1 / N`` for the bias), and the softmax Jacobian
``diag(a) - a a^T``. The NumPy side here is written out independently (stable softmax) so the
two can be compared.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

#: The lecture's images, one per row here (each becomes a column of X): image k is of class k.
LECTURE_IMAGES = (
    (26, 100, 90, 80),
    (37, 58, 120, 96),
    (12, 30, 46, 54),
)
LECTURE_LABELS = (0, 1, 2)


def lecture_data() -> tuple[np.ndarray, np.ndarray]:
    """The worked example as arrays: ``X`` (4, 3) features x images (float64), ``y`` (3,) classes."""
    return np.array(LECTURE_IMAGES, dtype=np.float64).T, np.array(LECTURE_LABELS)


def weight_symbols(num_classes: int, num_features: int) -> tuple[sp.Matrix, sp.Matrix]:
    """Symbolic ``W`` (C, D) with entries ``w_{ij}`` and ``b`` (C, 1) with entries ``b_{i}`` (1-based)."""
    sep = "," if max(num_classes, num_features) > 9 else ""
    W = sp.Matrix(num_classes, num_features, lambda i, j: sp.Symbol(f"w_{{{i + 1}{sep}{j + 1}}}", real=True))
    b = sp.Matrix(num_classes, 1, lambda i, _: sp.Symbol(f"b_{{{i + 1}}}", real=True))
    return W, b


def symbolic_softmax(z: sp.Matrix) -> sp.Matrix:
    """``a_i = exp(z_i) / sum_j exp(z_j)`` for a column ``z`` (C, 1)."""
    exps = z.applyfunc(sp.exp)
    return exps / sum(exps)


@dataclass(frozen=True)
class SoftmaxLossDerivation:
    """The worked example in sympy.

    ``X`` (D, N) numbers, ``y`` (N,) classes, ``W`` (C, D) and ``b`` (C, 1) symbols,
    ``Z = W X + b 1^T`` (C, N), ``image_losses[n] = -log softmax(Z[:, n])[y_n]``,
    ``loss = mean(image_losses)``."""

    X: sp.Matrix
    y: tuple[int, ...]
    W: sp.Matrix
    b: sp.Matrix
    Z: sp.Matrix
    image_losses: tuple[sp.Expr, ...]
    loss: sp.Expr
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def num_classes(self) -> int:
        return self.W.shape[0]

    @property
    def parameters(self) -> list[sp.Symbol]:
        """All symbols: W row by row, then b."""
        return list(self.W) + list(self.b)

    def values(self, W, b) -> dict:
        """Substitution dict ``{w_ij: W[i, j], b_i: b[i]}`` from arrays W (C, D), b (C,) or (C, 1)."""
        W, b = _check_parameters(W, b, self.W.shape)
        return dict(zip(self.parameters, [sp.Float(v, 30) for v in np.concatenate([W.ravel(), b.ravel()])]))

    def substitute(self, W, b, expression=None) -> float:
        """Evaluate ``expression`` (default the average loss) by substitution, 30 digits, as a float."""
        expression = self.loss if expression is None else expression
        return float(sp.N(expression.subs(self.values(W, b)), 30))

    def loss_function(self):
        """A fast NumPy function ``f(W, b) -> float`` (``sp.lambdify``). It evaluates the formula as
        written (no max subtraction), so keep the scores below ~700 to avoid overflow."""
        if "loss" not in self._cache:
            f = sp.lambdify(self.parameters, self.loss, modules="numpy", cse=True)
            self._cache["loss"] = lambda W, b: float(f(*_flat(W, b, self.W.shape)))
        return self._cache["loss"]

    def gradient(self) -> tuple[sp.Matrix, sp.Matrix]:
        """``(dL/dW (C, D), dL/db (C, 1))`` by ``sp.diff`` of the average loss, entry by entry."""
        if "gradient" not in self._cache:
            dW = self.W.applyfunc(lambda s: sp.diff(self.loss, s))
            db = self.b.applyfunc(lambda s: sp.diff(self.loss, s))
            self._cache["gradient"] = (dW, db)
        return self._cache["gradient"]

    def gradient_function(self):
        """A NumPy function ``g(W, b) -> (dW (C, D), db (C, 1))`` from the symbolic gradient."""
        if "gradient_fn" not in self._cache:
            dW, db = self.gradient()
            f = sp.lambdify(self.parameters, [dW, db], modules="numpy", cse=True)

            def g(W, b):
                dW_value, db_value = f(*_flat(W, b, self.W.shape))
                return np.asarray(dW_value, dtype=np.float64), np.asarray(db_value, dtype=np.float64)

            self._cache["gradient_fn"] = g
        return self._cache["gradient_fn"]

    def probabilities(self) -> sp.Matrix:
        """``P`` (C, N): the softmax of each column of ``Z``, symbolic."""
        return sp.Matrix.hstack(*[symbolic_softmax(self.Z[:, n]) for n in range(self.Z.shape[1])])

    def vectorized_gradient(self) -> tuple[sp.Matrix, sp.Matrix]:
        """The lecture's formula in sympy: ``((P - Y) X^T / N, (P - Y) 1 / N)``."""
        N = self.Z.shape[1]
        E = self.probabilities() - one_hot_matrix(self.y, self.num_classes)
        return E * self.X.T / N, E * sp.ones(N, 1) / N

    def gradient_in_probabilities(self) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
        """The vectorised formula with the probabilities as symbols ``p_{kn}`` (readable):
        returns ``(P symbols (C, N), dL/dW, dL/db)``."""
        C, N = self.Z.shape
        P = sp.Matrix(C, N, lambda k, n: sp.Symbol(f"p_{{{k + 1}{n + 1}}}"))
        E = P - one_hot_matrix(self.y, C)
        return P, E * self.X.T / N, E * sp.ones(N, 1) / N

    def symbolic_gradient_matches(self) -> bool:
        """True when ``sp.simplify(sp.diff gradient - vectorised formula)`` is zero in every entry
        (an identity in the symbols, not a check at points)."""
        dW, db = self.gradient()
        vW, vb = self.vectorized_gradient()
        difference = sp.Matrix.hstack(dW - vW, db - vb).applyfunc(sp.simplify)
        return difference.is_zero_matrix is True


def _check_parameters(W, b, shape) -> tuple[np.ndarray, np.ndarray]:
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.shape != shape:
        raise ValueError(f"W must have shape {shape} (classes x features), got {W.shape}")
    if b.shape not in ((shape[0],), (shape[0], 1)):
        raise ValueError(f"b must have shape ({shape[0]}, 1) or ({shape[0]},), got {b.shape}")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise ValueError("W and b must be finite")
    return W, b.reshape(shape[0], 1)


def _flat(W, b, shape) -> np.ndarray:
    W, b = _check_parameters(W, b, shape)
    return np.concatenate([W.ravel(), b.ravel()])


def one_hot_matrix(y, num_classes: int) -> sp.Matrix:
    """One-hot labels as a sympy Matrix (C, N): column n has a 1 in row ``y[n]``."""
    return sp.Matrix(num_classes, len(y), lambda i, n: 1 if y[n] == i else 0)


def softmax_loss_derivation(X=None, y=None, num_classes: int | None = None) -> SoftmaxLossDerivation:
    """Build the symbolic loss for images ``X`` (D, N) with classes ``y`` (N,).

    Defaults to the lecture's 3 images x 4 features, image k of class k; ``num_classes``
    defaults to ``max(y) + 1``."""
    if X is None and y is None:
        X, y = lecture_data()
    elif X is None or y is None:
        raise ValueError("give both X and y, or neither for the lecture's example")
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be features x images (2-D), got shape {X.shape}")
    y = tuple(int(v) for v in np.asarray(y).ravel())
    if len(y) != X.shape[1]:
        raise ValueError(f"y has {len(y)} labels but X has {X.shape[1]} images (columns)")
    num_classes = max(y) + 1 if num_classes is None else int(num_classes)
    if min(y) < 0 or max(y) >= num_classes:
        raise ValueError(f"labels must be in 0..{num_classes - 1}, got {y}")
    # Exact rationals keep the printed formulas free of float noise.
    Xs = sp.Matrix(X.shape[0], X.shape[1], lambda i, j: sp.nsimplify(X[i, j]))
    W, b = weight_symbols(num_classes, X.shape[0])
    Z = W * Xs + b * sp.ones(1, X.shape[1])
    image_losses = tuple(-sp.log(symbolic_softmax(Z[:, n])[y[n]]) for n in range(len(y)))
    loss = sp.Add(*image_losses) / len(y)
    return SoftmaxLossDerivation(X=Xs, y=y, W=W, b=b, Z=Z, image_losses=image_losses, loss=loss)


# --- the NumPy side, written out here for the comparison -------------------------------------

def numpy_softmax(Z: np.ndarray) -> np.ndarray:
    """Column softmax (C, N) with the column max subtracted first."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def numpy_softmax_loss(W, b, X, y) -> tuple[float, np.ndarray, np.ndarray]:
    """Average softmax loss and its gradient in NumPy: W (C, D), b (C, 1), X (D, N), y (N,).

    ``P = softmax(W X + b)``, ``L = -mean log P[y_n, n]``, ``dW = (P - Y) X^T / N``,
    ``db = (P - Y) 1 / N``. Returns ``(L, dW, db)``."""
    W, b = _check_parameters(W, b, np.shape(W))
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).ravel()
    N = X.shape[1]
    P = numpy_softmax(W @ X + b)
    Y = np.zeros_like(P)
    Y[y, np.arange(N)] = 1.0
    loss = -np.mean(np.log(np.clip(P[y, np.arange(N)], 1e-300, 1.0)))
    E = P - Y
    return float(loss), E @ X.T / N, E.sum(axis=1, keepdims=True) / N


def compare_with_numpy(derivation: SoftmaxLossDerivation, W, b) -> dict[str, float]:
    """The check students can run: symbolic loss and ``sp.diff`` gradient against NumPy at (W, b).

    Returns the values and the largest absolute differences: ``loss_sympy``, ``loss_numpy``,
    ``loss_difference``, ``dW_difference``, ``db_difference``."""
    W, b = _check_parameters(W, b, derivation.W.shape)
    X = np.array(derivation.X.tolist(), dtype=np.float64)
    loss_np, dW_np, db_np = numpy_softmax_loss(W, b, X, derivation.y)
    loss_sym = derivation.loss_function()(W, b)
    dW_sym, db_sym = derivation.gradient_function()(W, b)
    return {
        "loss_sympy": loss_sym,
        "loss_numpy": loss_np,
        "loss_difference": abs(loss_sym - loss_np),
        "dW_difference": float(np.max(np.abs(dW_sym - dW_np))),
        "db_difference": float(np.max(np.abs(db_sym - db_np))),
    }


def random_parameters(rng: np.random.Generator, num_classes: int = 3, num_features: int = 4,
                      scale: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """``W`` (C, D) and ``b`` (C, 1) drawn from ``scale * N(0, 1)`` with ``rng``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a np.random.Generator, e.g. np.random.default_rng(0)")
    return scale * rng.standard_normal((num_classes, num_features)), scale * rng.standard_normal((num_classes, 1))


# --- the softmax Jacobian ---------------------------------------------------------------------

@dataclass(frozen=True)
class SoftmaxJacobian:
    """``z`` (C, 1) symbols, ``a = softmax(z)``, ``jacobian[i, j] = da_i/dz_j`` by differentiation and
    ``formula = diag(a) - a a^T``; ``difference`` is their simplified difference (zeros)."""

    z: sp.Matrix
    a: sp.Matrix
    jacobian: sp.Matrix
    formula: sp.Matrix
    difference: sp.Matrix

    @property
    def matches(self) -> bool:
        return self.difference.is_zero_matrix is True


def softmax_jacobian(num_classes: int = 3) -> SoftmaxJacobian:
    """Differentiate ``a = softmax(z)`` for ``num_classes`` classes and compare with ``diag(a) - a a^T``."""
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes}")
    z = sp.Matrix(int(num_classes), 1, lambda i, _: sp.Symbol(f"z_{i + 1}", real=True))
    a = symbolic_softmax(z)
    jacobian = a.jacobian(z)
    formula = sp.diag(*a) - a * a.T
    difference = (jacobian - formula).applyfunc(sp.simplify)
    return SoftmaxJacobian(z=z, a=a, jacobian=jacobian, formula=formula, difference=difference)

