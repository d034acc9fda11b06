"""Hardening of the pipeline against the real examples (the example scores themselves are
asserted in test_grading_autograde.py): the grade comes from the judge, so tampering in the
kernel buys nothing, costs nothing beyond wrong answers, and is noted for the instructor."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from course_lib.grading.autograde import prepare_sandbox
from course_lib.grading.course import REPO_ROOT
from course_lib.grading.pipeline import grade_submission
from course_lib.grading.records import CellLimits, Task

from grading_fixtures import EXAMPLES, LAYERS_SETTINGS


def _cells(run, student):
    return {c.grade_id: c for c in run.by_student[student].cells}


def test_1_lookalike_float_gets_no_points(tiny_run, layers_run):
    assert _cells(tiny_run, "adv_lookalike_float")["cce_tests"].score == 0
    assert _cells(layers_run, "adv_lookalike_float")["cce_tests"].score == 0


def test_1_hidden_tests_of_the_course_coerce_student_results():
    """Every hidden-test region of every source notebook coerces via checks.common."""
    import re

    from course_lib.grading.course import read_notebook

    missing = []
    for path in sorted((REPO_ROOT / "notebooks").glob("*/*.ipynb")):
        for cell in read_notebook(path).cells:
            for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
                if "as_float" not in region and "check_" not in region:
                    missing.append(f"{path.name}: {cell.metadata.get('nbgrader', {}).get('grade_id')}")
    assert not missing, f"hidden tests that compare student results without as_float/as_float_array: {missing}"


def test_2_feedback_names_the_failed_check_without_hidden_code(tiny_run):
    page = (tiny_run.out / "feedback" / "mistake_cce_no_clip.html").read_text()
    assert "cce with a zero probability contains inf or nan" in page
    assert "zero_case" not in page and "Traceback" not in page


def test_3_stderr_output_keeps_the_points(tiny_run):
    assert tiny_run.by_student["adv_stderr_warning"].score == 6


def test_4_deleted_test_cell_is_restored_and_graded(tiny_run):
    result = tiny_run.by_student["adv_deleted_test_cell"]
    assert _cells(tiny_run, "adv_deleted_test_cell")["cce_tests"].status.value == "passed"
    assert any("deleted" in note and "restored" in note for note in result.notes)
    # Edited test cells are undone: the wrong cce fails the restored test's checks.
    assert _cells(tiny_run, "adv_edited_test_cell")["cce_tests"].score < 2


@pytest.mark.parametrize("student, reason", [
    ("adv_infinite_loop", "did not finish within the time limit"),
    ("adv_sigint_ignoring_loop", "ignored the interrupt"),
    ("adv_os_exit", "kernel died"),
    ("adv_memory_bomb", "MemoryError"),
])
def test_5_loops_exits_and_memory_bombs_fail_only_that_submission(tiny_run, student, reason):
    result = tiny_run.by_student[student]
    text = " ".join(result.notes + [v.message for c in result.cells for v in c.checks])
    assert reason in text
    assert tiny_run.by_student["reference"].score == 6  # graded in the same run


def test_6_port_collision_is_retried_once(tiny_run, tmp_path):
    """A real collision: the first attempt's shell port is held by another socket (TCP: the
    kernel without the sandbox; the sandboxed kernel talks over ipc sockets of its own)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    free = []
    for _ in range(4):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        free.append(s)
    ports = [taken] + [s.getsockname()[1] for s in free]
    for s in free:
        s.close()
    tree, kernels = prepare_sandbox(tmp_path, 3 * 1024**3)
    task = Task(student="reference", assignment="tiny", path=str(EXAMPLES / "tiny" / "reference.ipynb"),
                source=str(tiny_run.course.source_notebook("tiny")), release=str(tiny_run.course.release_notebook("tiny")),
                judge=str(tiny_run.course.judge("tiny")), out=str(tmp_path), tree=str(tree), kernels=str(kernels),
                data=str(REPO_ROOT / "data"), key="port-test", limits=CellLimits(cell_timeout=10, budget=30), ports=tuple(ports), sandbox=False)
    try:
        result = grade_submission(task)
    finally:
        holder.close()
    assert result.retried and "Address already in use" in result.retried
    assert result.score == 6


def test_solutions_are_not_importable_in_the_grading_kernel(tiny_run):
    result = tiny_run.by_student["adv_import_solutions"]
    assert _cells(tiny_run, "adv_import_solutions")["cce_tests"].score == 0
    assert any("reference solutions" in flag for flag in result.flags)


def test_reading_the_hidden_tests_and_tampering_are_noted_for_the_instructor_and_cost_nothing(tiny_run):
    for student in ("adv_read_hidden_tests", "adv_monkeypatch_numpy", "adv_monkeypatch_alias",
                    "adv_monkeypatch_builtins", "adv_custom_exception_handler", "adv_caller_frame"):
        assert tiny_run.by_student[student].flags, student
    # Flags are notes: a correct answer next to the tampering keeps its points.
    for student in ("adv_read_hidden_tests", "adv_caller_frame"):
        assert tiny_run.by_student[student].score == 6, student
    assert _cells(tiny_run, "adv_monkeypatch_numpy")["mean_accuracy_tests"].score == 1


def test_validate_exits_non_zero_when_a_test_fails(tmp_path):
    for name, code in (("reference", 0), ("mistake_cce_mean_over_entries", 1), ("untouched", 1)):
        target = tmp_path / name / "tiny.ipynb"
        target.parent.mkdir()
        target.write_bytes((EXAMPLES / "tiny" / f"{name}.ipynb").read_bytes())
        done = subprocess.run([sys.executable, "-m", "course_lib.grading.cli", "validate", str(target)],
                              capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == code, (name, done.stdout, done.stderr)
        if code:
            assert "FAIL" in done.stdout


def test_sandbox_kernel_cannot_reach_the_solutions_through_the_editable_install(tmp_path):
    """The project is installed in development mode (its import hook finds the instructor's
    tree); in the grading kernel that hook finds nothing, so even a disguised import finds no
    solutions, and ``course_lib`` is the student tree's."""
    import nbformat

    from course_lib.grading.execute import ExecutionLimits, Sandbox, run_graded_notebook
    from course_lib.grading.sandbox import SandboxMounts

    from sandbox_helpers import require_bwrap

    require_bwrap()
    tree, kernels = prepare_sandbox(tmp_path / "out", 2 * 1024**3)
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import importlib, course_lib\n"
        "try:\n    importlib.import_module('course_lib.' + 'solu' + 'tions'); found = 'found'\n"
        "except ModuleNotFoundError:\n    found = 'missing'\n"
        "print(found, course_lib.__file__)")])
    run_graded_notebook(nb, set(), work, kernels, {}, ExecutionLimits(20, 60), tmp_path / "kernel.log",
                        sandbox=Sandbox(SandboxMounts(str(tree), str(REPO_ROOT / "data"))))
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert printed.startswith("missing /grading/tree/course_lib/"), printed


# The adversarial set against the course's own layers notebook (exact scores of every example
# are asserted in test_grading_autograde.py; these check the reasons and that only the attacked
# part loses points).

def _lost(run, student):
    return {gid for gid, c in _cells(run, student).items() if c.score < c.points}


@pytest.mark.parametrize("student, reason, lost", [
    ("adv_infinite_loop", "did not finish within the time limit", set()),
    ("adv_sigint_ignoring_loop", "ignored the interrupt", {"train_layers_tests"}),
    ("adv_os_exit", "kernel died", {"train_layers_tests"}),
    ("adv_memory_bomb", "MemoryError", {"dense_backward_tests"}),
    ("adv_sys_exit", "SystemExit", {"cce_gradient_tests"}),
])
def test_5_layers_loops_exits_and_memory_bombs_cost_only_their_part(layers_run, student, reason, lost):
    result = layers_run.by_student[student]
    assert result.status.value == "graded"
    text = " ".join(result.notes + [v.message for c in result.cells for v in c.checks])
    assert reason in text, text
    assert _lost(layers_run, student) == lost
    # The rest of the run is unaffected: graded in the same run with 2 workers.
    assert layers_run.by_student["reference"].score == layers_run.by_student["reference"].max_score
    assert layers_run.by_student["adv_stderr_warning"].score == layers_run.by_student["reference"].max_score


def test_sigint_ignoring_loop_names_the_cells_own_limit(layers_run):
    notes = " ".join(layers_run.by_student["adv_sigint_ignoring_loop"].notes)
    assert f"over the {LAYERS_SETTINGS.cell_timeout:.0f} s limit and ignored the interrupt" in notes, notes


def test_layers_correct_answers_keep_their_points_despite_stderr_output_and_metadata(layers_run):
    for student in ("adv_stderr_warning", "adv_huge_output", "adv_metadata_points", "adv_deleted_test_cell", "adv_harmless_extras"):
        result = layers_run.by_student[student]
        assert result.score == result.max_score == 12, student
    for student in ("adv_stderr_warning", "adv_huge_output", "adv_metadata_points", "adv_deleted_test_cell"):
        assert layers_run.by_student[student].flags == [], student
    page = (layers_run.out / "autograded" / "adv_huge_output" / "layers.ipynb").read_text()
    assert len(page) < 2_000_000 and "output truncated" in page


def test_layers_deleted_and_edited_cells_are_restored(layers_run):
    notes = " ".join(layers_run.by_student["adv_deleted_test_cell"].notes)
    assert "'train_layers_tests' was deleted; it was restored from the source and graded" in notes
    notes = " ".join(layers_run.by_student["adv_edited_test_cells"].notes)
    assert "'dense_backward_tests' was edited" in notes and "'train_layers_tests' was edited" in notes
    assert _lost(layers_run, "adv_edited_test_cells") == {"dense_backward_tests"}
    notes = " ".join(layers_run.by_student["adv_deleted_answer_cell"].notes)
    assert "answer cell 'cce_gradient' was deleted" in notes


def test_layers_importing_the_solutions_is_noted_and_the_students_own_code_is_judged(layers_run):
    result = layers_run.by_student["adv_import_solutions"]
    assert any("reference solutions" in flag for flag in result.flags)
    assert _lost(layers_run, "adv_import_solutions") == set()


def test_layers_reading_the_source_notebook_by_a_run_time_path_finds_nothing(layers_run):
    """The path is built at run time (the source scan sees nothing): the source notebook is not
    in the sandbox, the read fails, and the (correct) answers keep their points, no more."""
    result = layers_run.by_student["adv_read_source_notebook"]
    assert result.flags == [] and result.score == result.max_score
    assert layers_run.by_student["reference"].flags == []


@pytest.mark.parametrize("student, wrong", [
    ("adv_monkeypatch_numpy", {"softmax_forward_tests"}),  # its forward does not normalise
    ("adv_monkeypatch_alias", {"dense_backward_tests"}),  # its Dense drops the bias column
    ("adv_monkeypatch_builtins", set()),
    ("adv_custom_exception_handler", {"dense_backward_tests"}),
    ("adv_caller_frame", set()),
])
def test_layers_tampering_is_noted_and_costs_only_the_wrong_answers(layers_run, student, wrong):
    result = layers_run.by_student[student]
    assert result.flags, student
    assert _lost(layers_run, student) == wrong, student


@pytest.mark.parametrize("student", ["adv_input_transformer", "adv_ast_transformer", "adv_linecache_stubs", "adv_settrace",
                                     "adv_written_module", "adv_rebinding_names", "adv_read_expected"])
def test_layers_tricks_on_an_unimplemented_notebook_get_nothing(layers_run, student):
    result = layers_run.by_student[student]
    assert result.score == 0, [(c.grade_id, c.message) for c in result.cells]
    assert layers_run.by_student["reference"].score == 12  # graded in the same run


def test_layers_invalid_json_gets_zero_and_is_reported(layers_run):
    result = layers_run.by_student["adv_invalid_json"]
    assert result.status.value == "invalid" and result.score == 0
    assert "not JSON" in " ".join(result.notes)
