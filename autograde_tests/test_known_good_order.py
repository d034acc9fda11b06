"""The known-good versions of graded functions reach a kernel only with the probes of cells judged
after every cell that judges the functions they stand in for: whatever a student's code does with
them while it runs (keeps a reference, calls it later), the verdicts on those functions are final
by then. Each course notebook's judge runs in-process on the notebook's own cells (the probe
answered by ``course_lib.probe.answer``, as the pipeline runs it on the kernel's replies), in the
notebook's order, and every request is read for the known-good field."""
from __future__ import annotations

import ast
import contextlib
import importlib
import io

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from course_lib import probe, probe_codec
from course_lib.grading.course import REPO_ROOT, grade_id, is_grade, is_solution
from course_lib.grading.judge import judge_cell

# The notebook names the known-good versions stand in for (course_lib/judges/known_good.py:
# PlainDense and PlainSoftmax are the layers' Dense and Softmax).
STANDS_IN_FOR = {"softmax_loss", "softmax_gradient", "forward", "softmax_loss_and_gradient", "predict", "cce",
                 "cce_gradient", "Dense", "Softmax"}
ASSIGNMENTS = ("softmax_toy", "layers", "mnist_softmax", "mlp_backprop")
# The known-good definitions each notebook's probes may be sent: its own stand-ins, nothing of
# another part or notebook.
SENT = {"softmax_toy": {"softmax_loss", "softmax_gradient"}, "mlp_backprop": {"forward"},
        "mnist_softmax": {"softmax_loss_and_gradient", "predict"},
        "layers": {"PlainDense", "PlainSoftmax", "cce", "cce_gradient"}}


def _defined(source: str) -> set[str]:
    return {node.name for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
            and not node.name.startswith("_")}


def _namespace(nb) -> dict:
    """The notebook's globals after its cells ran, as grading runs them (demo-only cells and the
    test cells left out)."""
    transform = TransformerManager().transform_cell
    namespace: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type != "code" or "demo-only" in cell.metadata.get("tags", []):
            continue
        if is_grade(cell) and not is_solution(cell):
            continue
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(transform(cell.source), f"<{grade_id(cell)}>", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_known_good_code_comes_only_after_the_functions_it_stands_in_for_were_judged(assignment):
    nb = nbformat.read(str(REPO_ROOT / "notebooks" / assignment / f"{assignment}.ipynb"), as_version=4)
    judge = importlib.import_module(f"course_lib.judges.{assignment}").JUDGE
    namespace = _namespace(nb)
    order = [grade_id(c) for c in nb.cells if grade_id(c) in judge.cells]
    sent_with_known_good: list[str] = []
    defined: set[str] = set()
    for gid in order:
        def answer(request, nonce, gid=gid):
            header, _ = probe_codec.unpack(request, 1 << 30)
            if probe.KNOWN_GOOD_FIELD in header:
                sent_with_known_good.append(gid)
                defined.update(_defined(header[probe.KNOWN_GOOD_FIELD]))
            return probe_codec.unpack(probe.answer(namespace, request), 1 << 30)

        verdicts = judge_cell(judge.cells[gid], judge.reference, answer)
        assert all(v.passed for v in verdicts), (gid, [v.message for v in verdicts if not v.passed])
    assert sent_with_known_good, f"{assignment}: no probe used the known-good code"
    for gid in set(sent_with_known_good):
        later = order[order.index(gid) + 1:]
        stood_in = [g for g in [gid] + later if set(judge.cells[g].names) & STANDS_IN_FOR]
        assert not stood_in, f"{gid} sends the known-good code before {stood_in} are judged"
    assert defined == SENT[assignment], f"{assignment}: the kernel was sent {sorted(defined)}"
