"""No function or class that the student package ships computes a graded answer on inputs a
student chooses. Every graded function of the notebooks is looked for among every function and
class of the shipped modules, as a student looking for something to import in place of an answer
would: each is called with the answer's arguments (random ones, seeded), and a result equal to the
reference answer is a find. Known-good versions of the answers belong with the judges
(``course_lib/judges/known_good.py``), which are not shipped."""
from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import signal
from pathlib import Path

import numpy as np
import pytest

from course_lib.solutions import losses, mlp, softmax, softmax_regression, softmax_toy

PACKAGE = Path(__file__).resolve().parent.parent / "course_lib"
# Shipped modules left out: input and output, plotting and sympy (no graded answer is in them).
SKIPPED = {"cli", "data", "mnist_cache", "animation", "interactive", "live_figure", "symbolic", "gradient_descent"}
# Shipped on purpose: the library's batching, which layers and mlp_backprop import, is
# softmax_toy's mini_batches (see autograde_tests/test_grading_bundle.py, SHIPPED_ON_PURPOSE).
ON_PURPOSE = {("mini_batches", "course_lib.batching.epoch_batches")}


def _shipped_modules() -> list[str]:
    names = [f"course_lib.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem not in SKIPPED | {"__init__"}]
    names += [f"course_lib.checks.{p.stem}" for p in (PACKAGE / "checks").glob("*.py") if p.stem != "__init__"]
    return sorted(names)


def _answers() -> dict[str, tuple[tuple, object]]:
    """answer name -> (arguments, the reference's result)."""
    rng = np.random.default_rng(2026)
    C, D, N = 3, 4, 6
    W = rng.standard_normal((C, D + 1))
    X = np.vstack([rng.standard_normal((D, N)), np.ones((1, N))])
    y = rng.integers(0, C, N)
    Y = np.eye(C)[:, y]
    Z = 3 * rng.standard_normal((C, N))
    a, G = softmax.softmax(Z), rng.standard_normal((C, N))
    G2 = rng.standard_normal((C, N))
    layer = softmax.Softmax()
    layer.forward(Z)
    p = {"W": {"hidden": rng.standard_normal((5, D)), "output": rng.standard_normal((C, 6))}}
    X_mlp = rng.standard_normal((D - 1, N))
    return {
        "softmax": ((Z,), a),
        "cce": ((Y, a), losses.cce(Y, a)),
        "cce_gradient": ((Y, a), losses.cce_gradient(Y, a)),
        "softmax_toy.softmax_loss": ((W, X, y), softmax_toy.softmax_loss(W, X, y)),
        "softmax_toy.softmax_gradient": ((W, X, y), softmax_toy.softmax_gradient(W, X, y)),
        "softmax_loss_l2": ((W, X, y, 0.3), softmax_toy.softmax_loss_l2(W, X, y, 0.3)),
        "softmax_gradient_l2": ((W, X, y, 0.3), softmax_toy.softmax_gradient_l2(W, X, y, 0.3)),
        "predict": ((W, X), softmax_regression.predict(W, X)),
        "softmax_loss_and_gradient": ((W, X, y, 0.3), softmax_regression.softmax_loss_and_gradient(W, X, y, 0.3)),
        "Softmax.backward of a": ((a, G), layer.backward(G, 0.1)),
        "Softmax.backward of z": ((Z, G), layer.backward(G, 0.1)),
        "Dense.backward": ((W, X[:-1], G2), (W[:, :-1].T @ G2, G2 @ X.T)),
        "mlp.forward": ((p, X_mlp), mlp.forward(p, X_mlp)),
        "mlp.compute_grad_loss": ((p, X_mlp, Y), mlp.compute_grad_loss(p, X_mlp, Y)),
        "mini_batches": ((11, 3, "rng"), softmax_toy.mini_batches(11, 3, np.random.default_rng(5))),
    }


def _leaves(value) -> list[np.ndarray]:
    """The arrays and numbers in a result (tuples, lists, dicts)."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, (np.ndarray, float, int, np.floating, np.integer)) and not isinstance(value, bool):
        return [np.asarray(value, dtype=np.float64)]
    return []


def _matches(got, expected) -> bool:
    """Every array of the reference's result is among the result's (the same values)."""
    wanted, found = _leaves(expected), _leaves(got)
    if not wanted or not found:
        return False
    return all(any(f.shape == w.shape and np.allclose(f, w, rtol=1e-9, atol=1e-12) for f in found) for w in wanted)


def _copy(value):
    """A fresh copy of an argument (a candidate may change its arguments in place)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value.copy() if isinstance(value, np.ndarray) else value


class _Slow(Exception):
    pass


def _alarm(signum, frame):
    raise _Slow


def _candidates(module):
    """(qualified name, callable) of the module's own functions, and of its classes: the class
    itself, an instance's backward with the state a Softmax layer keeps, and a layer made from given
    weights run forward and backward as a Dense layer is."""
    for name, item in vars(module).items():
        if getattr(item, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(item):
            yield f"{module.__name__}.{name}", item
        elif inspect.isclass(item):
            yield f"{module.__name__}.{name}", item

            def backward(a, G, cls=item):
                instance = cls()
                instance.output = a
                return instance.backward(G, 0.1)

            yield f"{module.__name__}.{name}().backward", backward

            def dense(W, X, G, cls=item):
                instance = cls(W)
                instance.forward(X)
                return instance.backward(G, 0.0), getattr(instance, "weights_gradient", None)

            yield f"{module.__name__}.{name}(W).backward", dense


def _finds() -> list[tuple[str, str]]:
    answers = _answers()
    finds = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for module_name in _shipped_modules():
            module = importlib.import_module(module_name)
            for qualified, candidate in _candidates(module):
                for answer, (args, expected) in answers.items():
                    call = tuple(np.random.default_rng(5) if isinstance(arg, str) else _copy(arg) for arg in args)
                    signal.setitimer(signal.ITIMER_REAL, 2.0)
                    try:
                        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                                np.errstate(all="ignore"):
                            got = candidate(*call)
                        if inspect.isgenerator(got):
                            got = None
                    except (Exception, _Slow):  # noqa: BLE001 - a candidate that does not take these arguments
                        got = None
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                    if got is not None and _matches(got, expected) and (answer, qualified) not in ON_PURPOSE:
                        finds.append((answer, qualified))
    finally:
        signal.signal(signal.SIGALRM, previous)
    return finds


def test_the_search_finds_an_answer_when_one_is_shipped(monkeypatch):
    """The search itself: an answer planted in a shipped module is found."""
    import course_lib.metrics as planted

    monkeypatch.setattr(planted, "helper_that_leaks", lambda W, X: np.argmax(W @ X, axis=0), raising=False)
    planted.helper_that_leaks.__module__ = planted.__name__
    assert ("predict", "course_lib.metrics.helper_that_leaks") in _finds()


def test_no_shipped_function_or_class_computes_a_graded_answer():
    assert _finds() == []
