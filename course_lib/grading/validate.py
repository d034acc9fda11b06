"""The student's ``validate``: run a notebook top to bottom in a fresh kernel and exit
non-zero when any test cell fails or a `?` blank is still unfilled (nbgrader's own
``validate`` exits 0 on failure)."""
from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course_lib.grading.course import grade_id, is_grade, is_solution, read_notebook
from course_lib.grading.messages import error_message


@dataclass
class Validation:
    passed: list[str]
    failed: list[tuple[str, str]]  # (cell, message)

    @property
    def ok(self) -> bool:
        return not self.failed


def validate(path: Path, timeout: int = 120) -> Validation:
    """Run the notebook from its own folder and collect which test cells failed and why."""
    from nbclient import NotebookClient

    nb = read_notebook(Path(path))
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).resolve().parent)}},
                            extra_arguments=["--HistoryManager.enabled=False"])
    # The kernel process's own stderr (e.g. jupyter_client's "Kernel is running over TCP without
    # encryption") is no message for the student: kept aside, shown only if the kernel fails.
    with tempfile.TemporaryFile(mode="w+") as log:
        try:
            client.execute(stdout=log, stderr=log)
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read()[-5000:])
            raise
    passed, failed = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        name = grade_id(cell) or f"cell {index}"
        message = error_message(cell)
        if is_grade(cell) and not is_solution(cell):
            (failed.append((name, message)) if message else passed.append(name))
        elif message:
            failed.append((name, message))
    return Validation(passed, failed)


def main(path: str) -> int:
    result = validate(Path(path))
    for name in result.passed:
        print(f"PASS  {name}")
    for name, message in result.failed:
        print(f"FAIL  {name}: {message}")
    print(f"{len(result.passed)} test cells passed, {len(result.failed)} cells failed")
    return 0 if result.ok else 1
