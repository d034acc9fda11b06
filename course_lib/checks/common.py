"""Shared pieces of the checks: coercing a student's result and failing in words."""
from __future__ import annotations


import numpy as np


class CheckFailure(AssertionError):
    """A check failed; the message says which check and why, in the student's terms."""


def as_float_array(value, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The student's ``value`` as a plain float64 ndarray (never a subclass or a
    look-alike), checked for shape and finiteness."""
    if value is None:
        raise CheckFailure(f"{name} returned None: did you forget a `return`?")
    try:
        array = np.array(_plain(value), dtype=np.float64).view(np.ndarray)
    except (TypeError, ValueError) as error:
        raise CheckFailure(
            f"{name} returned a {type(value).__name__}, expected a number or a NumPy array of numbers ({error})"
        ) from None
    if shape is not None and array.shape != tuple(shape):
        raise CheckFailure(f"{name} has shape {array.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(array)):
        raise CheckFailure(f"{name} contains inf or nan: check for overflow in exp or a log of 0")
    return array


def _plain(value):
    """``value`` rebuilt from plain floats, ints and ndarrays, so that no overridden
    ``__float__``, ``__sub__``, ``__lt__``... of a subclass can take part in a comparison."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return np.array([_plain(v) for v in value.ravel()], dtype=np.float64).reshape(value.shape)
        return np.array(value.view(np.ndarray), copy=True)
    if isinstance(value, (bool, np.bool_)):
        return float(bool(value))
    if isinstance(value, float):  # includes np.float64
        return float.__float__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, np.generic):
        return np.array(value).item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(f"{type(value).__name__} is not a number")


def as_float(value, name: str) -> float:
    """The student's scalar result as a plain Python float (a 0-d or size-1 array is accepted)."""
    array = as_float_array(value, name)
    if array.size != 1:
        raise CheckFailure(f"{name} should be a single number, got an array of shape {array.shape}")
    return float(array.reshape(()))


def close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Elementwise closeness of two plain float64 arrays of the same shape."""
    return actual.shape == expected.shape and bool(np.allclose(actual, expected, rtol=rtol, atol=atol))


def passed(name: str, count: int) -> None:
    """Tell the student a check passed."""
    print(f"\u2714 {name}: all {count} checks passed")
