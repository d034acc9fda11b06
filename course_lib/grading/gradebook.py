"""The gradebook: nbgrader's own SQLAlchemy gradebook, at one URL for every command.

The URL comes from, first to last: the command's ``--db URL``, the environment variable
``COURSE_LIB_GRADEBOOK``, the course's default (the sqlite file
``build/nbgrader/gradebook.db``). A server database works through the same code:
``postgresql+psycopg://user@host:port/name`` with the ``postgres`` extra installed.

Several graders may write one gradebook at once (different assignments, or overlapping
students of one assignment): each result's write is retried from the start when the database reports a conflict with another writer (a unique key two graders
both inserted, a deadlock, a serialization failure, sqlite's "database is locked").
"""
from __future__ import annotations

import os
import time
import warnings
import zlib

from course_lib.grading.records import Result

ENVIRONMENT = "COURSE_LIB_GRADEBOOK"
ATTEMPTS = 12


class GradebookError(RuntimeError):
    """The gradebook could not be opened or written; says which and why."""


def gradebook_url(default: str, url: str | None = None) -> str:
    """The gradebook URL: ``url`` (``--db``), else $COURSE_LIB_GRADEBOOK, else ``default``."""
    chosen = url or os.environ.get(ENVIRONMENT) or default
    if "://" not in chosen:
        raise GradebookError(f"gradebook URL {chosen!r} is not a database URL (sqlite:///path/gradebook.db or "
                             "postgresql+psycopg://user@host:port/name)")
    return chosen


def describe(url: str) -> str:
    """The URL without its password, fit to print."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - printing only
        return url.split("://", 1)[0] + "://..."


def open_gradebook(url: str):
    """nbgrader's gradebook at ``url``, of the course ``COURSE_ID`` (opened once per run:
    opening it runs alembic; two graders opening a new one at once may both create the course
    row: retried)."""
    from nbgrader.api import Gradebook

    from course_lib.grading.course import COURSE_ID

    try:
        for attempt in range(ATTEMPTS):
            try:
                return Gradebook(url, course_id=COURSE_ID)
            except Exception as error:  # noqa: BLE001 - filtered by _conflict
                if not _conflict(error) or attempt == ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
    except ModuleNotFoundError as error:
        raise GradebookError(f"the gradebook {describe(url)} needs the Python package {error.name!r}; "
                             "for PostgreSQL: pip install -e '.[postgres]'") from None
    except Exception as error:  # sqlalchemy's OperationalError and the like
        raise GradebookError(f"could not open the gradebook {describe(url)}: {str(error).splitlines()[0][:300]}") from None


def _conflict(error: BaseException) -> bool:
    """An error another writer caused, which the same write retried can get past."""
    from nbgrader.api import InvalidEntry
    from sqlalchemy.exc import IntegrityError, OperationalError

    if isinstance(error, (InvalidEntry, IntegrityError)):
        return True  # two graders inserted the same student or submission at once
    if isinstance(error, OperationalError):
        text = str(error).lower()
        return any(s in text for s in ("deadlock", "could not serialize", "database is locked", "serialization failure"))
    return False


def set_duedate(gb, assignment: str, policy) -> None:
    """The late policy's deadline as the assignment's due date (naive UTC, as nbgrader keeps
    it; the formgrader shows it); nothing when ``policy`` is None (a due date set by hand stays)."""
    if policy is None:
        return
    from course_lib.grading.late import as_utc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb.update_or_create_assignment(assignment, duedate=as_utc(policy.deadline).replace(tzinfo=None))


def _write(gb, result: Result, kill) -> None:
    from datetime import datetime, timezone

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb.update_or_create_student(result.student)
        # nbgrader's submission time (naive UTC), which the formgrader shows and its lateness uses
        timestamp = (datetime.fromisoformat(result.submitted_at).astimezone(timezone.utc).replace(tzinfo=None)
                     if result.submitted_at else None)
        gb.update_or_create_submission(result.assignment, result.student, timestamp=timestamp)
        notebook = gb.find_submission_notebook(result.assignment, result.assignment, result.student)
        if kill is not None:
            kill.at("gradebook")  # the student's and the submission's rows are committed, not the grades
        notebook.flagged = bool(result.flags) or result.status.value != "graded"
        notebook.late_submission_penalty = result.late_penalty or None
        for cell in result.cells:
            grade = gb.find_grade(cell.grade_id, result.assignment, result.assignment, result.student)
            grade.auto_score = cell.score
            # Every graded cell is scored here: like nbgrader's own autograde, nothing is left for a human.
            grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()


def write_gradebook(gb, result: Result, kill=None, attempts: int = ATTEMPTS) -> None:
    """Write one result's scores into nbgrader's gradebook ``gb`` (idempotent: a write cut
    short is completed by writing the same result again); retried when a concurrent grader's
    write conflicts with it. ``kill``: the crash tests' KillSwitch (autograde.py)."""
    for attempt in range(attempts):
        try:
            _write(gb, result, kill)
            return
        except Exception as error:  # noqa: BLE001 - filtered by _conflict
            gb.db.rollback()
            if not _conflict(error) or attempt == attempts - 1:
                raise GradebookError(f"could not write {result.student}'s {result.assignment} to the gradebook: "
                                     f"{type(error).__name__}: {str(error).splitlines()[0][:300]}") from error
            # Back off, staggered per student so two graders do not meet again in step.
            time.sleep(min(1.0, 0.01 * 2 ** attempt) * (1 + zlib.crc32(result.student.encode()) % 7 / 7))
