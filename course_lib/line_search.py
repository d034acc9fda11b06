"""Armijo backtracking line search along the negative gradient."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from course_lib.pytree import tree_map, tree_vdot


@dataclass(frozen=True)
class LineSearchResult:
    step: float
    params: object
    loss: float
    evaluations: int


def armijo_backtracking(
    loss_fn: Callable[[object], float],
    params,
    grads,
    loss: float,
    *,
    initial_step: float = 1.0,
    shrink: float = 0.5,
    c: float = 1e-4,
    max_evaluations: int = 50,
) -> LineSearchResult:
    """Largest ``t = initial_step * shrink**k`` with the sufficient decrease
    ``L(p - t g) <= L(p) - c t ||g||^2``.

    ``params``/``grads`` are arrays or nested dicts of arrays. If no step satisfies the
    condition within ``max_evaluations``, returns the smallest step tried."""
    if not 0 < shrink < 1:
        raise ValueError(f"shrink must lie in (0, 1), got {shrink}")
    squared_norm = tree_vdot(grads, grads)
    step = initial_step
    for evaluation in range(1, max_evaluations + 1):
        candidate = tree_map(lambda p, g: p - step * g, params, grads)
        candidate_loss = float(loss_fn(candidate))
        if candidate_loss <= loss - c * step * squared_norm:
            break
        if evaluation < max_evaluations:
            step *= shrink
    return LineSearchResult(step, candidate, candidate_loss, evaluation)
