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

from course_lib.grading.course import Course, grade_id, is_grade, is_solution, nbgrader_meta  # noqa: E402
from course_lib.grading.release import release  # noqa: E402
from mutant_catalog import MUTANTS  # noqa: E402
from mutation import NotebookRun, Variant  # noqa: E402

EXAMPLES = HERE / "examples"
FIXTURE_SOURCE = HERE / "fixture_course"


def course_for(assignment: str, build: Path) -> Course:
    source = FIXTURE_SOURCE if (FIXTURE_SOURCE / assignment).is_dir() else ROOT / "notebooks"
    return Course(root=ROOT, source=source, build=build)


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

    def expected(self, zero=()):
        unknown = set(zero) - set(self.points)
        if unknown:
            raise KeyError(f"no graded cells {sorted(unknown)}")
        return {gid: 0.0 if gid in zero else points for gid, points in self.points.items()}


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
    """(student, notebook, expected scores, what it shows) for the fixture `tiny`."""
    R = lambda: Example(release_nb, source_nb, True)
    out = []
    add = lambda name, ex, zero=(), note="": out.append((name, ex.nb, ex.expected(zero), note, None))
    ex = R(); add("reference", ex, note="every answer right: full marks")
    ex = Example(release_nb, source_nb, False); add("untouched", ex, zero=list(ex.points), note="the release as handed out: 0")
    # Typical mistakes
    add("mistake_cce_mean_over_entries", R().replace("cce", "/ y.shape[1]", "/ y.size"), ["cce_tests"])
    add("mistake_cce_no_clip", R().replace("cce", "np.log(np.clip(yhat, EPS, 1.0))", "np.log(yhat)"), ["cce_tests"])
    add("mistake_softmax_no_max", R().replace("softmax", "z - np.max(z, axis=0, keepdims=True)", "z"), ["softmax_tests"])
    add("mistake_softmax_wrong_axis", R().replace("softmax", "np.sum(e, axis=0, keepdims=True)", "np.sum(e, axis=1, keepdims=True)"), ["softmax_tests"])
    add("mistake_accuracy_rows", R().replace("mean_accuracy", "axis=0) == np.argmax(y, axis=0)", "axis=1) == np.argmax(y, axis=1)"), ["mean_accuracy_tests"])
    # Adversarial
    add("adv_lookalike_float", R().replace("cce", "    EPS = 1e-12", LIAR.replace("\n", "\n    ").join(["    ", "\n    EPS = 1e-12"]))
        .replace("cce", "return -np.sum(y * np.log(np.clip(yhat, EPS, 1.0))) / y.shape[1]", "return _Always(0.0)"), ["cce_tests"],
        "float subclass whose comparisons always pass")
    add("adv_stderr_warning", R().prepend("cce", "import warnings, sys").replace(
        "cce", "    EPS = 1e-12", "    EPS = 1e-12\n    warnings.warn('clipping probabilities')\n    print('debug: computing cce', file=sys.stderr)"),
        note="a correct answer that writes to stderr keeps its points")
    add("adv_deleted_test_cell", R().delete("cce_tests"), note="deleted test cell restored and graded")
    add("adv_edited_test_cell", R().replace("cce", "/ y.shape[1]", "/ y.size").replace("cce_tests", "raise CheckFailure", "print"), ["cce_tests"], "edited test cell restored")
    add("adv_deleted_answer_cell", R().delete("softmax"), ["softmax_tests"], "deleted answer cell put back with its blanks")
    add("adv_metadata_points", _metadata_attack(R()), note="points and cell types in the submission are ignored")
    add("adv_infinite_loop", R().append("softmax", "while True:\n    pass"), ["softmax_tests"], "loop after the definition: that part 0")
    add("adv_sigint_ignoring_loop", R().append("mean_accuracy", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        ["mean_accuracy_tests"], "a loop that ignores interrupts: the kernel is killed")
    add("adv_os_exit", R().replace("mean_accuracy", "    return float(", "    __import__('o' + 's')._exit(1)\n    return float("),
        ["mean_accuracy_tests"], "os._exit kills the kernel")
    add("adv_memory_bomb", R().replace("mean_accuracy", "    return float(", "    hog = bytearray(6 * 1024**3)\n    return float("),
        ["mean_accuracy_tests"], "memory bomb stopped by the kernel's memory cap")
    add("adv_sys_exit", R().replace("mean_accuracy", "    return float(", "    import sys\n    sys.exit(0)\n    return float("),
        ["mean_accuracy_tests"], "sys.exit in the graded call")
    add("adv_import_time_error", R().prepend("cce", "import torch_that_is_not_installed"), ["cce_tests"], "an import error in the answer cell")
    add("adv_huge_output", R().append("cce", "print('x' * 100_000_000)"), note="100 MB of output is truncated, the answer keeps its points")
    add("adv_monkeypatch_numpy", R().replace("softmax", "/ np.sum(e, axis=0, keepdims=True)", "").append("softmax", "np.allclose = lambda *args, **kwargs: True"),
        ["softmax_tests", "mean_accuracy_tests"], "monkeypatched numpy: flagged")
    add("adv_monkeypatch_alias", R().replace("cce", "/ y.shape[1]", "/ y.size").prepend("cce", "import numpy as xp\nxp.isfinite = lambda a: True"),
        ["cce_tests", "softmax_tests", "mean_accuracy_tests"], "monkeypatch through an alias: flagged")
    add("adv_monkeypatch_builtins", R().replace("cce", "/ y.shape[1]", "/ y.size").prepend("cce", "import builtins\nbuiltins.abs = lambda x: 0.0"),
        ["cce_tests", "softmax_tests", "mean_accuracy_tests"], "monkeypatched builtins: flagged")
    add("adv_custom_exception_handler", R().replace("cce", "/ y.shape[1]", "/ y.size").insert_after("imports",
        "ip = get_ipython()\nip.set_custom_exc((Exception,), lambda *args, **kwargs: None)"),
        ["cce_tests", "softmax_tests", "mean_accuracy_tests"], "swallowing exceptions: flagged, and the sentinel never prints")
    add("adv_read_hidden_tests", R().insert_after("imports",
        "hidden = open('../../autograde_tests/fixture_course/tiny/tiny.ipynb').read()"),
        ["cce_tests", "softmax_tests", "mean_accuracy_tests"], "reading the source notebook from disk: flagged")
    add("adv_import_solutions", R().replace("cce", "def cce(yhat, y):", "from course_lib.solutions.losses import cce as reference_cce\n\n\ndef cce(yhat, y):"),
        ["cce_tests"], "importing the reference solutions: not importable, and flagged")
    add("adv_caller_frame", R().replace("mean_accuracy", "    return float(", "    import sys\n    frame = sys._getframe(1)\n    return float("),
        ["mean_accuracy_tests"], "inspecting the test's frame: flagged")
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


def _course_examples(release_nb, source_nb, mistakes, extra=()):
    """The reference, the untouched release, then each (example, variant, graded cells at 0)."""
    R = lambda: Example(release_nb, source_nb, True)
    out = [("reference", R().nb, R().expected(), "every answer right: full marks", None)]
    ex = Example(release_nb, source_nb, False)
    out.append(("untouched", ex.nb, ex.expected(list(ex.points)), "the release as handed out: 0", None))
    for name, variant, zero in mistakes:
        ex = R().apply(variant, source_nb)
        failure = first_failure(variant)
        if failure["check"] not in zero:
            raise AssertionError(f"{name}: fails first in {failure['check']}, not in {zero}")
        out.append((name, ex.nb, ex.expected(zero), f"{variant.cell}: {variant.what}", failure))
    for name, ex, zero, note in extra:
        if ex is None:  # written as text by write()
            out.append((name, None, R().expected(zero), note, None))
            continue
        out.append((name, ex.nb, ex.expected(zero), note, None))
    return out


def layers_examples(release_nb, source_nb):
    R = lambda: Example(release_nb, source_nb, True)
    t = lambda cell, old, new: typed("layers", cell, old, new)
    return _course_examples(release_nb, source_nb, [
        ("mistake_cce_no_clip", t("cce", "np.log(np.clip(yhat, EPS, 1.0))", "np.log(yhat)"), ["cce_tests"]),
        ("mistake_cce_gradient_sign", t("cce_gradient", "return -y /", "return y /"), ["cce_gradient_tests"]),
        ("mistake_softmax_no_max", t("softmax", "np.exp(input - np.max(input, axis=0, keepdims=True))", "np.exp(input)"),
         ["softmax_forward_tests"]),
        ("mistake_dense_bias_dropped", t("dense", "np.dot(output_gradient, self.input.T)", "np.dot(output_gradient, self.input[:-1].T)"),
         ["dense_backward_tests"]),
        ("mistake_loop_no_batch_mean", t("train_layers", "cce_gradient(Y_batch, output) / len(batch)", "cce_gradient(Y_batch, output)"),
         ["train_layers_tests"]),
    ], extra=[
        ("adv_lookalike_float", R().replace("cce", "    return -np.sum", LIAR.replace("\n", "\n    ").join(["    ", "\n    return _Always(0.0)\n    return -np.sum"])),
         ["cce_tests"], "float subclass whose comparisons always pass"),
    ] + layers_adversarial(R))


# Pieces of the adversarial layers submissions.
WRONG_DENSE = ("np.dot(output_gradient, self.input.T)", "np.dot(output_gradient, self.input[:-1].T)")
SOFTMAX_NORMALISED = "self.output = E / np.sum(E, axis=0, keepdims=True)"
REPO_NOTEBOOK = ("from course_lib.data import find_data_file\n"
                 "_source = find_data_file().parents[1] / ('note' + 'books') / 'layers' / ('layers.' + 'ipy' + 'nb')\n"
                 "try:\n    _hidden = np.fromfile(_source, dtype=np.uint8).tobytes().decode()\n"
                 "except OSError:\n    _hidden = ''")


def layers_adversarial(R):
    """(student, example, graded cells at 0, note): the adversarial set against layers.ipynb's cells.
    A correct answer keeps its points; tampering costs the part it touches (a flag covers every
    later graded cell, an answer cell that runs over time the tests right after it)."""
    return [
        ("adv_stderr_warning", R().prepend("softmax", "import sys\nimport warnings").replace(
            "softmax", "        self.input = input", "        self.input = input\n"
            "        warnings.warn('large logits are shifted by the column max')\n        print('debug: softmax forward', file=sys.stderr)"),
         [], "a correct Softmax that warns and writes to stderr keeps its points"),
        ("adv_huge_output", R().append("cce", "print('x' * 100_000_000)"), [],
         "100 MB printed in the cce cell is truncated, the answers keep their points"),
        ("adv_deleted_test_cell", R().delete("train_layers_tests"), [], "train_layers_tests deleted: restored from the source and graded"),
        ("adv_edited_test_cells", R().replace("dense", *WRONG_DENSE).replace("dense_backward_tests", "check_dense_backward(Dense)", "print('passed')")
         .replace("train_layers_tests", "check_training_loop(train_layers)", "pass"),
         ["dense_backward_tests"], "wrong Dense.backward, its test cells edited: restored, Dense's fails, the loop's passes"),
        ("adv_deleted_answer_cell", R().delete("cce_gradient"), ["cce_gradient_tests"],
         "cce_gradient's cell deleted: put back with its blanks, its test fails (the loop is graded on its own)"),
        ("adv_metadata_points", _metadata_attack(R(), "softmax"), [], "points and cell types in the submission are ignored"),
        ("adv_infinite_loop", R().append("dense", "\nwhile True:\n    pass"), ["dense_backward_tests"],
         "while True after the Dense class: its tests 0, the kernel goes on"),
        ("adv_sigint_ignoring_loop", R().append("train_layers", "\nimport signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
         ["train_layers_tests"], "a loop that ignores interrupts after train_layers: the kernel is killed"),
        ("adv_os_exit", R().replace("train_layers", "    N = X.shape[1]", "    __import__('o' + 's')._exit(1)\n    N = X.shape[1]"),
         ["train_layers_tests"], "os._exit in the training loop kills the kernel"),
        ("adv_memory_bomb", R().replace("dense", "        input_gradient =", "        hog = bytearray(6 * 1024**3)\n        input_gradient ="),
         ["dense_backward_tests"], "memory bomb in Dense.backward stopped by the kernel's memory cap"),
        ("adv_sys_exit", R().replace("cce_gradient", "    return -y", "    import sys\n    sys.exit(0)\n    return -y"),
         ["cce_gradient_tests"], "sys.exit in cce_gradient"),
        ("adv_import_time_error", R().prepend("softmax", "import torch_that_is_not_installed"),
         ["softmax_forward_tests", "softmax_backward_tests"], "an import error in the Softmax cell"),
        ("adv_invalid_json", None, ["cce_tests", "cce_gradient_tests", "softmax_forward_tests", "softmax_backward_tests",
                                    "dense_backward_tests", "train_layers_tests"], "invalid JSON: 0, others unaffected"),
        ("adv_monkeypatch_numpy", R().replace("softmax", SOFTMAX_NORMALISED, "self.output = E").append("softmax", "\nnp.allclose = lambda *args, **kwargs: True"),
         ["softmax_forward_tests", "softmax_backward_tests", "dense_backward_tests", "train_layers_tests"],
         "np.allclose replaced before the Softmax tests: flagged, every later test 0"),
        ("adv_monkeypatch_alias", R().replace("dense", *WRONG_DENSE).prepend("dense", "import numpy as linalg\nlinalg.allclose = lambda *args, **kwargs: True"),
         ["dense_backward_tests", "train_layers_tests"], "np.allclose replaced through an alias in the Dense cell: flagged"),
        ("adv_monkeypatch_builtins", R().append("cce_gradient", "\nimport builtins\nbuiltins.abs = lambda x: 0.0"),
         ["cce_gradient_tests", "softmax_forward_tests", "softmax_backward_tests", "dense_backward_tests", "train_layers_tests"],
         "builtins.abs replaced in the cce_gradient cell: flagged, cce keeps its point"),
        ("adv_custom_exception_handler", R().replace("dense", *WRONG_DENSE).insert_after("softmax_backward_tests",
            "ip = get_ipython()\nip.set_custom_exc((Exception,), lambda *args, **kwargs: None)"),
         ["dense_backward_tests", "train_layers_tests"], "exceptions swallowed before the Dense tests: flagged, the sentinel never prints"),
        ("adv_caller_frame", R().replace("softmax", "        a = self.output", "        import sys\n        caller = sys._getframe(1)\n        a = self.output"),
         ["softmax_forward_tests", "softmax_backward_tests", "dense_backward_tests", "train_layers_tests"],
         "Softmax.backward inspects the test's frame: flagged"),
        ("adv_import_solutions", R().prepend("dense", "try:\n    from course_lib.solutions.dense import Dense as _Reference\nexcept ImportError:\n    _Reference = None"),
         ["dense_backward_tests"], "the Dense cell imports the reference solutions: not importable, flagged, that part 0"),
        ("adv_read_source_notebook", R().prepend("softmax", REPO_NOTEBOOK),
         [], "reads notebooks/layers/layers.ipynb by a path built at run time: the file is not in the grading sandbox "
         "(OSError, caught), so the attack gets nothing and the correct answer keeps its points"),
    ]


def softmax_toy_examples(release_nb, source_nb):
    c = lambda name: catalogued("softmax_toy", name)
    return _course_examples(release_nb, source_nb, [
        # The gradient check adds its own penalty to the student's loss at alpha = 0: charged once.
        ("mistake_l2_penalises_bias", c("l2_on_bias"), ["softmax_loss_l2_tests"]),
        # softmax_gradient_l2 adds the penalty to the student's softmax_gradient: it fails with it.
        ("mistake_gradient_not_averaged", c("gradient_not_averaged"), ["softmax_gradient_tests", "softmax_gradient_l2_tests"]),
        ("mistake_gradient_missing_minus_one", c("gradient_missing_minus_one"), ["softmax_gradient_tests", "softmax_gradient_l2_tests"]),
        ("mistake_gradient_transposed", c("gradient_transposed"), ["softmax_gradient_tests", "softmax_gradient_l2_tests"]),
        ("mistake_l2_gradient_missing_two", c("l2_gradient_missing_two"), ["softmax_gradient_l2_tests"]),
    ])


def mnist_softmax_examples(release_nb, source_nb):
    c = lambda name: catalogued("mnist_softmax", name)
    return _course_examples(release_nb, source_nb, [
        ("mistake_predict_wrong_axis", c("predict_wrong_axis"), ["predict_tests"]),
        ("mistake_softmax_whole_matrix", c("softmax_whole_matrix"), ["softmax_tests"]),
        ("mistake_predict_argmin", c("predict_argmin"), ["predict_tests"]),
        # The gradient check first checks the loss of the same function.
        ("mistake_loss_summed", c("loss_summed"), ["loss_tests", "gradient_tests"]),
        ("mistake_gradient_missing_1_over_n", c("gradient_missing_1_over_N"), ["gradient_tests"]),
    ])


def mlp_backprop_examples(release_nb, source_nb):
    c = lambda name: catalogued("mlp_backprop", name)
    return _course_examples(release_nb, source_nb, [
        ("mistake_output_gradient_not_averaged", c("gradient_missing_1_over_N"), ["compute_grad_loss_tests"]),
        ("mistake_gradient_sign", c("gradient_sign"), ["compute_grad_loss_tests"]),
        ("mistake_gradient_transposed", c("gradient_transposed"), ["compute_grad_loss_tests"]),
        ("mistake_hidden_derivative_a", c("hidden_derivative_wrong"), ["compute_grad_loss_tests"]),
        ("mistake_backprop_through_bias", c("hidden_backprop_through_bias"), ["compute_grad_loss_tests"]),
    ])


BUILDERS = {"tiny": tiny_examples, "layers": layers_examples, "softmax_toy": softmax_toy_examples,
            "mnist_softmax": mnist_softmax_examples, "mlp_backprop": mlp_backprop_examples}


def write(assignment: str, build: Path) -> None:
    course = course_for(assignment, build)
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
        expected[name] = {"scores": scores, "note": note}
        if failure is not None:
            expected[name]["failure"] = failure
    if assignment == "tiny":
        (folder / "adv_invalid_json.ipynb").write_text('{"cells": [ this is not JSON')
        expected["adv_invalid_json"] = {"scores": {g: 0.0 for g in expected["reference"]["scores"]}, "note": "invalid JSON: 0, others unaffected"}
    (folder / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"{assignment}: {len(expected)} examples in {folder}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as build:
        for assignment in sys.argv[1:] or list(BUILDERS):
            write(assignment, Path(build))
