"""Stage 5, record: what the grader's own process writes for a graded submission: its result
file, its feedback page and the graded notebook (also where nbgrader's formgrader looks); its
gradebook row goes through ``gradebook``. Nothing here is written by the student's kernel.

Every file is replaced atomically, the result file last: a grader killed at any moment leaves
either no result (the submission is graded again) or a whole one with all its outputs."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

from course_lib.grading.records import Result, Task


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    if isinstance(text, bytes):
        tmp.write_bytes(text)
    else:
        tmp.write_text(text)
    os.replace(tmp, path)


def _write_notebook(nb, path: Path) -> None:
    text = nbformat.writes(nb)
    atomic_write(path, text if text.endswith("\n") else text + "\n")


def result_path(out: Path, student: str) -> Path:
    return Path(out) / "results" / f"{student}.json"


def write_result(task: Task, result: Result, graded_nb, release_nb) -> None:
    """The result JSON, the feedback page and the graded notebooks of one submission."""
    from course_lib.grading.feedback import feedback_html

    out = Path(task.out)
    if graded_nb is not None:
        _write_notebook(graded_nb, out / "autograded" / task.student / f"{task.assignment}.ipynb")
        if task.nbgrader_autograded:
            # nbgrader's own place, autograded/<student>/<assignment>/, where the formgrader looks.
            nbgrader_path = Path(task.nbgrader_autograded) / task.student / task.assignment / f"{task.assignment}.ipynb"
            _write_notebook(graded_nb, nbgrader_path)
            stamp = Path(task.path).parent / "timestamp.txt"
            if stamp.is_file():
                atomic_write(nbgrader_path.parent / "timestamp.txt", stamp.read_bytes())
    atomic_write(out / "feedback" / f"{task.student}.html", feedback_html(result, graded_nb, release_nb))
    atomic_write(result_path(out, task.student), json.dumps(result.to_dict(), indent=1))


def read_result(out: Path, student: str) -> Result | None:
    """A stored result, or None when there is none or it cannot be read."""
    try:
        return Result.from_dict(json.loads(result_path(out, student).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
