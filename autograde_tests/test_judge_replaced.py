"""A graded name rebound to something else (a lambda, another function, a library's function or
class) is named in every failed check of its cell, in every graded notebook, and is still judged
by what it returns: the judge runs in-process on the notebook's answer cells (the probe answered
by ``course_lib.probe.answer``), as the pipeline runs it on the kernel's replies."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "mutants"))

from mutation import NotebookRun, _meta  # noqa: E402

from course_lib import probe, probe_codec  # noqa: E402
from course_lib.grading.judge import judge_cell  # noqa: E402

_RUNS: dict[str, NotebookRun] = {}


def _verdicts(notebook: str, cell: str, appended: str, graded: str):
    """The verdicts of ``graded`` when ``appended`` is run at the end of the answer cell ``cell``:
    the notebook's cells before ``graded`` run in one namespace (answer cells in their reference
    form, no demo-only cell and no other graded cell)."""
    import importlib

    from course_lib.grading.demos import is_demo

    run = _RUNS.setdefault(notebook, NotebookRun(notebook))
    namespace: dict = {"__name__": "__main__"}
    with run._quiet():
        for i in range(run.index(graded)):
            meta = _meta(run.cells[i])
            if meta.get("grade") or is_demo(run.cells[i]):
                continue
            source = run.cells[i].source + ("\n" + appended if run.ids[i] == cell else "")
            run._exec(source, run.ids[i] or f"cell{i}", namespace)
    judge = importlib.import_module(f"course_lib.judges.{notebook}").JUDGE
    answer = lambda request, nonce: probe_codec.unpack(probe.answer(namespace, request), 1 << 28)  # noqa: E731
    return judge_cell(judge.cells[graded], judge.reference, answer)


# (notebook, answer cell, the rebinding, graded cell, the words of the note, a mistake the checks still name)
CASES = [
    ("layers", "dense", "from course_lib import Layer as Dense", "dense_backward_tests",
     "`Dense` is no longer the notebook's class but the class `Layer` from `course_lib`", None),
    ("softmax_toy", "mini_batches", "mini_batches = lambda n, b, rng: np.array_split(rng.permutation(n), b)", "mini_batches_tests",
     "`mini_batches` is no longer the notebook's function but a lambda", "batches_count_for_size"),
    ("softmax_toy", "softmax_gradient", "import functools\nsoftmax_gradient = functools.partial(lambda W, X, y: 3 * np.dot(W, X) @ X.T)",
     "softmax_gradient_tests", "`softmax_gradient` is no longer the notebook's function but an object of the class `partial` "
                               "from `functools`", None),
    ("mnist_softmax", "predict", "from numpy import argmax as predict", "predict_tests",
     "`predict` is no longer the notebook's function but the library function `argmax` from `numpy`", "raised"),
    ("mnist_softmax", "softmax", "softmax = lambda Z: np.exp(Z) / np.sum(np.exp(Z))", "softmax_tests",
     "`softmax` is no longer the notebook's function but a lambda", "softmax_whole_matrix"),
    ("mlp_backprop", "compute_grad_loss",
     "def summed(p, X, Y, activation='logistic'):\n    loss, grads = _own(p, X, Y, activation)\n"
     "    return loss, {'W': {k: v * X.shape[1] for k, v in grads['W'].items()}}\n_own, compute_grad_loss = compute_grad_loss, summed",
     "compute_grad_loss_tests", "`compute_grad_loss` is no longer the notebook's function but the function `summed`", None),
]


@pytest.mark.parametrize("notebook, cell, rebinding, graded, note, mistake", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_replaced_function_is_named_in_every_failed_check_and_judged_by_behaviour(notebook, cell, rebinding, graded, note, mistake):
    verdicts = _verdicts(notebook, cell, rebinding, graded)
    failed = [v for v in verdicts if not v.passed]
    assert failed, verdicts
    for verdict in failed:
        assert note in verdict.message and "it is still judged by what it returns" in verdict.message, verdict
    if mistake is not None:
        assert mistake in {v.mistake for v in failed}, [(v.mistake, v.message[:120]) for v in failed]


def test_a_replacement_that_behaves_right_keeps_every_point_and_an_unreplaced_mistake_gets_no_note():
    right = _verdicts("softmax_toy", "mini_batches",
                      "mini_batches = lambda n, b, rng: np.split(rng.permutation(n), range(b, n, b))", "mini_batches_tests")
    assert all(v.passed for v in right), right
    own = _verdicts("softmax_toy", "mini_batches", "def mini_batches(n, b, rng):\n    return np.array_split(rng.permutation(n), b)",
                    "mini_batches_tests")
    assert any(not v.passed for v in own) and not any("no longer" in v.message for v in own), own
