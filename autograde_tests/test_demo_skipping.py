"""Demo-only cells (grading/demos.py): the grader skips them, and skipping them changes no
verdict: every example submission of every course notebook gets the same scores and fails the
same checks with every cell run; a notebook whose graded cells need a demo-only cell is refused;
a student who builds on a demo gets that demo run."""
from __future__ import annotations

import copy

import nbformat
import pytest

from course_lib.grading.autograde import Settings
from course_lib.grading.course import REPO_ROOT, Course, grade_id, read_notebook
from course_lib.grading.demos import DEMO_TAG, SKIPPED_SOURCE, check_demo_cells, demo_cells_to_skip, is_demo, names, skip_demo_cells
from course_lib.grading.release import release
from course_lib.grading.restore import rebuild

from grading_fixtures import EXAMPLES, grade_examples, settings_for, verdict_differences

COURSE = ("layers", "softmax_toy", "mnist_softmax", "mlp_backprop")


def _source(assignment):
    return read_notebook(REPO_ROOT / "notebooks" / assignment / f"{assignment}.ipynb")


def _nb(*cells):
    """A notebook of (grade_id or None, source, tags) code cells, locked where they have an id."""
    nb = nbformat.v4.new_notebook()
    for gid, source, tags in cells:
        metadata = {"tags": list(tags)}
        if gid:
            metadata["nbgrader"] = {"grade": gid.endswith("_tests"), "solution": False, "locked": True,
                                    "task": False, "grade_id": gid, "schema_version": 3,
                                    **({"points": 1} if gid.endswith("_tests") else {})}
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata=metadata))
    return nb


def test_names_read_and_bound_statement_by_statement():
    assert names("W = W - learning_rate * dW") == ({"W", "learning_rate", "dW"}, {"W"})
    assert names("x = 1\nprint(x)") == ({"print"}, {"x"})
    assert names("for i in range(3):\n    total = total + i") == ({"range", "total"}, {"i", "total"})
    assert names("def f(a):\n    return a + scale\n") == ({"scale"}, {"f"})
    assert names("y = [v * k for v in xs]") == ({"k", "xs"}, {"y"})
    assert names("%matplotlib inline\nimport numpy as np") == ({"get_ipython"}, {"np"})
    assert names("x = ?") is None  # an unfilled blank runs nothing


def test_every_course_notebook_tags_demo_cells_that_are_safe_to_skip():
    for assignment in COURSE:
        source = _source(assignment)
        assert any(is_demo(c) for c in source.cells), f"{assignment} has no demo-only cell"
        assert check_demo_cells(source) == [], assignment


def test_a_cell_that_needs_a_demo_cell_is_refused_and_named():
    nb = _nb(("imports", "import numpy as np", ()),
             ("sweep", "best_l2 = 1e-3\nscale = 2.0", (DEMO_TAG,)),
             ("final", "W = np.zeros((3, 4)) * scale", ()),
             ("final_tests", "assert W.shape == (3, 4)", ()))
    problems = check_demo_cells(nb)
    assert len(problems) == 1 and "'scale'" in problems[0] and "(final)" in problems[0] and "(sweep)" in problems[0]
    # Rebinding the name in a cell that runs, before it is read, is fine.
    nb.cells[2].source = "scale = 1.0\nW = np.zeros((3, 4)) * scale"
    assert check_demo_cells(nb) == []
    # A demo-only tag on a cell with points is refused too.
    nb.cells[3].metadata["tags"] = [DEMO_TAG]
    assert any("carries points" in p or "answer or a test cell" in p for p in check_demo_cells(nb))


def test_release_refuses_a_source_whose_graded_cell_needs_a_demo_cell(tmp_path):
    source_dir = tmp_path / "source" / "layers"
    source_dir.mkdir(parents=True)
    nb = copy.deepcopy(_source("layers"))
    demo = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "pass_demo")
    graded = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "train_layers_tests")
    nb.cells[graded].source = "print(X_batch.shape)\n" + nb.cells[graded].source  # X_batch: pass_demo's
    assert is_demo(nb.cells[demo])
    nbformat.write(nb, source_dir / "layers.ipynb")
    course = Course(root=REPO_ROOT, source=tmp_path / "source", build=tmp_path / "build")
    with pytest.raises(RuntimeError, match=r"'X_batch', last defined by the demo-only cell \d+ \(pass_demo\)"):
        release(course, "layers")
    assert not (tmp_path / "build").exists() or not any((tmp_path / "build").rglob("*.ipynb"))


def test_a_student_cell_that_uses_a_demo_name_gets_that_demo_run():
    source = _source("layers")
    release_nb = read_notebook(EXAMPLES / "layers" / "reference.ipynb")  # answers filled in
    student = copy.deepcopy(release_nb)
    answer = next(c for c in student.cells if grade_id(c) == "train_layers")
    answer.source += "\nprint('layers of the demo network:', len(network))\n"  # `network`: pass_demo's
    index = {grade_id(c): i for i, c in enumerate(rebuild(release_nb, source, release_nb).nb.cells)}
    plain = demo_cells_to_skip(rebuild(release_nb, source, release_nb).nb, source)
    assert {index["pass_demo"], index["batches_demo"], index["train_demo"]} == plain
    rebuilt = rebuild(student, source, release_nb).nb
    assert demo_cells_to_skip(rebuilt, source) == {index["batches_demo"], index["train_demo"]}
    skipped = skip_demo_cells(rebuilt, source)
    assert [rebuilt.cells[i].source for i in skipped] == [SKIPPED_SOURCE] * 2


def test_a_student_cannot_tag_a_cell_of_theirs_or_of_the_course_out_of_the_run():
    source = _source("layers")
    release_nb = read_notebook(EXAMPLES / "layers" / "reference.ipynb")
    student = copy.deepcopy(release_nb)
    for cell in student.cells:
        cell.metadata.setdefault("tags", []).append(DEMO_TAG)
        if grade_id(cell) == "imports":
            cell.metadata["nbgrader"]["grade_id"] = "pass_demo_again"
    rebuilt = rebuild(student, source, release_nb).nb
    skipped = demo_cells_to_skip(rebuilt, source)
    assert {grade_id(rebuilt.cells[i]) for i in skipped} == {"pass_demo", "batches_demo", "train_demo"}


@pytest.mark.parametrize("assignment", COURSE)
def test_every_example_gets_the_same_verdicts_with_every_cell_run(tmp_path_factory, assignment):
    """The proof that skipping changes nothing: the suite's main run (test_grading_autograde)
    skips the demo-only cells and must match expected.json; this run runs them all."""
    settings = Settings(**{**settings_for(assignment).__dict__, "skip_demos": False})
    run = grade_examples(tmp_path_factory, assignment, nbgrader_layout=True, settings=settings)
    differ = verdict_differences(run)
    assert not differ, differ
    # The run really ran the demo cells: the reference's graded notebook holds their code.
    graded = run.out / "autograded"
    notebooks = list(graded.rglob("*.ipynb")) if graded.is_dir() else []
    for path in notebooks:
        assert SKIPPED_SOURCE not in path.read_text()


def test_a_skipped_demo_cell_never_reaches_the_kernel(layers_run):
    """The suite's main run of the layers examples: the reference's graded notebook shows each
    skipped demo cell with no execution count (it was never sent), and the cells that ran
    counted on without a gap where it stands."""
    nb = nbformat.read(str(layers_run.out / "autograded" / "reference" / "layers.ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    skipped = [c for c in code if c.source == SKIPPED_SOURCE]
    assert skipped, "the layers reference had no demo-only cell skipped"
    assert all(c.execution_count is None and c.outputs == [] for c in skipped)
    counts = [c.execution_count for c in code if c.source != SKIPPED_SOURCE]
    assert counts == list(range(1, len(counts) + 1)), counts
