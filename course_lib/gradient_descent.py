"""Gradient descent on a sympy expression in one or two symbols, and the learning-rate study.

``w_{k+1} = w_k - learning_rate * grad L(w_k)``, stopped when ``|grad L(w_k)| <= tol`` or after
``max_iterations`` steps. The gradient is derived with ``sp.diff`` and evaluated with a
``lambdify``-ed NumPy function, so any smooth expression works (default: the lecture's
``(w + 2)**2 + 3``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

w = sp.Symbol("w")
w1, w2 = sp.symbols("w1 w2")

#: The lecture's 1D loss, minimum 3 at w = -2.
DEFAULT_LOSS_1D = (w + 2) ** 2 + 3
#: The lecture's 2D loss, minimum 0 at (2, -3).
DEFAULT_LOSS_2D = (w1 - 2) ** 2 + (w2 + 3) ** 2
#: The lecture's learning rates: too slow, good, oscillates then converges, oscillates forever.
LECTURE_LEARNING_RATES = (1e-5, 0.1, 0.95, 1.0)


def as_expression(expression, num_symbols: int | None = None, symbols=None):
    """Parse ``expression`` (sympy expression or string) and order its symbols.

    Returns ``(expr, symbols)``; ``symbols`` defaults to the free symbols sorted by name.
    Raises ValueError when the number of symbols is not ``num_symbols``."""
    if isinstance(expression, str):
        try:
            expression = sp.sympify(expression)
        except (sp.SympifyError, SyntaxError, TypeError) as error:
            raise ValueError(f"cannot parse the loss expression {expression!r}: {error}") from None
    if not isinstance(expression, sp.Expr):
        raise TypeError(f"the loss must be a sympy expression or a string, got {type(expression).__name__}")
    if symbols is None:
        symbols = tuple(sorted(expression.free_symbols, key=lambda s: s.name))
    else:
        symbols = (symbols,) if isinstance(symbols, sp.Symbol) else tuple(symbols)
        extra = expression.free_symbols - set(symbols)
        if extra:
            names = ", ".join(sorted(s.name for s in extra))
            raise ValueError(f"the loss has symbols that are not variables: {names}; give them values first")
    if num_symbols is not None and len(symbols) != num_symbols:
        names = ", ".join(s.name for s in symbols) or "none"
        raise ValueError(f"expected a loss in {num_symbols} symbol(s), got {len(symbols)} ({names}): {expression}")
    if not symbols:
        raise ValueError(f"the loss {expression} has no symbol to descend in")
    return expression, symbols


@dataclass(frozen=True)
class DescentResult:
    """The run: ``iterates`` (K+1, d) with the start first, ``losses`` (K+1,), ``gradients`` (K+1, d).

    ``converged`` is True when the last gradient met ``|g| <= tol``; ``iterations`` = K steps."""

    expression: sp.Expr
    symbols: tuple
    learning_rate: float
    tol: float
    max_iterations: int
    iterates: np.ndarray
    losses: np.ndarray
    gradients: np.ndarray
    converged: bool

    @property
    def iterations(self) -> int:
        return len(self.iterates) - 1

    @property
    def gradient_norms(self) -> np.ndarray:
        """``|grad L(w_k)|`` for every iterate, shape (K+1,)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return np.linalg.norm(self.gradients, axis=1)

    @property
    def final(self) -> np.ndarray:
        return self.iterates[-1]

    @property
    def oscillates(self) -> bool:
        """True when some gradient component changes sign at least twice in a row (the iterate
        jumps across the valley and back)."""
        if self.iterations < 2:
            return False
        signs = np.sign(self.gradients)
        flips = signs[1:] * signs[:-1] < 0
        return bool(np.any(flips[1:] & flips[:-1]))

    @property
    def behaviour(self) -> str:
        """One phrase for the study's table."""
        if not np.all(np.isfinite(self.iterates)) or not np.all(np.isfinite(self.losses)):
            return "diverges (overflow)"
        if self.converged:
            return "oscillates, then converges" if self.oscillates else "converges"
        if self.oscillates:
            if self.gradient_norms[-1] >= 0.999 * self.gradient_norms[0]:
                return "oscillates, never converges" if self.losses[-1] <= 1.001 * self.losses[0] else "diverges"
            return "oscillates, not yet converged"
        if self.losses[-1] > self.losses[0]:
            return "diverges"
        return "too slow (not converged)"


def gradient_function(expression, symbols):
    """NumPy functions ``(loss(*w), grad(*w))`` from sympy: the gradient is ``[dL/dw_i]``."""
    loss = sp.lambdify(symbols, expression, modules="numpy")
    grad = sp.lambdify(symbols, [sp.diff(expression, s) for s in symbols], modules="numpy")
    return loss, grad


def gradient_descent(
    expression=None,
    start=3.0,
    learning_rate: float = 0.1,
    *,
    tol: float = 1e-3,
    max_iterations: int = 100,
    symbols=None,
) -> DescentResult:
    """Run ``w_{k+1} = w_k - learning_rate * grad L(w_k)`` from ``start``.

    ``expression``: sympy expression (or string) in 1 or 2 symbols, default ``(w + 2)**2 + 3``;
    ``start``: float or (d,) values in the order of ``symbols`` (default: sorted by name).
    Stops at the first iterate with ``|grad| <= tol`` (converged) or after ``max_iterations``
    steps; also stops when the iterate overflows."""
    if expression is None:
        expression = DEFAULT_LOSS_1D
    expression, symbols = as_expression(expression, symbols=symbols)
    start = np.atleast_1d(np.asarray(start, dtype=np.float64))
    if start.shape != (len(symbols),):
        names = ", ".join(s.name for s in symbols)
        raise ValueError(f"start must have {len(symbols)} value(s) (one per symbol: {names}), got shape {start.shape}")
    if not np.all(np.isfinite(start)):
        raise ValueError(f"start must be finite, got {start}")
    learning_rate = float(learning_rate)
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate}")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if int(max_iterations) != max_iterations or max_iterations < 0:
        raise ValueError(f"max_iterations must be a non-negative integer, got {max_iterations}")
    max_iterations = int(max_iterations)

    loss_fn, grad_fn = gradient_function(expression, symbols)
    iterates, losses, gradients = [start], [], []
    converged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(max_iterations + 1):
            current = iterates[-1]
            losses.append(float(loss_fn(*current)))
            g = np.asarray(grad_fn(*current), dtype=np.float64).reshape(-1)
            gradients.append(g)
            if np.linalg.norm(g) <= tol:
                converged = True
                break
            if k == max_iterations or not np.all(np.isfinite(g)):
                break
            iterates.append(current - learning_rate * g)
    return DescentResult(
        expression=expression,
        symbols=symbols,
        learning_rate=learning_rate,
        tol=float(tol),
        max_iterations=max_iterations,
        iterates=np.array(iterates),
        losses=np.array(losses),
        gradients=np.array(gradients),
        converged=converged,
    )


@dataclass(frozen=True)
class LearningRateStudy:
    """One :class:`DescentResult` per learning rate, same loss, start and stopping rule."""

    results: tuple[DescentResult, ...]

    def rows(self) -> list[dict]:
        """The table as dicts: learning_rate, iterations, final w, loss, |gradient|, converged, behaviour."""
        rows = []
        for r in self.results:
            rows.append({
                "learning_rate": r.learning_rate,
                "iterations": r.iterations,
                "final_w": r.final.tolist() if r.final.size > 1 else float(r.final[0]),
                "final_loss": float(r.losses[-1]),
                "final_gradient": float(r.gradient_norms[-1]),
                "converged": r.converged,
                "behaviour": r.behaviour,
            })
        return rows

    def table(self) -> str:
        """A plain-text table, one line per learning rate."""
        header = f"{'learning rate':>13}  {'steps':>5}  {'final w':>18}  {'loss':>10}  {'|gradient|':>10}  behaviour"
        lines = [header, "-" * len(header)]
        for row in self.rows():
            final_w = row["final_w"]
            final_w = f"{final_w:.6g}" if isinstance(final_w, float) else ", ".join(f"{v:.4g}" for v in final_w)
            lines.append(
                f"{row['learning_rate']:>13g}  {row['iterations']:>5d}  {final_w:>18}  "
                f"{row['final_loss']:>10.4g}  {row['final_gradient']:>10.3g}  {row['behaviour']}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def plot(self, show_steps: int = 30):
        """Figure with one column per learning rate: the curve with the first ``show_steps``
        iterates on it (1D) or the contour with the path (2D), and the iterates ``w_k`` against k."""
        return plot_study(self, show_steps=show_steps)


def learning_rate_study(
    expression=None,
    start=3.0,
    learning_rates=LECTURE_LEARNING_RATES,
    *,
    tol: float = 1e-3,
    max_iterations: int = 200,
    symbols=None,
) -> LearningRateStudy:
    """The lecture's study: the same descent for each learning rate (default 1e-5, 0.1, 0.95, 1.0).

    ``study.table()`` is the summary, ``study.plot()`` the iterates."""
    if len(learning_rates) == 0:
        raise ValueError("learning_rates is empty")
    results = tuple(
        gradient_descent(expression, start, lr, tol=tol, max_iterations=max_iterations, symbols=symbols)
        for lr in learning_rates
    )
    return LearningRateStudy(results)


def curve_range(values, margin: float = 0.25, minimum_width: float = 2.0) -> tuple[float, float]:
    """A plotting interval around ``values`` (finite ones), padded by ``margin`` of its width."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    lo, hi = float(values.min()), float(values.max())
    width = max(hi - lo, minimum_width)
    centre = (lo + hi) / 2
    return centre - (0.5 + margin) * width, centre + (0.5 + margin) * width


def finite_values(function, *grids) -> np.ndarray:
    """``function(*grids)`` as float64 of the grids' shape, overflow and NaN turned into NaN
    (matplotlib leaves NaN points out of lines and contours)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        values = np.asarray(function(*grids), dtype=np.float64)
    values = np.array(np.broadcast_to(values, np.shape(grids[0])))
    values[~np.isfinite(values)] = np.nan
    return values


def plot_study(study: LearningRateStudy, show_steps: int = 30):
    """See :meth:`LearningRateStudy.plot`. Returns a matplotlib Figure (not managed by pyplot)."""
    from matplotlib.figure import Figure

    results = study.results
    ncols = len(results)
    fig = Figure(figsize=(3.2 * ncols, 5.6), layout="constrained")
    axes = fig.subplots(2, ncols, squeeze=False)
    dims = len(results[0].symbols)
    for col, r in enumerate(results):
        top, bottom = axes[0, col], axes[1, col]
        shown = r.iterates[: show_steps + 1]
        loss_fn, _ = gradient_function(r.expression, r.symbols)
        if dims == 1:
            lo, hi = curve_range(np.append(shown[:, 0], r.iterates[-1, 0]))
            grid = np.linspace(lo, hi, 200)
            top.plot(grid, finite_values(loss_fn, grid), color="C0", lw=1.5)
            top.plot(shown[:, 0], r.losses[: len(shown)], "o-", color="C3", ms=3, lw=0.8)
            top.set_xlabel(r.symbols[0].name)
            top.set_ylabel("loss")
        else:
            xs, ys = curve_range(shown[:, 0]), curve_range(shown[:, 1])
            X, Y = np.meshgrid(np.linspace(*xs, 120), np.linspace(*ys, 120))
            top.contour(X, Y, finite_values(loss_fn, X, Y), levels=15, cmap="viridis", linewidths=0.8)
            top.plot(shown[:, 0], shown[:, 1], "o-", color="C3", ms=3, lw=0.8)
            top.set_xlabel(r.symbols[0].name)
            top.set_ylabel(r.symbols[1].name)
        top.set_title(f"learning rate {r.learning_rate:g}\n{r.behaviour}", fontsize=9)
        for i, s in enumerate(r.symbols):
            bottom.plot(np.arange(r.iterations + 1), r.iterates[:, i], lw=1, label=s.name)
        bottom.set_xlabel("iteration k")
        bottom.set_ylabel("iterate")
        bottom.set_title(f"{r.iterations} steps, |gradient| = {r.gradient_norms[-1]:.2g}", fontsize=9)
        if dims > 1:
            bottom.legend(fontsize=8)
    return fig
