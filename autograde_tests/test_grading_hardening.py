"""The probe's six findings, each against the real pipeline (the example scores themselves
are asserted in test_grading_autograde.py)."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from course_lib.grading.autograde import grade_submission, prepare_sandbox
from course_lib.grading.course import REPO_ROOT

from grading_fixtures import EXAMPLES


def _cells(run, student):
    return {c["grade_id"]: c for c in run.by_student[student]["cells"]}


def test_1_lookalike_float_gets_no_points(tiny_run, layers_run):
    assert _cells(tiny_run, "adv_lookalike_float")["cce_tests"]["score"] == 0
    assert _cells(layers_run, "adv_lookalike_float")["cce_tests"]["score"] == 0


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
    assert tiny_run.by_student["adv_stderr_warning"]["score"] == 6


def test_4_deleted_test_cell_is_restored_and_graded(tiny_run):
    result = tiny_run.by_student["adv_deleted_test_cell"]
    assert _cells(tiny_run, "adv_deleted_test_cell")["cce_tests"]["status"] == "passed"
    assert any("deleted" in note and "restored" in note for note in result["notes"])
    # Edited test cells are undone: the wrong cce fails the restored test.
    assert _cells(tiny_run, "adv_edited_test_cell")["cce_tests"]["score"] == 0


@pytest.mark.parametrize("student, reason", [
    ("adv_infinite_loop", "did not finish within the time limit"),
    ("adv_sigint_ignoring_loop", "ignored the interrupt"),
    ("adv_os_exit", "kernel died"),
    ("adv_memory_bomb", "MemoryError"),
])
def test_5_loops_exits_and_memory_bombs_fail_only_that_submission(tiny_run, student, reason):
    result = tiny_run.by_student[student]
    text = " ".join(result["notes"] + [c["message"] for c in result["cells"]])
    assert reason in text
    assert tiny_run.by_student["reference"]["score"] == 6  # graded in the same run


def test_6_port_collision_is_retried_once(tiny_run, tmp_path):
    """A real collision: the first attempt's shell port is held by another socket."""
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
    task = {"student": "reference", "assignment": "tiny", "path": str(EXAMPLES / "tiny" / "reference.ipynb"),
            "source": str(tiny_run.course.source_notebook("tiny")), "release": str(tiny_run.course.release_notebook("tiny")),
            "out": str(tmp_path), "tree": str(tree), "kernels": str(kernels), "data": str(REPO_ROOT / "data"),
            "cell_timeout": 10, "budget": 30, "key": "port-test", "ports": ports}
    try:
        result = grade_submission(task)
    finally:
        holder.close()
    assert result["retried"] and "Address already in use" in result["retried"]
    assert result["score"] == 6


def test_solutions_are_not_importable_in_the_grading_kernel(tiny_run):
    result = tiny_run.by_student["adv_import_solutions"]
    assert _cells(tiny_run, "adv_import_solutions")["cce_tests"]["score"] == 0
    assert any("reference solutions" in flag for flag in result["flags"])


def test_reading_the_hidden_tests_and_tampering_are_flagged(tiny_run):
    for student in ("adv_read_hidden_tests", "adv_monkeypatch_numpy", "adv_monkeypatch_alias",
                    "adv_monkeypatch_builtins", "adv_custom_exception_handler", "adv_caller_frame"):
        assert tiny_run.by_student[student]["flags"], student


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
    tree); the grading kernel drops that hook, so even a disguised import finds no solutions."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    from course_lib.grading.sandbox import KERNEL_NAME

    tree, kernels = prepare_sandbox(tmp_path, 2 * 1024**3)
    manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    manager.start_kernel(env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree), "HOME": str(tmp_path)}, cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        code = ("import importlib, course_lib\n"
                "try:\n    importlib.import_module('course_lib.' + 'solu' + 'tions'); found = 'found'\n"
                "except ModuleNotFoundError:\n    found = 'missing'\n"
                "print(found, course_lib.__file__)")
        reply_output = []
        client.execute_interactive(code, timeout=60, output_hook=lambda msg: reply_output.append(
            msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
        printed = "".join(reply_output)
        assert printed.startswith("missing"), printed
        assert str(tree) in printed, printed
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
