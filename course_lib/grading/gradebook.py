"""The gradebook: nbgrader's own SQLAlchemy gradebook, at one URL for every command.

The URL comes from, first to last: the command's ``--db URL``, the environment variable
``COURSE_LIB_GRADEBOOK``, the course's default (the sqlite file
``build/nbgrader/gradebook.db``). A server database works through the same code:
``postgresql+psycopg://user@host:port/name`` with the ``postgres`` extra installed.

A run writes its results through one ``GradebookWriter``: one short transaction per result
on one connection. Several graders may write one gradebook at once (different assignments, or
overlapping students of one assignment): each result's write is retried from the start when the database reports a conflict with another writer (a unique key two graders
both inserted, a deadlock, a serialization failure, sqlite's "database is locked").
"""
from __future__ import annotations

import os
import time
import warnings
import zlib
from dataclasses import dataclass

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
                create_gradebook(url)
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


def alembic_head() -> str:
    """The alembic revision of nbgrader's schema, read in this process from nbgrader's own
    migration scripts (what its ``alembic heads`` command prints)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def create_gradebook(url: str) -> bool:
    """Create nbgrader's tables and alembic stamp in the empty database at ``url``, as nbgrader's
    ``Gradebook`` does for a new database but without running the ``alembic`` command in a
    subprocess (seconds; a minute on a loaded machine); True when this call created them. A
    database with tables is left as it is (nbgrader upgrades an old schema when opening it)."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url, future=True)
    try:
        if inspect(engine).get_table_names():
            return False
        head = alembic_head()
        try:
            with engine.begin() as connection:
                Base.metadata.create_all(bind=connection)
                connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})
        except Exception:
            if inspect(engine).get_table_names():
                return False  # another grader created it at the same moment
            raise
        return True
    finally:
        engine.dispose()


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


@dataclass(frozen=True)
class _Notebook:
    """One notebook of an assignment as the gradebook holds it: the ids of its cells."""

    id: str
    grades: dict[str, str]  # grade cell or task cell name -> cell id (a Grade row each)
    comments: tuple[str, ...]  # solution and task cell ids (a Comment row each)


@dataclass(frozen=True)
class _Layout:
    assignment_id: str
    notebooks: dict[str, _Notebook]


class GradebookWriter:
    """Writes results into the open nbgrader gradebook ``gb``: each result in one short
    transaction of a handful of statements, on the gradebook's connection (kept open for the
    run), through nbgrader's own tables; an assignment's notebooks and cells are read once.

    nbgrader's ``Gradebook`` methods commit after every call and load its score columns (a
    subquery over every submission) with each row; this writer reads and writes only the ids
    and scores it needs, so a write costs the same with 10 or 10,000 students."""

    def __init__(self, gb):
        from sqlalchemy.orm import sessionmaker

        self.gb = gb
        self._sessions = sessionmaker(bind=gb.engine, autoflush=False, expire_on_commit=False)
        self._layouts: dict[str, _Layout] = {}

    def _layout(self, session, assignment: str, fresh: bool = False) -> _Layout:
        """The notebooks and cells of ``assignment`` (one query, cached for the writer's life)."""
        from nbgrader.api import Assignment, BaseCell, MissingEntry, Notebook
        from sqlalchemy import select

        if assignment in self._layouts and not fresh:
            return self._layouts[assignment]
        rows = session.execute(select(Assignment.id, Notebook.id, Notebook.name, BaseCell.id, BaseCell.name, BaseCell.type)
                               .select_from(Assignment).outerjoin(Notebook, Notebook.assignment_id == Assignment.id)
                               .outerjoin(BaseCell, BaseCell.notebook_id == Notebook.id)
                               .where(Assignment.name == assignment)).all()
        if not rows:
            raise MissingEntry(f"No such assignment: {assignment}")
        cells: dict[tuple[str, str], list] = {}
        for _, notebook_id, notebook_name, cell_id, cell_name, cell_type in rows:
            if notebook_id is None:
                continue
            grades, comments = cells.setdefault((notebook_id, notebook_name), [{}, []])
            if cell_type in ("GradeCell", "TaskCell"):
                grades[cell_name] = cell_id
            if cell_type in ("SolutionCell", "TaskCell"):
                comments.append(cell_id)
        layout = _Layout(rows[0][0], {name: _Notebook(nid, grades, tuple(sorted(comments)))
                                      for (nid, name), (grades, comments) in cells.items()})
        self._layouts[assignment] = layout
        return layout

    def _write(self, session, result: Result, kill) -> None:
        from datetime import datetime, timezone

        from nbgrader.api import Comment, Grade, MissingEntry, Student, SubmittedAssignment, SubmittedNotebook
        from sqlalchemy import and_, select, update

        layout = self._layout(session, result.assignment)
        if result.assignment not in layout.notebooks or any(c.grade_id not in layout.notebooks[result.assignment].grades
                                                            for c in result.cells):
            layout = self._layout(session, result.assignment, fresh=True)  # released again during the run
        notebook = layout.notebooks.get(result.assignment)
        if notebook is None:
            raise MissingEntry(f"No such notebook: {result.assignment}/{result.assignment}")
        unknown = [c.grade_id for c in result.cells if c.grade_id not in notebook.grades]
        if unknown:
            raise MissingEntry(f"No such grade cell(s) in {result.assignment}: {', '.join(unknown)}")
        # One query: the student, the submission, its notebook and its grades, whichever exist.
        rows = session.execute(
            select(Student.id, SubmittedAssignment.id, SubmittedNotebook.id, Grade.id, Grade.cell_id, Grade.manual_score,
                   SubmittedAssignment.timestamp)
            .select_from(Student)
            .outerjoin(SubmittedAssignment, and_(SubmittedAssignment.student_id == Student.id,
                                                 SubmittedAssignment.assignment_id == layout.assignment_id))
            .outerjoin(SubmittedNotebook, and_(SubmittedNotebook.assignment_id == SubmittedAssignment.id,
                                               SubmittedNotebook.notebook_id == notebook.id))
            .outerjoin(Grade, Grade.notebook_id == SubmittedNotebook.id)
            .where(Student.id == result.student)).all()
        submission_id = rows[0][1] if rows else None
        notebook_id = rows[0][2] if rows else None
        grades = {row[4]: (row[3], row[5]) for row in rows if row[3] is not None}  # cell id -> (grade id, manual score)
        flagged = bool(result.flags) or result.status.value != "graded"
        penalty = result.late_penalty or None
        # nbgrader's submission time (naive UTC), which the formgrader shows and its lateness uses
        timestamp = (datetime.fromisoformat(result.submitted_at).astimezone(timezone.utc).replace(tzinfo=None)
                     if result.submitted_at else None)
        scores = {notebook.grades[c.grade_id]: c.score for c in result.cells}
        if not rows:
            session.add(Student(id=result.student))
        if submission_id is None:
            # Like nbgrader's add_submission: the whole assignment mirrored, a Grade and a Comment
            # row for every cell that has one.
            submission = SubmittedAssignment(assignment_id=layout.assignment_id, student_id=result.student, timestamp=timestamp)
            session.add(submission)
            mirror = [(name, nb, None) for name, nb in sorted(layout.notebooks.items())]
        else:
            submission = None
            mirror = [(result.assignment, notebook, submission_id)] if notebook_id is None else []
        created = {}
        for name, nb, parent in mirror:
            sub_nb = SubmittedNotebook(notebook_id=nb.id, flagged=False)
            if parent is None:
                sub_nb.assignment = submission
            else:
                sub_nb.assignment_id = parent
            session.add(sub_nb)
            for cell_id in sorted(nb.grades.values()):
                grade = Grade(cell_id=cell_id, notebook=sub_nb)
                session.add(grade)  # SQLAlchemy 2 does not cascade a child set through its parent's backref
                if name == result.assignment:
                    created[cell_id] = grade
            session.add_all([Comment(cell_id=cell_id, notebook=sub_nb) for cell_id in nb.comments])
            if name == result.assignment:
                result_notebook = sub_nb
        if notebook_id is not None:
            for cell_id in sorted(set(scores) - set(grades)):  # a grade cell added since the submission's rows
                created[cell_id] = Grade(cell_id=cell_id, notebook_id=notebook_id)
                session.add(created[cell_id])
        for cell_id, grade in created.items():
            grade.auto_score = scores.get(cell_id)
            grade.needs_manual_grade = False
        if mirror:
            result_notebook.flagged = flagged
            result_notebook.late_submission_penalty = penalty
        if submission_id is not None and rows[0][6] != timestamp:  # submitted again since
            session.execute(update(SubmittedAssignment).where(SubmittedAssignment.id == submission_id).values(timestamp=timestamp))
        session.flush()
        if kill is not None:
            kill.at("gradebook")  # inside the transaction: nothing of this result is committed yet
        if notebook_id is not None:
            # Every graded cell is scored here: like nbgrader's own autograde, nothing is left for a human.
            changes = [{"id": grade_id, "auto_score": scores[cell_id], "needs_manual_grade": manual is not None}
                       for cell_id, (grade_id, manual) in grades.items() if cell_id in scores]
            if changes:
                session.execute(update(Grade), sorted(changes, key=lambda c: c["id"]))  # one statement, in id order
            session.execute(update(SubmittedNotebook).where(SubmittedNotebook.id == notebook_id).values(flagged=flagged, late_submission_penalty=penalty))
        session.commit()

    def write(self, result: Result, kill=None, attempts: int = ATTEMPTS) -> None:
        """Write one result's scores (idempotent: the same result written again leaves the same
        rows); one transaction, retried from the start when a concurrent grader's write
        conflicts with it. ``kill``: the crash tests' KillSwitch (autograde.py)."""
        for attempt in range(attempts):
            session = self._sessions()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._write(session, result, kill)
                return
            except Exception as error:  # noqa: BLE001 - filtered by _conflict
                session.rollback()
                if not _conflict(error) or attempt == attempts - 1:
                    raise GradebookError(f"could not write {result.student}'s {result.assignment} to the gradebook: "
                                         f"{type(error).__name__}: {str(error).splitlines()[0][:300]}") from error
                # Back off, staggered per student so two graders do not meet again in step.
                time.sleep(min(1.0, 0.01 * 2 ** attempt) * (1 + zlib.crc32(result.student.encode()) % 7 / 7))
            finally:
                session.close()


def write_gradebook(gb, result: Result, kill=None, attempts: int = ATTEMPTS) -> None:
    """Write one result into nbgrader's gradebook ``gb`` (a run writes many through one
    ``GradebookWriter``, which reads the assignment's cells once)."""
    GradebookWriter(gb).write(result, kill, attempts)
