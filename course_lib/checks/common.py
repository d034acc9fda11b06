"""Shared pieces of the checks: coercing a student's result, calling the student's code, and
failing in words with the name of the mistake recognised (``error.mistake``).

Generic mistake names used by every checks module: ``"raised"`` (the student's code raised),
``"wrong_type"`` (None or not numbers), ``"wrong_shape"``, ``"not_finite"`` (inf or nan),
``"modifies_input"`` (an argument changed in place) and ``"wrong_value"`` (wrong in a way no
named mistake explains)."""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from course_lib.gradient_check import rel_error
from course_lib.pytree import tree_leaves, tree_map

GENERIC_MISTAKES = {
    "raised": "the student's code raised an exception",
    "wrong_type": "the result is None or not numbers",
    "wrong_shape": "the result has the wrong shape",
    "not_finite": "the result holds inf or nan",
    "modifies_input": "the function changes an array it was given",
    "wrong_value": "the result is wrong in a way no named mistake explains",
    "missing": "a name the check needs is not defined (a blank not filled yet, or its cell stopped)",
    "cell_stopped": "the answer cell that defines a name the check needs stopped with an error (an import, a name, "
                    "an index...) before defining it",
}


class CheckFailure(AssertionError):
    """A check failed; the message says which check and why, in the student's terms, and
    ``mistake`` names the mistake recognised (a key of the checks module's ``MISTAKES``)."""

    def __init__(self, message: str = "", mistake: str = "wrong_value"):
        super().__init__(message)
        self.mistake = mistake

    def _render_traceback_(self) -> list[str]:
        """What IPython (JupyterLab, nbgrader's Validate) shows for a failed check: the message
        alone, not a traceback through the checks' own code."""
        return [f"{type(self).__name__}: {self}"]


def failure(check: str | None, mistake: str, message: str) -> CheckFailure:
    """A CheckFailure for ``check`` (prefixed to the message when given) naming ``mistake``."""
    return CheckFailure(f"{check}: {message}" if check else message, mistake=mistake)


def as_float_array(value, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The student's ``value`` as a plain float64 ndarray (never a subclass or a
    look-alike), checked for shape and finiteness."""
    if value is None:
        raise CheckFailure(f"{name} returned None: did you forget a `return`?", mistake="wrong_type")
    try:
        array = np.array(_plain(value), dtype=np.float64).view(np.ndarray)
    except (TypeError, ValueError) as error:
        raise CheckFailure(
            f"{name} returned a {type(value).__name__}, expected a number or a NumPy array of numbers ({error})",
            mistake="wrong_type") from None
    if shape is not None and array.shape != tuple(shape):
        raise CheckFailure(f"{name} has shape {array.shape}, expected {tuple(shape)}", mistake="wrong_shape")
    if not np.all(np.isfinite(array)):
        raise CheckFailure(f"{name} contains inf or nan: check for overflow in exp or a log of 0",
                           mistake="not_finite")
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
        raise CheckFailure(f"{name} should be a single number, got an array of shape {array.shape}",
                           mistake="wrong_shape")
    return float(array.reshape(()))


def close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Elementwise closeness of two plain float64 arrays of the same shape."""
    return np.shape(actual) == np.shape(expected) and bool(np.allclose(actual, expected, rtol=rtol, atol=atol))


def precision_note(actual, expected) -> str:
    """For a result that misses the check's tolerance but is right to single precision: a clause
    saying so (appended to the failure's message); otherwise ''."""
    try:
        near = np.shape(actual) == np.shape(expected) and bool(np.allclose(actual, expected, rtol=1e-4, atol=1e-7))
    except (TypeError, ValueError):
        return ""
    return ("; it is right to about 4 to 7 significant digits only, as when computed in float32 (single "
            "precision): compute in float64, the dtype of the input" if near else "")


_FROM_STATE = ("; the check sets layer.input and layer.output as forward leaves them and calls backward without "
              "forward (which is checked on its own): backward should read what it needs from self.input and "
              "self.output")


def from_state_note(error: CheckFailure) -> CheckFailure:
    """``error`` of a backward called on a state the check set; an AttributeError (an attribute
    that only the student's own forward sets) gets a sentence on that added."""
    if error.mistake != "raised" or "AttributeError" not in str(error):
        return error
    return CheckFailure(f"{error}{_FROM_STATE}", mistake=error.mistake)


def computes(check: str | None, function, cases: list[tuple], what: str, pick=None) -> None:
    """Before a check of a property other than the value (arguments left unchanged, stability):
    fail, as ``wrong_value``, a function that computes nothing from its arguments (only zeros, the
    same result for every case, or an argument handed back), so that a stub earns nothing from the
    check. ``pick`` takes the part of the result to look at; an error or a result that is no array
    of numbers is left to the check itself."""
    results = []
    for args in cases:
        try:
            with np.errstate(all="ignore"):
                value = function(*[_copy(a) for a in args])
                result = np.asarray(value if pick is None else pick(value), dtype=np.float64)
        except Exception:  # noqa: BLE001 - the check reports it in its own words
            return
        if any(isinstance(a, np.ndarray) and a.shape == result.shape and np.array_equal(a, result) for a in args):
            raise failure(check, "wrong_value", f"{what} hands back one of its arguments unchanged; this check counts "
                                                f"once it computes its result")
        results.append(result)
    if results and all(not np.any(r) for r in results):
        raise failure(check, "wrong_value", f"{what} gives only zeros; this check counts once it computes its result")
    if len(results) > 1 and all(r.shape == results[0].shape and np.array_equal(r, results[0], equal_nan=True)
                                for r in results[1:]):
        raise failure(check, "wrong_value", f"{what} gives the same result for different arguments; this check "
                                            f"counts once it computes its result")


def passed(name: str, count: int) -> None:
    """Tell the student a check passed."""
    print(f"\u2714 {name}: all {count} checks passed")


# --- calling the student's code and reading its results ---------------------------------------

def call(check: str | None, function, *args, protect: bool = False, names: tuple[str, ...] = (),
         hint: str = "", **kwargs):
    """``function(*args, **kwargs)`` with floating-point warnings silenced; an exception becomes
    a ``"raised"`` failure that names it (followed by ``hint`` for a ValueError, typically a shape
    mismatch). With ``protect`` the function gets copies of its array (and dict-of-array)
    arguments, and a ``"modifies_input"`` failure (naming the argument from ``names``) when it
    changes one in place."""
    given = [_copy(a) for a in args] if protect else list(args)
    try:
        with np.errstate(all="ignore"):
            result = function(*given, **kwargs)
    except CheckFailure:
        raise
    except Exception as error:  # noqa: BLE001 - any error of the student's code is reported
        extra = hint if isinstance(error, ValueError) else ""
        mistake = "missing" if type(error).__name__ == "NameError" else "raised"
        if extra:  # the caller explains the shapes itself, from numpy's own wording
            said = f"raised {type(error).__name__}: {scrub(str(error).strip())}"
        else:
            said = raised(error)
        raise failure(check, mistake, f"{said}{extra}") from None
    if protect:
        for index, (original, copy) in enumerate(zip(args, given)):
            if isinstance(original, (np.ndarray, dict)) and not _same(original, copy):
                what = f"its argument {names[index]}" if index < len(names) else "one of its input arrays"
                raise failure(check, "modifies_input", f"changed {what} in place; work on a new array "
                                                       "(e.g. `Z = Z - ...` instead of `Z -= ...`, or .copy())")
    return result


def scrub(text: str) -> str:
    """``diagnose.scrub``: text without the grader's internal names and course_lib paths."""
    from course_lib.checks.diagnose import scrub as _scrub

    return _scrub(text)


def raised(error: BaseException, advice: bool = True) -> str:
    """What the student's code raised, in words (``diagnose.translate``): 'raised ValueError: ...'
    for a plain error, the translation alone when there is one."""
    from course_lib.checks.diagnose import translate

    words = translate(type(error).__name__, str(error), advice)
    return words if words.startswith("blank not filled yet") else f"raised {words}"


def _copy(value):
    if isinstance(value, (np.ndarray, dict)):
        return tree_map(lambda a: np.array(a, copy=True), value)
    return value


def _same(a, b) -> bool:
    leaves_a, leaves_b = tree_leaves(a), tree_leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        np.shape(x) == np.shape(y) and np.array_equal(x, y) for x, y in zip(leaves_a, leaves_b))


def coerce(check: str | None, value, name: str, shape=None,
           not_finite: tuple[str, str] | None = None) -> np.ndarray:
    """``as_float_array`` whose failure is prefixed with ``check``; ``not_finite = (mistake,
    message)`` names the mistake an inf or nan stands for."""
    try:
        array = as_float_array(value, name)
    except CheckFailure as error:
        if error.mistake == "not_finite" and not_finite is not None:
            raise failure(check, *not_finite) from None
        raise failure(check, error.mistake, str(error)) from None
    if shape is not None and array.shape != tuple(shape):
        raise failure(check, "wrong_shape", f"{name} has shape {array.shape}, expected {tuple(shape)}")
    return array


def expect_shape(check: str | None, array: np.ndarray, name: str, shape) -> None:
    """A ``"wrong_shape"`` failure unless ``array`` has ``shape``."""
    if np.shape(array) != tuple(shape):
        raise failure(check, "wrong_shape", f"{name} has shape {np.shape(array)}, expected {tuple(shape)}")


def coerce_scalar(check: str | None, value, name: str, per_sample: str = "wrong_shape",
                  not_finite: tuple[str, str] | None = None) -> float:
    """The student's loss as a float; a vector is the ``per_sample`` mistake (one loss per sample)."""
    array = coerce(check, value, name, not_finite=not_finite)
    if array.size != 1:
        raise failure(check, per_sample if array.ndim == 1 else "wrong_shape",
                      f"{name} returned {array.size} numbers (shape {array.shape}); the loss is a single number, "
                      f"the mean over samples")
    return float(array.reshape(()))


def fmt(array) -> str:
    """A short printout of an array for a message."""
    return np.array2string(np.asarray(array), precision=4, suppress_small=True)


def relation(dW: np.ndarray, numeric: np.ndarray, scaled: dict[str, float] | None = None) -> str | None:
    """How an analytic gradient relates to the numerical one (relative error < 1e-6):
    ``"equal"``; a key of ``scaled`` when ``dW = factor * numeric``; ``"negated"``;
    ``"bias_column"`` when only the last (bias) column differs; None otherwise."""
    if rel_error(dW, numeric) < 1e-6:
        return "equal"
    for name, factor in (scaled or {}).items():
        if rel_error(dW, factor * numeric) < 1e-6:
            return name
    if rel_error(dW, -numeric) < 1e-6:
        return "negated"
    if dW.ndim == 2 and rel_error(dW[:, :-1], numeric[:, :-1]) < 1e-6:
        return "bias_column"
    return None


@contextmanager
def replaced_globals(function, **names):
    """Within the block, the module-level ``names`` that ``function`` looks up (a notebook's
    globals) are replaced by the given objects; they are put back afterwards."""
    namespace = getattr(function, "__globals__", None)
    if namespace is None or not names:
        yield
        return
    missing = object()
    saved = {key: namespace.get(key, missing) for key in names}
    namespace.update(names)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is missing:
                namespace.pop(key, None)
            else:
                namespace[key] = value


def _show_errors_in_words() -> None:
    from course_lib.checks.diagnose import show_errors_in_words

    show_errors_in_words()


_show_errors_in_words()
