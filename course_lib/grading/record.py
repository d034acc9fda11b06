"""Stage 5, record: what the grader's own process writes for a graded submission: its result
file, its feedback page, the graded notebook (also where nbgrader's formgrader looks) and its
gradebook row. Nothing here is written by the student's kernel.

Every file is replaced atomically, the result file last: a grader killed at any moment leaves
either no result (the submission is graded again) or a whole one with all its outputs."""
from __future__ import annotations

import json
import os
import warnings
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


def open_gradebook(db_url: str):
    """nbgrader's gradebook (opened once per run: opening it runs alembic)."""
    from nbgrader.api import Gradebook

    return Gradebook(db_url)


def write_gradebook(gb, result: Result, kill=None) -> None:
    """Write one result's scores into nbgrader's gradebook ``gb`` (idempotent: a write cut
    short is completed by writing the same result again). ``kill``: the tests' KillSwitch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb.update_or_create_student(result.student)
        gb.update_or_create_submission(result.assignment, result.student)
        notebook = gb.find_submission_notebook(result.assignment, result.assignment, result.student)
        if kill is not None:
            kill.at("gradebook")  # the student's and the submission's rows are committed, not the grades
        notebook.flagged = bool(result.flags) or result.status.value != "graded"
        for cell in result.cells:
            grade = gb.find_grade(cell.grade_id, result.assignment, result.assignment, result.student)
            grade.auto_score = cell.score
            # Every graded cell is scored here: like nbgrader's own autograde, nothing is left for a human.
            grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()
