"""Parameters held as arrays or (nested) dicts of arrays, as the MLP's ``p['W']['hidden']``."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def tree_map(fn: Callable[..., np.ndarray], tree, *rest):
    """Apply ``fn`` leafwise to one or more trees of the same structure."""
    if isinstance(tree, dict):
        return {key: tree_map(fn, tree[key], *(r[key] for r in rest)) for key in tree}
    return fn(tree, *rest)


def tree_leaves(tree) -> list[np.ndarray]:
    """The arrays of a tree, in key order."""
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in tree_leaves(tree[key])]
    return [tree]


def tree_vdot(a, b) -> float:
    """Sum over leaves of ``sum(a * b)``."""
    return float(sum(np.vdot(x, y) for x, y in zip(tree_leaves(a), tree_leaves(b))))
