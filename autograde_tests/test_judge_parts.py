"""Each part is judged on its own: with any subset of the layers assignment's parts written
wrong, every graded cell scores what its own part earns alone, and the total is the sum of
the parts' scores. The judge runs in-process on the notebook's own answer cells (the probe
answered by ``course_lib.probe.answer``), as the pipeline runs it on the kernel's replies."""
from __future__ import annotations

import contextlib
import io
from functools import lru_cache

import nbformat
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.inputtransformer2 import TransformerManager

from course_lib import probe, probe_codec
from course_lib.grading.course import REPO_ROOT, grade_id, is_solution, nbgrader_meta
from course_lib.grading.judge import judge_cell
from course_lib.grading.records import CellResult
from course_lib.judges.layers import JUDGE

NOTEBOOK = REPO_ROOT / "notebooks" / "layers" / "layers.ipynb"
# part -> (answer cell, the graded cell it is judged in, a typical mistake as old -> new)
PARTS = {
    "cce": ("cce", "cce_tests", ("/ y.shape[1]", "/ y.shape[0]")),
    "cce_gradient": ("cce_gradient", "cce_gradient_tests", ("return -y /", "return y /")),
    # the example: a softmax over the wrong axis used to zero a correct backward too
    "softmax_forward": ("softmax", "softmax_forward_tests", ("E / np.sum(E, axis=0, keepdims=True)", "E / np.sum(E, axis=1, keepdims=True)")),
    "softmax_backward": ("softmax", "softmax_backward_tests",
                         (" - np.einsum('in,jn->ijn', a, a)", "")),
    "dense": ("dense", "dense_backward_tests", ("np.dot(output_gradient, self.input.T)",
                                                "np.dot(output_gradient, self.input.T) / output_gradient.shape[1]")),
    "loop": ("train_layers", "train_layers_tests", ("cce_gradient(Y_batch, output) / len(batch)", "cce_gradient(Y_batch, output)")),
}


def _namespace(wrong: frozenset[str]) -> dict:
    """The notebook's imports and answer cells, with the parts in ``wrong`` mistaken."""
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    transform = TransformerManager().transform_cell
    namespace: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type != "code" or not (is_solution(cell) or grade_id(cell) == "imports"):
            continue
        source = cell.source
        for part in wrong:
            answer, _, (old, new) = PARTS[part]
            if answer == grade_id(cell):
                assert old in source, (part, old)
                source = source.replace(old, new)
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(transform(source), f"<layers:{grade_id(cell)}>", "exec"), namespace)  # noqa: S102
    return namespace


@lru_cache(maxsize=None)
def _scores(wrong: frozenset[str]) -> dict[str, float]:
    namespace = _namespace(wrong)
    answer = lambda request, nonce: probe_codec.unpack(probe.answer(namespace, request), 1 << 28)
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    points = {grade_id(c): float(nbgrader_meta(c)["points"]) for c in nb.cells if grade_id(c) in JUDGE.cells}
    return {gid: CellResult.from_verdicts(gid, points[gid], judge_cell(cell, JUDGE.reference, answer)).score
            for gid, cell in JUDGE.cells.items()}


def test_each_mistake_costs_only_its_own_cell_and_not_all_of_it():
    full = _scores(frozenset())
    assert full == _points()
    for part, (_, cell, _) in PARTS.items():
        alone = _scores(frozenset([part]))
        assert alone[cell] < full[cell], part
        assert {g: s for g, s in alone.items() if g != cell} == {g: s for g, s in full.items() if g != cell}, part


def _points() -> dict[str, float]:
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    return {grade_id(c): float(nbgrader_meta(c)["points"]) for c in nb.cells if grade_id(c) in JUDGE.cells}


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.sets(st.sampled_from(sorted(PARTS)), min_size=2))
def test_any_subset_of_mistakes_scores_the_sum_of_the_parts(wrong):
    full = _scores(frozenset())
    got = _scores(frozenset(wrong))
    for part, (_, cell, _) in PARTS.items():
        alone = _scores(frozenset([part]))[cell] if part in wrong else full[cell]
        assert got[cell] == alone, (sorted(wrong), cell, got[cell], alone)
    lost = sum(full[PARTS[p][1]] - _scores(frozenset([p]))[PARTS[p][1]] for p in wrong)
    assert abs(sum(got.values()) - (sum(full.values()) - lost)) < 1e-9
