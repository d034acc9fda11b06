"""Shared diagnoses of the checks, in one place: raw exceptions said in words (``translate``),
the shapes of a result by their meaning (``shape_failure``), the batch-versus-one-sample family
of mistakes (``BATCH_FAMILY``, ``batch_hint``), a replaced function (``describe``, ``replaced``)
and the mistake ladder (``ladder``: the first named wrong value a result equals).

Shipped with the course (the visible checks run in the student's kernel); no solutions here."""
from __future__ import annotations

import re
import types
from contextlib import contextmanager

import numpy as np

# The batch-versus-one-sample family: formulas right for one sample (one column) that go wrong on
# a batch, and rows taken as samples. The checks modules name their mistakes of the family in
# their own MISTAKES and map them to these kinds in ``BATCH_MISTAKES``; their messages say what is
# right ("right for one sample") and what to change.
BATCH_FAMILY = {
    "flattened_batch": "a one-sample formula (np.outer, np.size, np.identity, .ravel) that flattens the whole batch "
                       "into one long vector: build one result per sample (einsum over the batch) or sum them",
    "per_sample_formula": "a one-sample formula applied to the batch (a sum or a max over the whole matrix, einsum "
                          "subscripts that sum over samples): take it per column (axis=0, keepdims=True)",
    "sum_not_mean": "the samples added up where their mean is asked (a loop over samples that never averages): "
                    "divide by the number of samples",
    "mean_not_sum": "a mean, or one value per sample, where the per-sample value or the batch total is asked",
    "rows_as_samples": "rows taken as samples (a framework's convention, labels transposed): in this course samples "
                       "are columns",
    "per_sample_steps": "a training step per sample instead of one per batch: right for batches of one sample",
    "shuffle_without_generator": "the samples of an epoch not shuffled with the Generator given (in order, np.random's "
                                 "global state, a Generator of one's own): use rng.permutation, so a run can be repeated",
    "overlapping_batches": "batches that share samples (a window moved by less than batch_size): step by batch_size, "
                           "so each sample is in one batch per epoch",
    "dropped_remainder": "the last, smaller batch dropped: its samples are never used; keep it",
}

# Names of the grader's and the checks' own objects, never shown to a student.
INTERNAL_NAMES = {
    "ShiftLayer": "a layer of the test network",
    "TableLayer": "a layer of the test network",
    "PlainDense": "the test network's dense layer",
    "PlainSoftmax": "the test network's softmax layer",
    "LossSpies": "the test's loss functions",
    "_Tag": "a layer of the test network",
    "StandInObject": "your object",
    "StandInFunction": "your function",
    "StandInClass": "your class",
    "StudentView": "your notebook",
}
_INTERNAL = re.compile(r"'?\b(" + "|".join(map(re.escape, INTERNAL_NAMES)) + r")\b'?( object)?")
_PATH = re.compile(r"(/[\w./-]*)?course_lib/[\w/.]+\.py(:\d+)?|File \"[^\"]*course_lib[^\"]*\"(, line \d+)?")


def scrub(text: str) -> str:
    """``text`` without the grader's internal names and course_lib paths."""
    text = _INTERNAL.sub(lambda m: INTERNAL_NAMES[m.group(1)], text)
    return _PATH.sub("the course's code", text)


def _shapes(text: str) -> list[tuple[int, ...]]:
    return [tuple(int(x) for x in re.findall(r"\d+", s)) for s in re.findall(r"\(([\d, ]*)\)", text)]


def translate(name: str, message: str, advice: bool = True) -> str:
    """A raw exception of the student's code (its type ``name`` and ``message``) in words, with
    nothing of the grader's internals in it; ``advice=False`` leaves out the generic advice on
    shapes (the caller has a better one)."""
    message = str(message).strip()
    if name == "NameError":
        found = re.search(r"name '(\w+)' is not defined", message)
        missing = found.group(1) if found else "a name"
        return (f"blank not filled yet: `{missing}` is not defined (its cell still has a `?` blank, stopped with "
                f"an error before defining it, or the name is misspelt); fill it in and run the cell")
    if name in ("ModuleNotFoundError", "ImportError"):
        found = re.search(r"No module named '([\w.]+)'", message)
        package = found.group(1).split(".")[0] if found else None
        if package is not None:
            return (f"{name}: the course environment has no package `{package}`; the exercise is written in "
                    f"NumPy alone (with what the notebook imports), so write it with np.* functions")
        return f"{name}: {scrub(message)}; the exercise is written in NumPy alone"
    if name == "AttributeError":
        found = re.search(r"'(\w+)' object has no attribute '(\w+)'", message)
        if found and found.group(1) in ("ShiftLayer", "TableLayer", "_Tag", "PlainDense", "PlainSoftmax"):
            return (f"AttributeError: the training loop reached into a layer for `.{found.group(2)}`, which a layer need not have "
                    f"(the test's layers, like Softmax, have no weights): the loop must only call each layer's "
                    f"forward(input) and backward(output_gradient, learning_rate); each layer updates its own "
                    f"weights in backward")
    if name == "ValueError" and "could not be broadcast" in message:
        shapes = _shapes(message)
        listed = " and ".join(str(s) for s in shapes) or "different shapes"
        return (f"ValueError: arrays of shapes {listed} were combined elementwise and do not fit together"
                + (": check the shape of each intermediate result" if advice else ""))
    if name == "ValueError" and ("not aligned" in message or "mismatch in its core dimension" in message):
        shapes = _shapes(message)
        listed = " and ".join(str(s) for s in shapes[:2]) or "these shapes"
        return (f"ValueError: a matrix product of shapes {listed}: the inner sizes differ"
                + ("; check which factor is transposed and that samples are columns" if advice else ""))
    return f"{name}: {scrub(message)}" if message else name


def translate_error(error: BaseException) -> str:
    """``translate`` for an exception object."""
    return translate(type(error).__name__, str(error))


# --- shapes by their meaning --------------------------------------------------------------------

def shape_message(what: str, got, expected, expected_name: str) -> str:
    """'your weights gradient has shape (18, 30); it must have the shape of W, (3, 5)'."""
    return f"your {what} has shape {tuple(got)}; it must have the shape of {expected_name}, {tuple(expected)}"


def flattened(got, expected, N: int) -> bool:
    """Whether shape ``got`` is ``expected`` with the batch of ``N`` samples flattened into it
    (each size times N, or the whole size times N squared): the trace of np.outer, np.size or
    np.identity on a batch."""
    got, expected = tuple(got), tuple(expected)
    if N <= 1 or len(got) != 2 or len(expected) != 2:
        return False
    size = int(np.prod(expected))
    return got in {(expected[0] * N, expected[1] * N), (size * N, size * N)}


def flattened_in(message: str, C: int, N: int) -> bool:
    """Whether a raised message shows a size C*N: the batch was flattened (np.size, np.outer, .ravel)."""
    return N > 1 and any(C * N in shape and C * N not in (C, N) for shape in _shapes(message))


# --- the softmax axis -----------------------------------------------------------------------------

def softmax_axis(a: np.ndarray, Z: np.ndarray) -> str | None:
    """Which axis mistake a softmax result ``a`` of the scores ``Z`` (classes x samples) shows:
    ``"whole_matrix"`` (the one-sample formula on a batch: all entries sum to 1), ``"rows"`` (each
    row sums to 1: rows taken as samples), ``"max_over_rows"`` (each row's max subtracted), or None."""
    a = np.asarray(a, dtype=np.float64)
    if a.shape != np.shape(Z):
        return None
    if np.isclose(a.sum(), 1.0, rtol=1e-9) and a.shape[1] > 1:
        return "whole_matrix"
    if np.allclose(a.sum(axis=1), 1.0, rtol=1e-6, atol=1e-9) and a.shape[0] > 1:
        return "rows"
    with np.errstate(all="ignore"):
        shifted = np.exp(Z - Z.max(axis=1, keepdims=True))
        if np.allclose(a, shifted / shifted.sum(axis=0), rtol=1e-6, atol=1e-9):
            return "max_over_rows"
    return None


# --- a replaced function ------------------------------------------------------------------------

def _package(obj) -> str:
    """' from `package`' for an object defined outside the notebook, else ''."""
    module = getattr(obj, "__module__", None) or ""
    if not module or module in ("__main__", "builtins") or module.startswith("course_lib_"):
        return ""
    return f" from `{module.split('.')[0]}`"


def _notebooks(obj) -> bool:
    """Whether ``obj`` was defined in the notebook (its module is the kernel's ``__main__``)."""
    module = getattr(obj, "__module__", None)
    return module in (None, "__main__") or str(module).startswith("course_lib_")


def describe(obj, name: str) -> dict:
    """What the notebook's ``name`` is bound to, as plain data: ``{"replaced": bool, "what": words,
    "kind": "function" or "class"}``. A function or class defined in the notebook under its own
    name is the notebook's; anything else (a lambda, another function, a library's function or
    class, an object called through ``__call__``) replaced it."""
    if isinstance(obj, type):
        return {"replaced": obj.__name__ != name or not _notebooks(obj), "kind": "class",
                "what": f"the class `{obj.__name__}`{_package(obj)}"}
    if isinstance(obj, types.FunctionType):
        if obj.__name__ == name and _notebooks(obj):
            return {"replaced": False, "kind": "function", "what": f"the function `{name}`"}
        if obj.__name__ == "<lambda>":
            return {"replaced": True, "kind": "function", "what": f"a lambda{_package(obj)}"}
        return {"replaced": True, "kind": "function", "what": f"the function `{obj.__name__}`{_package(obj)}"}
    if isinstance(obj, (types.BuiltinFunctionType, np.ufunc)) or (callable(obj) and isinstance(getattr(obj, "__name__", None), str)):
        return {"replaced": True, "kind": "function",
                "what": f"the library function `{getattr(obj, '__name__', type(obj).__name__)}`{_package(obj)}"}
    if callable(obj):
        cls = type(obj)
        return {"replaced": True, "kind": "function",
                "what": f"an object of the class `{cls.__name__}`{_package(cls)} (called through its __call__)"}
    return {"replaced": True, "kind": "function", "what": f"a {type(obj).__name__}, not a function"}


def replaced_note(description, name: str) -> str:
    """The words added to a failed check's message when the notebook's ``name`` was rebound."""
    if not isinstance(description, dict) or not description.get("replaced"):
        return ""
    kind = "class" if description.get("kind") == "class" else "function"
    return (f" (note: `{name}` is no longer the notebook's {kind} but {description.get('what', 'another object')}; "
            f"it is still judged by what it returns, called as the notebook calls it, with samples as columns)")


@contextmanager
def noting_replacement(obj, name: str):
    """Within the block, a check failure also says when ``obj`` (the notebook's ``name``) is not
    the notebook's function any more."""
    from course_lib.checks.common import CheckFailure

    try:
        yield
    except CheckFailure as error:
        note = replaced_note(describe(obj, name), name)
        if note:
            raise CheckFailure(str(error) + note, mistake=error.mistake) from None
        raise


# --- the mistake ladder ------------------------------------------------------------------------

def ladder(got: np.ndarray, rungs, rtol: float = 1e-8, atol: float = 1e-12):
    """The first (mistake, message) of ``rungs`` (mistake, wrong value, message) whose value
    ``got`` equals, or None."""
    for mistake, value, message in rungs:
        value = np.asarray(value, dtype=np.float64)
        if np.shape(got) == value.shape and np.allclose(got, value, rtol=rtol, atol=atol):
            return mistake, message
    return None


# --- the student's kernel ------------------------------------------------------------------------

def _in_words(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for a name never defined or a package not installed: the error in words
    (``translate``), shown as the cell's error, without a traceback."""
    shell._showtraceback(etype, value, [translate(etype.__name__, str(value))])


def show_errors_in_words() -> None:
    """In an IPython kernel (JupyterLab, nbgrader's Validate), show a NameError (most often an
    unfilled blank) and a ModuleNotFoundError in words; the cell still fails as before. Leaves an
    exception handler set by someone else alone."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "custom_exceptions", ()) not in ((), (NameError, ModuleNotFoundError)):
        return
    if not hasattr(shell, "_showtraceback"):
        return
    shell.set_custom_exc((NameError, ModuleNotFoundError), _in_words)
