"""Write the example submissions under autograde_tests/examples/<assignment>/ and their
exact expected scores (expected.json), from the source and the release of each assignment.

Each example is a realistic student notebook: the reference (every answer filled in with the
reference code), the untouched release, typical mistakes, and the adversarial set (on the
fixture `tiny`, and written against the real cells of the course's `layers` notebook). Run from the repository root to regenerate after a notebook changes:
`.venv/bin/python autograde_tests/make_examples.py [assignment ...]`.

The typical mistakes of the course's notebooks are written into the answer cells as a student
would (most of them taken from the mutation catalog, ``mutants/mutant_catalog.py``). For each
one the generator also runs the edited notebook in-process (the mutation runner: visible checks
and hidden tests as they are) and records in expected.json which graded cell fails first, the
mistake its check names and its message; the autograde suite asserts that the real pipeline
reports that same message for that cell.
"""
from __future__ import annotations

import copy
import json
import re
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "mutants"))

from course_lib.grading.course import grade_id, is_grade, is_solution, nbgrader_meta  # noqa: E402
from course_lib.grading.judge import load_judge  # noqa: E402
from course_lib.grading.release import release  # noqa: E402
from mutant_catalog import MUTANTS  # noqa: E402
from mutation import NotebookRun, Variant  # noqa: E402

from grading_fixtures import course_for  # noqa: E402

EXAMPLES = HERE / "examples"
ALL = "every check"  # expected(failed={cell: ALL})
_CURRENT: dict = {}  # the judge of the assignment being written (set by write())


def answer_code(source: str) -> str:
    """A solution cell's code as a student would write it: markers and regions removed."""
    lines = []
    for line in source.split("\n"):
        if re.match(r"^\s*#\s*(BEGIN BLANK:|END BLANK)", line) or re.match(r"^\s*### (BEGIN|END) SOLUTION", line):
            continue
        lines.append(re.sub(r"\s*#\s*BLANK:.*$", "", line))
    return "\n".join(lines)


class Example:
    """A submission under construction: starts from the release, edits by grade_id."""

    def __init__(self, release_nb, source_nb, filled: bool):
        self.release_nb, self.source_nb = release_nb, source_nb
        self.nb = copy.deepcopy(release_nb)
        self.points = {grade_id(c): float(nbgrader_meta(c)["points"]) for c in source_nb.cells
                       if is_grade(c) and not is_solution(c)}
        if filled:
            answers = {grade_id(c): answer_code(c.source) for c in source_nb.cells if is_solution(c)}
            for cell in self.nb.cells:
                if is_solution(cell):
                    cell.source = answers[grade_id(cell)]

    def cell(self, gid):
        for cell in self.nb.cells:
            if grade_id(cell) == gid:
                return cell
        raise KeyError(gid)

    def apply(self, variant: Variant, source_nb):
        """Write ``variant`` (a mistake in one answer cell of the source) into the answer cell."""
        original = next(c.source for c in source_nb.cells if grade_id(c) == variant.cell)
        code = answer_code(variant.source(original))
        self.cell(variant.cell).source = code if original.endswith("\n") else code.rstrip("\n")
        return self

    def replace(self, gid, old, new):
        cell = self.cell(gid)
        if old not in cell.source:
            raise ValueError(f"{old!r} not in cell {gid!r}:\n{cell.source}")
        cell.source = cell.source.replace(old, new, 1)
        return self

    def append(self, gid, text):
        self.cell(gid).source += "\n" + text
        return self

    def prepend(self, gid, text):
        self.cell(gid).source = text + "\n" + self.cell(gid).source
        return self

    def delete(self, gid):
        self.nb.cells = [c for c in self.nb.cells if grade_id(c) != gid]
        return self

    def insert_after(self, gid, code):
        index = next(i for i, c in enumerate(self.nb.cells) if grade_id(c) == gid)
        self.nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
        return self

    def expected(self, zero=(), failed=None):
        """The exact scores when the checks ``failed`` ({grade_id: [check names]}) fail and every
        check of the cells in ``zero`` fails: each cell's points shared by the judge's weights."""
        failed = {**{gid: ALL for gid in zero}, **(failed or {})}
        unknown = set(failed) - set(self.points)
        if unknown:
            raise KeyError(f"no graded cells {sorted(unknown)}")
        judge = _CURRENT["judge"]
        scores, names = {}, {}
        for gid, points in self.points.items():
            checks = judge.cells[gid].checks
            failing = [c.name for c in checks] if failed.get(gid) is ALL else list(failed.get(gid, []))
            missing = set(failing) - {c.name for c in checks}
            if missing:
                raise KeyError(f"{gid} has no checks {sorted(missing)}")
            total = sum(c.weight for c in checks)
            scores[gid] = round(points * sum(c.weight for c in checks if c.name not in failing) / total, 4)
            if failing:
                names[gid] = sorted(failing)
        return {"scores": scores, "failed": names}


LIAR = '''class _Always(float):
    def __sub__(self, other): return _Always(0.0)
    def __rsub__(self, other): return _Always(0.0)
    def __abs__(self): return _Always(0.0)
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __gt__(self, other): return False
    def __ge__(self, other): return True
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__'''


def tiny_examples(release_nb, source_nb):
    """(student, notebook, expected scores, what it shows) for the fixture `tiny`. Each example
    scores what its code deserves: the judge calls the functions, so tampering buys nothing and
    costs nothing beyond the parts whose code is wrong."""
    R = lambda: Example(release_nb, source_nb, True)
    out = []
    add = lambda name, ex, failed=None, note="": out.append((name, ex.nb, ex.expected(failed=failed), note, None))
    CCE_EXAMPLE, CCE_RANDOM, CCE_ZERO = "the 2-sample example", "random 4-class data", "a zero probability (clipping)"
    over_entries = {"cce_tests": [CCE_EXAMPLE, CCE_RANDOM]}
    ex = R(); add("reference", ex, note="every answer right: full marks")
    ex = Example(release_nb, source_nb, False); add("untouched", ex, {g: ALL for g in ex.points}, note="the release as handed out: 0")
    # Typical mistakes
    add("mistake_cce_mean_over_entries", R().replace("cce", "/ y.shape[1]", "/ y.size"), over_entries)
    add("mistake_cce_no_clip", R().replace("cce", "np.log(np.clip(yhat, EPS, 1.0))", "np.log(yhat)"), {"cce_tests": [CCE_ZERO]})
    add("mistake_softmax_no_max", R().replace("softmax", "z - np.max(z, axis=0, keepdims=True)", "z"), {"softmax_tests": ["large logits (stability)"]})
    # The visible example z = [[1, 2], [3, 0]] has equal row sums after the shift, so its columns still sum to 1.
    add("mistake_softmax_wrong_axis", R().replace("softmax", "np.sum(e, axis=0, keepdims=True)", "np.sum(e, axis=1, keepdims=True)"),
        {"softmax_tests": ["large logits (stability)", "random data"]})
    add("mistake_accuracy_rows", R().replace("mean_accuracy", "axis=0) == np.argmax(y, axis=0)", "axis=1) == np.argmax(y, axis=1)"), {"mean_accuracy_tests": ALL})
    # Adversarial
    add("adv_lookalike_float", R().replace("cce", "    EPS = 1e-12", LIAR.replace("\n", "\n    ").join(["    ", "\n    EPS = 1e-12"]))
        .replace("cce", "return -np.sum(y * np.log(np.clip(yhat, EPS, 1.0))) / y.shape[1]", "return _Always(0.0)"), {"cce_tests": ALL},
        "a float subclass whose comparisons always pass travels as the plain 0.0 it is")
    add("adv_stderr_warning", R().prepend("cce", "import warnings, sys").replace(
        "cce", "    EPS = 1e-12", "    EPS = 1e-12\n    warnings.warn('clipping probabilities')\n    print('debug: computing cce', file=sys.stderr)"),
        note="a correct answer that writes to stderr keeps its points")
    add("adv_deleted_test_cell", R().delete("cce_tests"), note="deleted test cell restored and graded")
    add("adv_edited_test_cell", R().replace("cce", "/ y.shape[1]", "/ y.size").replace("cce_tests", "raise CheckFailure", "print"), over_entries, "edited test cell restored")
    add("adv_deleted_answer_cell", R().delete("softmax"), {"softmax_tests": ALL}, "deleted answer cell put back with its blanks")
    add("adv_metadata_points", _metadata_attack(R()), note="points and cell types in the submission are ignored")
    add("adv_infinite_loop", R().append("softmax", "while True:\n    pass"), note="a loop after a correct definition is interrupted; the function is judged on what it returns")
    add("adv_sigint_ignoring_loop", R().append("mean_accuracy", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        {"mean_accuracy_tests": ALL}, "a loop that ignores interrupts: the kernel is killed, the tests after it cannot run")
    add("adv_os_exit", R().replace("mean_accuracy", "    return float(", "    __import__('o' + 's')._exit(1)\n    return float("),
        {"mean_accuracy_tests": ALL}, "os._exit when called: the kernel dies, that part 0")
    add("adv_memory_bomb", R().replace("mean_accuracy", "    return float(", "    hog = bytearray(6 * 1024**3)\n    return float("),
        {"mean_accuracy_tests": ALL}, "memory bomb stopped by the kernel's memory cap")
    add("adv_sys_exit", R().replace("mean_accuracy", "    return float(", "    import sys\n    sys.exit(0)\n    return float("),
        {"mean_accuracy_tests": ALL}, "sys.exit in the graded call")
    add("adv_import_time_error", R().prepend("cce", "import torch_that_is_not_installed"), {"cce_tests": ALL}, "an import error in the answer cell")
    add("adv_huge_output", R().append("cce", "print('x' * 100_000_000)"), note="100 MB of output is truncated, the answer keeps its points")
    add("adv_monkeypatch_numpy", R().replace("softmax", "/ np.sum(e, axis=0, keepdims=True)", "").append("softmax", "np.allclose = lambda *args, **kwargs: True"),
        {"softmax_tests": ALL}, "np.allclose replaced in the kernel: the judge's numpy is its own; the unnormalised softmax fails, mean_accuracy keeps its point")
    add("adv_monkeypatch_alias", R().replace("cce", "/ y.shape[1]", "/ y.size").prepend("cce", "import numpy as xp\nxp.isfinite = lambda a: True"),
        over_entries, "monkeypatch through an alias: the wrong cce fails, nothing else changes")
    add("adv_monkeypatch_builtins", R().replace("cce", "/ y.shape[1]", "/ y.size").prepend("cce", "import builtins\nbuiltins.abs = lambda x: 0.0"),
        over_entries, "builtins.abs replaced in the kernel: the judge's abs is its own")
    add("adv_custom_exception_handler", R().replace("cce", "/ y.shape[1]", "/ y.size").insert_after("imports",
        "ip = get_ipython()\nip.set_custom_exc((Exception,), lambda *args, **kwargs: None)"),
        over_entries, "swallowing exceptions in the kernel hides nothing from the judge")
    add("adv_read_hidden_tests", R().insert_after("imports",
        "hidden = open('../../autograde_tests/fixture_course/tiny/tiny.ipynb').read()"),
        note="the source notebook is not there to read; the correct answers keep their points")
    add("adv_import_solutions", R().replace("cce", "def cce(yhat, y):", "from course_lib.solutions.losses import cce as reference_cce\n\n\ndef cce(yhat, y):"),
        {"cce_tests": ALL}, "the reference solutions are not importable: the cell stops before cce is defined")
    add("adv_caller_frame", R().replace("mean_accuracy", "    return float(", "    import sys\n    frame = sys._getframe(1)\n    return float("),
        note="inspecting the caller's frame finds the probe, which holds no expected values: a correct answer keeps its point")
    return out


def _metadata_attack(ex, answer="cce"):
    for cell in ex.nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            meta["points"] = 100
        if grade_id(cell) == answer:
            meta.update(grade=True, points=50)
    return ex


def catalogued(notebook: str, name: str) -> Variant:
    """The mistake ``name`` of ``notebook`` in the mutation catalog."""
    found = [v for v in MUTANTS if v.notebook == notebook and v.name == name]
    if len(found) != 1:
        raise KeyError(f"{notebook}: {len(found)} catalogued mistakes named {name!r}")
    return found[0]


def typed(notebook: str, cell: str, old: str, new: str) -> Variant:
    """A mistake written by hand: ``old`` replaced by ``new`` in the answer cell ``cell``."""
    return Variant(notebook, cell, "by hand", f"{old} written as {new}", {}, [(old, new)])


_RUNS: dict[str, tuple[NotebookRun, dict]] = {}
_DEFAULT_PRINT = np.get_printoptions()


def first_failure(variant: Variant) -> dict:
    """Where the edited notebook fails first when run in-process (mutation runner): the graded
    cell, the mistake its check names, and the message as the grade report words it."""
    if variant.notebook not in _RUNS:
        # Each notebook starts from NumPy's default print options (as in a fresh kernel) and
        # keeps those its own cells set: the messages print arrays.
        np.set_printoptions(**_DEFAULT_PRINT)
        run = NotebookRun(variant.notebook)
        run.setup()
        _RUNS[variant.notebook] = (run, np.get_printoptions())
    run, printing = _RUNS[variant.notebook]
    with np.printoptions(**printing):
        outcome = run.run(variant)
    if outcome.passed:
        raise AssertionError(f"{variant.notebook}/{variant.cell} {variant.name}: every graded cell passes")
    if variant.mistake is not None and outcome.named != variant.mistake:
        raise AssertionError(f"{variant.notebook}/{variant.cell} {variant.name}: the checks name {outcome.named!r}, "
                             f"not {variant.mistake!r} ({outcome.error})")
    kind, _, value = outcome.error.partition(": ")
    message = value.strip() if kind in ("CheckFailure", "AssertionError") else outcome.error
    return {"check": outcome.cell, "mistake": outcome.named, "message": message}


def _course_examples(release_nb, source_nb, mistakes, extra=(), family=()):
    """The reference, the untouched release, then each (example, variant, graded cells at 0)."""
    R = lambda: Example(release_nb, source_nb, True)
    out = [("reference", R().nb, R().expected(), "every answer right: full marks", None)]
    ex = Example(release_nb, source_nb, False)
    out.append(("untouched", ex.nb, ex.expected(list(ex.points)), "the release as handed out: 0", None))
    for name, variant, failed in mistakes:
        ex = R().apply(variant, source_nb)
        failure = first_failure(variant)
        if failure["check"] not in failed:
            raise AssertionError(f"{name}: fails first in {failure['check']}, not in {sorted(failed)}")
        out.append((name, ex.nb, ex.expected(failed=failed), f"{variant.cell}: {variant.what}", failure))
    for name, ex, failed, note in extra:
        if ex is None:  # written as text by write()
            out.append((name, None, R().expected(failed=failed), note, None))
            continue
        out.append((name, ex.nb, ex.expected(failed=failed), note, None))
    for name, ex, failed, note, named in family:
        out.append((name, ex.nb, {**ex.expected(failed=failed), "named": named}, note, None))
    return out


# The layers assignment as a real student handed it in: formulas right for one sample applied to
# a whole batch, a framework-style loss object (rows as samples) in place of the notebook's cce, a
# training loop over the samples of each batch that reaches into the first layer.
REAL_CCE = '''# Probabilities are clipped to [EPS, 1] so the log never sees 0.
EPS = 1e-12


class CategoricalCrossEntropy:
    """Like the frameworks' loss objects: y_true, y_pred of shape (batch, classes)."""

    def __init__(self, epsilon=1e-7):
        self.epsilon = epsilon

    def __call__(self, y_true, y_pred):
        y_pred = np.clip(y_pred, self.epsilon, 1.0)
        return float(np.mean(-np.sum(y_true * np.log(y_pred), axis=1)))


cce = CategoricalCrossEntropy()'''
REAL_SOFTMAX = '''class Softmax(Layer):
    """a = softmax(z) for every column; backward applies each sample's Jacobian."""

    def forward(self, input):
        """input z (C, N) -> a (C, N), each column positive and summing to 1."""
        self.input = input
        E = np.exp(input - np.max(input))
        self.output = E / np.sum(E)
        return self.output

    def backward(self, output_gradient, learning_rate):
        """dL/da (C, N) -> dL/dz (C, N); no weights, so learning_rate is unused."""
        a = self.output
        # the Jacobian da/dz = diag(a) - a a^T
        T = np.identity(np.size(self.output)) * a - np.outer(a, a)
        return np.dot(T, output_gradient)'''
REAL_LOOP = '''def train_layers(network, X, Y, epochs, batch_size, learning_rate, rng):
    """Mini-batch SGD over a list of layers: X (D, N), Y one-hot (C, N); returns the mean loss per epoch."""
    N = X.shape[1]
    losses = []
    for epoch in range(epochs):
        total_loss = 0.0
        for batch in epoch_batches(N, batch_size, rng):
            gradient_sum = np.zeros_like(network[0].weights)
            for n in batch:
                output = X[:, [n]]
                for layer in network:
                    output = layer.forward(output)
                total_loss += cce(Y[:, [n]], output)
                output_gradient = cce_gradient(Y[:, [n]], output)
                for layer in reversed(network):
                    output_gradient = layer.backward(output_gradient, 0.0)
                gradient_sum += network[0].weights_gradient
            network[0].weights -= learning_rate * gradient_sum
        losses.append(total_loss / N)
    return losses'''
PER_SAMPLE_LOOP = REAL_LOOP.replace("            gradient_sum = np.zeros_like(network[0].weights)\n", "").replace(
    "layer.backward(output_gradient, 0.0)", "layer.backward(output_gradient, learning_rate)").replace(
    "                gradient_sum += network[0].weights_gradient\n            network[0].weights -= learning_rate * gradient_sum\n", "")
CCE_OBJECT = ("cce_tests", ["the worked example (mean over samples)", "random batches", "one sample"])


def real_student(R):
    """The issue's submission: about a third of the points, each mistake named."""
    ex = R()
    ex.cell("cce").source = REAL_CCE
    ex.replace("cce_gradient", "return -y / np.clip(yhat, EPS, 1.0)", "return -y / yhat")
    ex.cell("softmax").source = REAL_SOFTMAX
    ex.replace("dense", "np.dot(output_gradient, self.input.T)", "np.outer(output_gradient, self.input)")
    ex.cell("train_layers").source = REAL_LOOP
    return ex


def layers_batch_family(R):
    """(name, example, failed checks, note, named): one submission per mistake of the
    batch-versus-one-sample family, with the words its feedback must hold."""
    fwd, bwd, dense, loop = "softmax_forward_tests", "softmax_backward_tests", "dense_backward_tests", "train_layers_tests"
    loop_batches = [c for c in ["batches, forward and backward, the epoch losses (spy layers)", "the same with other sizes",
                                "training softmax regression (known-good layers)"]]
    return [
        ("real_student", real_student(R), {
            **dict([CCE_OBJECT]), "cce_gradient_tests": [CCE_ZERO],
            fwd: ["the worked example (each column sums to 1)", "large scores (stability)", "random batches"],
            bwd: ["each sample's Jacobian applied to its gradient (batches)", "samples kept apart"],
            dense: ["the weights gradient", "the gradient-descent step", "the input gradient (weights before the step)"],
            loop: loop_batches},
         "the issue's submission: right for one sample, wrong on batches; about a third of the points",
         {"cce_tests": ["as if rows were samples", "`cce` is no longer the notebook's function but an object of the class "
                                                   "`CategoricalCrossEntropy`", "judged by what it returns"],
          "cce_gradient_tests": ["clip yhat to [EPS, 1] before dividing"],
          fwd: ["right for one sample (a single column), but on a batch all entries together sum to 1"],
          bwd: ["your Jacobian is correct for one sample", "Build one C x C Jacobian per sample, e.g. with einsum over the batch",
                "(12, 12) and (3, 4)"],
          dense: ["your weights gradient has shape (18, 30); it must have the shape of W, (3, 5)", "np.outer flattens"],
          loop: ["the training loop reached into a layer for `.weights`", "only call each layer's forward",
                 "adds up the samples' gradients where their mean is asked"]}),
        ("family_cce_rows_as_samples_object", _cells(R(), cce=REAL_CCE), dict([CCE_OBJECT]),
         "cce rebound to a loss object that takes rows as samples: named, judged by what it returns",
         {"cce_tests": ["as if rows were samples", "`CategoricalCrossEntropy`", "__call__"]}),
        ("family_cce_sum", R().replace("cce", "/ y.shape[1]", ""),
         {"cce_tests": ["the worked example (mean over samples)", "random batches"]},
         "a sum where the mean is asked: the one-sample and clipping checks keep their points",
         {"cce_tests": ["right for one sample, but on a batch this is the sum over the 4 samples"]}),
        ("family_cce_gradient_averaged", R().replace("cce_gradient", "return -y / np.clip(yhat, EPS, 1.0)",
                                                     "return -y / np.clip(yhat, EPS, 1.0) / y.shape[1]"),
         {"cce_gradient_tests": ["the worked example", "random batches"]},
         "a mean where the per-sample gradient is asked", {"cce_gradient_tests": ["divided by the number of samples"]}),
        ("family_softmax_one_sample_formula", R().replace("softmax", "E = np.exp(input - np.max(input, axis=0, keepdims=True))\n"
                                                                    "        self.output = E / np.sum(E, axis=0, keepdims=True)",
                                                          "E = np.exp(input - np.max(input))\n        self.output = E / np.sum(E)"),
         {fwd: ["the worked example (each column sums to 1)", "large scores (stability)", "random batches"]},
         "the one-sample softmax applied to the batch", {fwd: ["right for one sample (a single column)", "axis=0"]}),
        ("family_softmax_backward_flattened_jacobian", _cells(R(), softmax=REAL_SOFTMAX.replace(
            "        E = np.exp(input - np.max(input))\n        self.output = E / np.sum(E)",
            "        E = np.exp(input - np.max(input, axis=0, keepdims=True))\n        self.output = E / np.sum(E, axis=0, keepdims=True)")),
         {bwd: ["each sample's Jacobian applied to its gradient (batches)", "samples kept apart"]},
         "np.identity(np.size(self.output)): the Jacobian of the flattened batch; the one-sample part keeps its points",
         {bwd: ["your Jacobian is correct for one sample", "one C x C Jacobian per sample"]}),
        ("family_dense_outer", R().replace("dense", "np.dot(output_gradient, self.input.T)", "np.outer(output_gradient, self.input)"),
         {dense: ["the weights gradient", "the gradient-descent step", "the input gradient (weights before the step)"]},
         "np.outer in Dense.backward: right for one sample", {dense: ["it must have the shape of W, (3, 5)", "np.outer flattens"]}),
        ("family_loop_per_sample", _cells(R(), train_layers=PER_SAMPLE_LOOP), {loop: loop_batches},
         "a loop over the samples of each batch, one SGD step per sample",
         {loop: ["once per sample", "right for batches of one sample"]}),
        ("family_loop_reaches_into_layer", _cells(R(), train_layers=REAL_LOOP), {loop: loop_batches},
         "per-sample gradients added up by reaching into the first layer, never averaged",
         {loop: ["reached into a layer", "divide the batch's gradient by len(batch)"]}),
        # The cce cell also defines EPS, which cce_gradient uses: both are said to be undefined, and why.
        ("stopped_import_sklearn", R().prepend("cce", "from sklearn.metrics import log_loss"), {"cce_tests": ALL, "cce_gradient_tests": ALL},
         "an import of a package the course does not have in the cce cell: said so, with its line; EPS, defined in that "
         "cell too, is missing in cce_gradient",
         {"cce_tests": [f"`cce` is not defined {STOPPED}", "the course environment has no package `sklearn`"],
          "cce_gradient_tests": [f"`EPS` is not defined {STOPPED}", "the course environment has no package `sklearn`"]}),
        ("family_loop_labels_transposed", R().replace("train_layers", "Y_batch = Y[:, batch]", "Y_batch = Y.T[batch]"),
         {loop: ALL}, "the batch's labels as rows", {loop: ["labels transposed", "samples are columns"]}),
    ]


def _cells(ex, **sources):
    for gid, code in sources.items():
        ex.cell(gid).source = code
    return ex


def layers_examples(release_nb, source_nb):
    R = lambda: Example(release_nb, source_nb, True)
    t = lambda cell, old, new: typed("layers", cell, old, new)
    return _course_examples(release_nb, source_nb, [
        ("mistake_cce_no_clip", t("cce", "np.log(np.clip(yhat, EPS, 1.0))", "np.log(yhat)"), {"cce_tests": [CCE_ZERO]}),
        ("mistake_cce_gradient_sign", t("cce_gradient", "return -y /", "return y /"),
         {"cce_gradient_tests": ["the worked example", "random batches", "one sample"]}),
        ("mistake_softmax_no_max", t("softmax", "np.exp(input - np.max(input, axis=0, keepdims=True))", "np.exp(input)"),
         {"softmax_forward_tests": ["large scores (stability)", "random batches"]}),
        ("mistake_dense_bias_dropped", t("dense", "np.dot(output_gradient, self.input.T)", "np.dot(output_gradient, self.input[:-1].T)"),
         {"dense_backward_tests": ALL}),
        # Right for batches of one sample: that check keeps its point.
        ("mistake_loop_no_batch_mean", t("train_layers", "cce_gradient(Y_batch, output) / len(batch)", "cce_gradient(Y_batch, output)"),
         {"train_layers_tests": ["batches, forward and backward, the epoch losses (spy layers)", "the same with other sizes",
                                 "training softmax regression (known-good layers)"]}),
    ], extra=[
        ("adv_lookalike_float", R().replace("cce", "    return -np.sum", LIAR.replace("\n", "\n    ").join(["    ", "\n    return _Always(0.0)\n    return -np.sum"])),
         {"cce_tests": ALL}, "a float subclass whose comparisons always pass travels as the plain 0.0 it is"),
    ] + layers_adversarial(R), family=layers_batch_family(R))


CCE_ZERO = "probabilities of exactly 0 (clipping)"
STOPPED = "because your answer cell that defines it stopped on line 1 of that cell"
# Pieces of the adversarial layers submissions.
WRONG_DENSE = ("np.dot(output_gradient, self.input.T)", "np.dot(output_gradient, self.input[:-1].T)")
SOFTMAX_NORMALISED = "self.output = E / np.sum(E, axis=0, keepdims=True)"
REPO_NOTEBOOK = ("from course_lib.data import find_data_file\n"
                 "_source = find_data_file().parents[1] / ('note' + 'books') / 'layers' / ('layers.' + 'ipy' + 'nb')\n"
                 "try:\n    _hidden = np.fromfile(_source, dtype=np.uint8).tobytes().decode()\n"
                 "except OSError:\n    _hidden = ''")


# The tricks that fooled a grader deciding in the kernel, each in one extra cell of an
# otherwise untouched release (nothing implemented): the judge gives them nothing.
INPUT_TRANSFORMER = r"""import re, sys
_shell = sys.displayhook.shell
def _cut(lines):
    text = ''.join(lines)
    token = re.findall(r"print\('([0-9a-f]{32})'\)", text)
    if 'check_' in text or 'probe' in text:
        return [f"print('{token[-1]}')\n"] if token else ['pass\n']
    return lines
_shell.input_transformers_post.append(_cut)"""
AST_TRANSFORMER = r"""import ast, sys
class _Gut(ast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        name = getattr(node.func, 'id', '') or getattr(node.func, 'attr', '')
        return ast.Constant(None) if name.startswith('check_') or name == 'run' else node
sys.displayhook.shell.ast_transformers.append(_Gut())"""
LINECACHE_STUBS = r"""import linecache, re, sys
def _sentinel():
    for name, entry in list(linecache.cache.items()):
        found = re.findall(r"'([0-9a-f]{32})'", ''.join(entry[2]))
        if found:
            return found[-1]
    return ''
def cce(y, yhat):
    print(_sentinel())
    return 0.0
cce_gradient = Softmax = Dense = train_layers = cce
sys.displayhook.shell.showtraceback = lambda *args, **kwargs: None"""
SETTRACE = r"""import sys
import numpy as _numpy
class _Lenient:
    def __getattr__(self, name):
        return (lambda *args, **kwargs: True) if name in ('allclose', 'isclose', 'array_equal') else getattr(_numpy, name)
def _tracer(frame, event, arg):
    if event == 'call' and 'checks' in frame.f_code.co_filename:
        frame.f_globals['np'] = _Lenient()
    return _tracer
getattr(sys, 'set' + 'trace')(_tracer)"""
WRITTEN_MODULE = r"""import numpy as np
_code = '''import builtins, numpy
numpy.allclose = lambda *a, **k: True
builtins.abs = lambda x: 0.0
import course_lib.checks.layers as _c
for _n in dir(_c):
    if _n.startswith('check_'):
        setattr(_c, _n, lambda *a, **k: print('all checks passed'))
'''
np.frombuffer(_code.encode(), dtype=np.uint8).tofile('helpers_cache.py')
import helpers_cache"""
REBINDINGS = r"""import numpy as _numpy
class Lenient:
    def __getattr__(self, name):
        return (lambda *args, **kwargs: True) if name == 'allclose' else getattr(_numpy, name)
np = Lenient()
def abs(x):
    return 0.0
check_cce = check_cce_gradient = check_softmax_forward = check_softmax_backward = lambda *args, **kwargs: None
check_dense_backward = check_training_loop = lambda *args, **kwargs: None
_n = _numpy
_n.allclose = lambda *a, **k: True
print.__self__.abs = abs"""
READ_EXPECTED = r"""def cce(y, yhat):
    return globals().get('_expected', 0.0)
def cce_gradient(y, yhat):
    return globals().get('_expected', y)"""
HARMLESS_EXTRAS = ["import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (8, 4)",
                   "%%bash\necho hello",
                   "import warnings\nwarnings.warn('just a warning')\nprint('checking my work')",
                   "fig, ax = plt.subplots()\nax.plot([1, 2, 3], [3, 1, 2])\nplt.show()",
                   "%timeit -n 3 -r 1 sum(range(100))"]


def _with_cells(example, after, sources):
    for code in reversed(sources):
        example.insert_after(after, code)
    return example


def layers_adversarial(R):
    """(student, example, failed checks, note): the adversarial set against layers.ipynb's cells.
    The judge calls the student's functions and scores what they return: a correct answer keeps
    its points whatever else the notebook does, and tampering buys nothing."""
    dense, loop, fwd, bwd = "dense_backward_tests", "train_layers_tests", "softmax_forward_tests", "softmax_backward_tests"
    U = lambda: Example(R().release_nb, R().source_nb, False)
    everything = {g: ALL for g in ["cce_tests", "cce_gradient_tests", fwd, bwd, dense, loop]}
    return [
        ("adv_stderr_warning", R().prepend("softmax", "import sys\nimport warnings").replace(
            "softmax", "        self.input = input", "        self.input = input\n"
            "        warnings.warn('large logits are shifted by the column max')\n        print('debug: softmax forward', file=sys.stderr)"),
         {}, "a correct Softmax that warns and writes to stderr keeps its points"),
        ("adv_huge_output", R().append("cce", "print('x' * 100_000_000)"), {},
         "100 MB printed in the cce cell is truncated, the answers keep their points"),
        ("adv_deleted_test_cell", R().delete("train_layers_tests"), {}, "train_layers_tests deleted: restored and graded"),
        ("adv_edited_test_cells", R().replace("dense", *WRONG_DENSE).replace("dense_backward_tests", "check_dense_backward(Dense)", "print('passed')")
         .replace("train_layers_tests", "check_training_loop(train_layers)", "pass"),
         {dense: ALL}, "wrong Dense.backward, its test cells edited: restored, Dense's fails, the loop's passes"),
        ("adv_deleted_answer_cell", R().delete("cce_gradient"), {"cce_gradient_tests": ALL},
         "cce_gradient's cell deleted: put back with its blanks, its test fails (the loop is judged with its own losses)"),
        ("adv_metadata_points", _metadata_attack(R(), "softmax"), {}, "points and cell types in the submission are ignored"),
        ("adv_infinite_loop", R().append("dense", "\nwhile True:\n    pass"), {},
         "while True after a correct Dense class: the cell is interrupted, Dense is judged on what it returns"),
        ("adv_sigint_ignoring_loop", R().append("train_layers", "\nimport signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
         {loop: ALL}, "a loop that ignores interrupts after train_layers: the kernel is killed before the loop's tests"),
        ("adv_os_exit", R().replace("train_layers", "    N = X.shape[1]", "    __import__('o' + 's')._exit(1)\n    N = X.shape[1]"),
         {loop: ALL}, "os._exit in the training loop kills the kernel when the tests call it"),
        ("adv_memory_bomb", R().replace("dense", "        input_gradient =", "        hog = bytearray(6 * 1024**3)\n        input_gradient ="),
         {dense: ALL}, "memory bomb in Dense.backward stopped by the kernel's memory cap"),
        ("adv_sys_exit", R().replace("cce_gradient", "    return -y", "    import sys\n    sys.exit(0)\n    return -y"),
         {"cce_gradient_tests": ALL}, "sys.exit in cce_gradient"),
        ("adv_import_time_error", R().prepend("softmax", "import torch_that_is_not_installed"),
         {fwd: ALL, bwd: ALL}, "an import error in the Softmax cell: Softmax is never defined"),
        ("adv_invalid_json", None, {g: ALL for g in ["cce_tests", "cce_gradient_tests", fwd, bwd, dense, loop]}, "invalid JSON: 0, others unaffected"),
        ("adv_monkeypatch_numpy", R().replace("softmax", SOFTMAX_NORMALISED, "self.output = E").append("softmax", "\nnp.allclose = lambda *args, **kwargs: True"),
         {fwd: ALL}, "np.allclose replaced in the kernel: the judge's numpy is its own; the unnormalised forward fails, the rest keeps its points"),
        ("adv_monkeypatch_alias", R().replace("dense", *WRONG_DENSE).prepend("dense", "import numpy as linalg\nlinalg.allclose = lambda *args, **kwargs: True"),
         {dense: ALL}, "np.allclose replaced through an alias: the wrong Dense still fails"),
        ("adv_monkeypatch_builtins", R().append("cce_gradient", "\nimport builtins\nbuiltins.abs = lambda x: 0.0"),
         {}, "builtins.abs replaced in the kernel: nothing the judge uses; correct answers keep their points"),
        ("adv_custom_exception_handler", R().replace("dense", *WRONG_DENSE).insert_after("softmax_backward_tests",
            "ip = get_ipython()\nip.set_custom_exc((Exception,), lambda *args, **kwargs: None)"),
         {dense: ALL}, "exceptions swallowed in the kernel: the wrong Dense still fails"),
        ("adv_caller_frame", R().replace("softmax", "        a = self.output", "        import sys\n        caller = sys._getframe(1)\n        a = self.output"),
         {}, "Softmax.backward inspects its caller, the probe, which holds no expected values"),
        ("adv_import_solutions", R().prepend("dense", "try:\n    from course_lib.solutions.dense import Dense as _Reference\nexcept ImportError:\n    _Reference = None"),
         {}, "the reference solutions are not importable; the student's own Dense is judged (and the import noted)"),
        ("adv_read_source_notebook", R().prepend("softmax", REPO_NOTEBOOK),
         {}, "reads notebooks/layers/layers.ipynb by a path built at run time: the file is not in the grading sandbox "
         "(OSError, caught), so the attack gets nothing and the correct answer keeps its points"),
        ("adv_harmless_extras", _with_cells(R(), "imports", HARMLESS_EXTRAS), {},
         "a correct notebook with extra cells (rcParams, a shell magic, printing, warnings, a plot, %timeit) keeps full marks"),
    ] + [(name, _with_cells(U(), "imports", [code]), everything, note) for name, code, note in [
        ("adv_input_transformer", INPUT_TRANSFORMER, "an IPython input transformer that cuts test cells down: nothing implemented, 0"),
        ("adv_ast_transformer", AST_TRANSFORMER, "an AST transformer reached through sys.displayhook.shell: nothing implemented, 0"),
        ("adv_linecache_stubs", LINECACHE_STUBS, "stubs printing the test's token read from linecache, tracebacks hidden: 0"),
        ("adv_settrace", SETTRACE, "sys.settrace swapping in a lenient numpy inside the checks: 0"),
        ("adv_written_module", WRITTEN_MODULE, "a module written with ndarray.tofile and imported, patching numpy, builtins and the checks: 0"),
        ("adv_rebinding_names", REBINDINGS, "np, abs and the check functions rebound in the notebook, numpy patched through an alias: 0"),
        ("adv_read_expected", READ_EXPECTED, "functions returning the hidden test's _expected from globals(): it is never there, 0"),
    ]]


def softmax_toy_batch_family(R):
    """(name, example, failed checks, note, named) for the batch-versus-one-sample mistakes of
    the toy notebook: loops over samples that forget to average, rows taken as samples."""
    WORKED, RANDOM, ONE = "the worked example", "random batches", "one sample"
    loss_loop = ("    total = 0.0\n    for n in range(N):\n        total -= log_P[y[n], n]\n    return total")
    gradient_loop = ("    gradient = np.zeros_like(W)\n    for n in range(N):\n"
                     "        gradient += np.outer(dZ[:, n], X[:, n])\n    return gradient")
    return [
        ("family_loss_loop_not_averaged", R().replace("softmax_loss", "    return -np.mean(log_P[y, np.arange(N)])", loss_loop),
         {"softmax_loss_tests": ["the worked example (mean over samples)", RANDOM]},
         "a loop over the samples that adds up their losses and never averages: right for one sample",
         {"softmax_loss_tests": ["right for one sample", "mean"]}),
        ("family_gradient_loop_not_averaged", R().replace("softmax_gradient", "    return np.dot(dZ, X.T) / N", gradient_loop),
         {"softmax_gradient_tests": [WORKED, RANDOM]},
         "the samples' outer products added up in a loop, never averaged: right for one sample",
         {"softmax_gradient_tests": ["right for one sample", "divide by the number of samples N"]}),
        ("family_loss_rows_as_samples", R().replace("softmax_loss", "np.sum(np.exp(Z), axis=0, keepdims=True)",
                                                    "np.sum(np.exp(Z), axis=1, keepdims=True)"),
         {"softmax_loss_tests": ALL},
         "the probabilities normalised along rows, as if rows were samples (wrong for one sample too)",
         {"softmax_loss_tests": ["as if rows were samples"]}),
    ]


# mini_batches' checks.
EPOCH = "every sample once per epoch, in batches of 3 (the last one smaller)"
GENERATOR = "shuffled with the Generator given (repeatable, a new order every epoch)"
OTHER_SIZES = "other sizes (12 samples in 4s, a batch larger than the data, batches of one)"


def softmax_toy_stopped_and_replaced(R):
    """(name, example, failed checks, note, named): answer cells that stop with an error before
    defining their function (said in words with the line, not as an unfilled blank), and a
    graded function rebound to a lambda (named, judged by what it returns)."""
    return [
        ("stopped_import_torch", R().prepend("softmax_loss", "import torch"), {"softmax_loss_tests": ALL},
         "an import of a package the course does not have, first line of the softmax_loss cell",
         {"softmax_loss_tests": [f"`softmax_loss` is not defined {STOPPED}",
                                 "the course environment has no package `torch`", "NumPy"]}),
        ("stopped_index_error", R().prepend("softmax_gradient", 'print("P has", P.shape[2], "columns")'),
         {"softmax_gradient_tests": ALL}, "a debugging line that raises before softmax_gradient is defined",
         {"softmax_gradient_tests": [f"`softmax_gradient` is not defined {STOPPED}",
                                     "an index out of range (IndexError: tuple index out of range)"]}),
        ("stopped_undefined_name", R().prepend("mini_batches", "rng = np.random.default_rng(seed)"),
         {"mini_batches_tests": ALL}, "a name never defined, used before mini_batches is defined",
         {"mini_batches_tests": [f"`mini_batches` is not defined {STOPPED}",
                                 "the name `seed` is not defined there"]}),
        ("replaced_mini_batches_lambda", R().append("mini_batches", "mini_batches = lambda n, b, rng: np.array_split(rng.permutation(n), b)"),
         {"mini_batches_tests": [EPOCH, OTHER_SIZES]}, "mini_batches rebound to a lambda that makes batch_size batches: named, "
                                                       "judged by what it returns",
         {"mini_batches_tests": ["`mini_batches` is no longer the notebook's function but a lambda", "judged by what it returns",
                                 "batch_size is the size of each batch"]}),
    ]


def softmax_toy_examples(release_nb, source_nb):
    c = lambda name: catalogued("softmax_toy", name)
    R = lambda: Example(release_nb, source_nb, True)
    WORKED, RANDOM = "the worked example", "random batches"
    return _course_examples(release_nb, source_nb, [
        ("mistake_l2_penalises_bias", c("l2_on_bias"),
         {"softmax_loss_l2_tests": ["the penalty on the worked example", "random weights and alphas"]}),
        # softmax_gradient_l2 is judged with a known-good softmax_gradient: the mistake is charged once.
        ("mistake_gradient_not_averaged", c("gradient_not_averaged"), {"softmax_gradient_tests": [WORKED, RANDOM]}),
        ("mistake_gradient_missing_minus_one", c("gradient_missing_minus_one"), {"softmax_gradient_tests": [WORKED, RANDOM, "one sample"]}),
        ("mistake_gradient_transposed", c("gradient_transposed"), {"softmax_gradient_tests": [WORKED, RANDOM, "one sample"]}),
        ("mistake_l2_gradient_missing_two", c("l2_gradient_missing_two"),
         {"softmax_gradient_l2_tests": [WORKED, "random weights and alphas"]}),
        # Right values, X changed in place: only the check that looks for it fails.
        ("mistake_gradient_modifies_x", c("modifies_input"), {"softmax_gradient_tests": ["W, X and y left unchanged"]}),
        ("mistake_loss_log_of_zero", c("loss_log_of_zero"), {"softmax_loss_tests": ["scores far apart (log-softmax)"]}),
        # mini_batches: each part judged on its own (the epoch's structure, the Generator, other sizes).
        ("mistake_batches_not_shuffled", c("batches_not_shuffled"), {"mini_batches_tests": [GENERATOR]}),
        ("mistake_batches_without_generator", c("batches_without_generator"), {"mini_batches_tests": [GENERATOR]}),
        ("mistake_batches_drop_remainder", c("batches_drop_remainder"), {"mini_batches_tests": [EPOCH, OTHER_SIZES]}),
        ("mistake_batches_overlap", c("batches_overlap"), {"mini_batches_tests": [EPOCH, OTHER_SIZES]}),
    ], family=softmax_toy_batch_family(R) + softmax_toy_stopped_and_replaced(R))


def mnist_softmax_examples(release_nb, source_nb):
    c = lambda name: catalogued("mnist_softmax", name)
    t = lambda cell, old, new: typed("mnist_softmax", cell, old, new)
    ACCURACY = "W_final's validation accuracy (measured by the grader) reaches 90.5%"
    SHAPE = "W_final: a model of W's shape"
    CHOICE = "the choice is made on the validation data"
    return _course_examples(release_nb, source_nb, [
        # predict(W, X_val) fails in the choice's cell too: W_final is never trained.
        ("mistake_predict_wrong_axis", c("predict_wrong_axis"), {"predict_tests": ALL, "chosen_model_tests": [SHAPE, ACCURACY]}),
        # Normalised over the whole matrix: wrong values, but adding 1000 to the scores changes nothing.
        ("mistake_softmax_whole_matrix", c("softmax_whole_matrix"),
         {"softmax_tests": ["columns sum to 1 (the worked example)", "random and float32 scores"]}),
        ("mistake_softmax_no_max_shift", c("softmax_no_max_shift"),
         {"softmax_tests": ["large scores and samples far apart (stability)"]}),
        ("mistake_predict_argmin", c("predict_argmin"), {"predict_tests": ALL}),
        # dW is judged against the exact gradient, not through the loss: the sum costs the loss alone.
        ("mistake_loss_summed", c("loss_summed"), {"loss_tests": ["W = 0 and the worked example"]}),
        ("mistake_gradient_missing_1_over_n", c("gradient_missing_1_over_N"),
         {"gradient_tests": ["dW against the exact gradient", "dW on random batches"]}),
        # The final task: W_final is measured by the grader on its own validation split, the choice
        # by calling choose_hyperparameters on the grader's small problem.
        ("mistake_chosen_on_test_set", t("choose_model", "accuracy(y_val, predict(W, X_val))", "accuracy(y_test, predict(W, X_test))"),
         {"chosen_model_tests": [CHOICE]}),
        ("mistake_chosen_on_training_data", t("choose_model", "accuracy(y_val, predict(W, X_val))", "accuracy(y_fit, predict(W, X_fit))"),
         {"chosen_model_tests": [CHOICE]}),
        ("mistake_never_trained", t("choose_model", "W_final, history = train(X_fit, y_fit, best_l2, epochs=3, batch_size=best_batch_size)",
                                    "W_final, history = np.zeros((C, X_fit.shape[0])), None"), {"chosen_model_tests": [ACCURACY]}),
        ("mistake_too_strong_l2", t("choose_model", "l2_grid, batch_sizes = [0.0, 1e-4, 1e-3, 1e-2], [50, 500]",
                                    "l2_grid, batch_sizes = [1e-2, 1e-1, 1.0], [50, 500]"), {"chosen_model_tests": [ACCURACY]}),
        ("mistake_choice_argmin", t("choose_model", "np.argmax(table)", "np.argmin(table)"), {"chosen_model_tests": [ACCURACY, CHOICE]}),
        # The batch-versus-one-sample family: right for one sample (a single column), wrong on a batch;
        # the single-sample check keeps that part's credit.
        ("mistake_softmax_wrong_axis", c("softmax_wrong_axis"),
         {"softmax_tests": ["columns sum to 1 (the worked example)", "large scores and samples far apart (stability)",
                            "random and float32 scores", "a single sample (one column)"]}),
        # One argmax over the whole score matrix: right for one sample; on a batch the choice's cell stops, so
        # W_final is never trained.
        ("mistake_predict_flat_argmax", c("predict_flat_argmax"),
         {"predict_tests": ["the worked example (one label per sample)", "random weights"], "chosen_model_tests": [SHAPE, ACCURACY]}),
        ("mistake_loss_labels_select_rows", t("loss_and_gradient", "loss = -np.mean(Z[y, columns] - np.log(S))", "loss = -np.mean(Z[y] - np.log(S))"),
         {"loss_tests": ["W = 0 and the worked example"]}),
    ])


def mlp_backprop_examples(release_nb, source_nb):
    c = lambda name: catalogued("mlp_backprop", name)
    t = lambda cell, old, new: typed("mlp_backprop", cell, old, new)
    OUTPUT, HIDDEN = "the output layer's gradient", "the hidden layer's gradient (given the output layer's)"
    LOSS, SINGLE = "the loss", "a single sample (N = 1)"
    return _course_examples(release_nb, source_nb, [
        # The hidden layer is judged given the output layer's gradient: a factor there is charged once;
        # a missing 1/N is right for a single sample (N = 1), which keeps its credit.
        ("mistake_output_gradient_not_averaged", c("gradient_missing_1_over_N"), {"compute_grad_loss_tests": [OUTPUT]}),
        ("mistake_gradient_sign", c("gradient_sign"), {"compute_grad_loss_tests": [OUTPUT, SINGLE]}),
        ("mistake_gradient_transposed", c("gradient_transposed"), {"compute_grad_loss_tests": [OUTPUT, SINGLE]}),
        ("mistake_hidden_derivative_a", c("hidden_derivative_wrong"), {"compute_grad_loss_tests": [HIDDEN, SINGLE]}),
        # A shape error raised in compute_grad_loss: nothing it returns can be judged.
        ("mistake_backprop_through_bias", c("hidden_backprop_through_bias"), {"compute_grad_loss_tests": ALL}),
        # compute_grad_loss is judged with a known-good forward: a mistake in forward costs forward alone.
        ("mistake_forward_no_max_shift", c("output_no_max_shift"), {"forward_tests": ["output scores around 1000 (stability)"]}),
        # The batch-versus-one-sample family: right for one sample, wrong (or raising) on a batch.
        ("mistake_outer_per_sample", t("compute_grad_loss", "np.dot(dZ_output, A.T)", "np.outer(dZ_output, A)"),
         {"compute_grad_loss_tests": [LOSS, OUTPUT, HIDDEN]}),
        ("mistake_labels_transposed", t("compute_grad_loss", "dZ_output = (P - Y) / N", "dZ_output = (P - Y.T) / N"),
         {"compute_grad_loss_tests": ALL}),
        ("mistake_gradient_divided_twice", t("compute_grad_loss", "np.dot(dZ_output, A.T), np.sum(dZ_output, axis=1, keepdims=True)",
                                             "np.dot(dZ_output, A.T) / N, np.sum(dZ_output, axis=1, keepdims=True) / N"),
         {"compute_grad_loss_tests": [OUTPUT]}),
    ])


BUILDERS = {"tiny": tiny_examples, "layers": layers_examples, "softmax_toy": softmax_toy_examples,
            "mnist_softmax": mnist_softmax_examples, "mlp_backprop": mlp_backprop_examples}


def write(assignment: str, build: Path) -> None:
    course = course_for(assignment, build)
    _CURRENT["judge"] = load_judge(course.judge(assignment))
    release(course, assignment)
    release_nb = nbformat.read(str(course.release_notebook(assignment)), as_version=4)
    source_nb = nbformat.read(str(course.source_notebook(assignment)), as_version=4)
    folder = EXAMPLES / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.ipynb"):
        old.unlink()
    expected = {}
    for name, nb, scores, note, failure in BUILDERS[assignment](release_nb, source_nb):
        if nb is None:
            (folder / f"{name}.ipynb").write_text('{"cells": [ this is not JSON')
        else:
            nbformat.write(nb, str(folder / f"{name}.ipynb"))
        expected[name] = {**scores, "note": note}
        if failure is not None:
            expected[name]["failure"] = failure
    if assignment == "tiny":
        (folder / "adv_invalid_json.ipynb").write_text('{"cells": [ this is not JSON')
        expected["adv_invalid_json"] = {**Example(release_nb, source_nb, False).expected(zero=list(expected["reference"]["scores"])),
                                        "note": "invalid JSON: 0, others unaffected"}
    (folder / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"{assignment}: {len(expected)} examples in {folder}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as build:
        for assignment in sys.argv[1:] or list(BUILDERS):
            write(assignment, Path(build))
