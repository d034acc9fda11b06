"""Stage 5, record: what the grader's own process writes for a graded submission: its result
file, its feedback page and the graded notebook (also where nbgrader's formgrader looks); its
gradebook row goes through ``gradebook``. Nothing here is written by the student's kernel."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat

from course_lib.grading.records import Result, Task


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temp file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_write(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def result_path(out: Path, student: str) -> Path:
    return Path(out) / "results" / f"{student}.json"


def write_result(task: Task, result: Result, graded_nb, release_nb) -> None:
    """The result JSON, the feedback page and the graded notebooks of one submission."""
    from course_lib.grading.feedback import feedback_html

    out = Path(task.out)
    if graded_nb is not None:
        nb_path = out / "autograded" / task.student / f"{task.assignment}.ipynb"
        nb_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(graded_nb, str(nb_path))
        if task.nbgrader_autograded:
            # nbgrader's own place, autograded/<student>/<assignment>/, where the formgrader looks.
            nbgrader_path = Path(task.nbgrader_autograded) / task.student / task.assignment / f"{task.assignment}.ipynb"
            nbgrader_path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(graded_nb, str(nbgrader_path))
            stamp = Path(task.path).parent / "timestamp.txt"
            if stamp.is_file():
                shutil.copy(stamp, nbgrader_path.parent / "timestamp.txt")
    atomic_write(out / "feedback" / f"{task.student}.html", feedback_html(result, graded_nb, release_nb))
    atomic_write(result_path(out, task.student), json.dumps(result.to_dict(), indent=1))


def read_result(out: Path, student: str) -> Result | None:
    """A stored result, or None when there is none or it cannot be read."""
    try:
        return Result.from_dict(json.loads(result_path(out, student).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
