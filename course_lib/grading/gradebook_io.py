"""The course's roster into nbgrader's gradebook, and the gradebook out as CSV files.

- ``import_roster``: a CSV of ``id,first,last,email`` (a header row with those names, or
  ``id,first_name,last_name,email``) fills the gradebook's students, so that the formgrader
  shows names and the reports list the roster's students without a submission as missing.
  Every bad line is named and nothing is written while any is bad.
- ``export_grades``: ``grades_canvas.csv`` (Canvas's gradebook import: Student, ID, SIS User
  ID, SIS Login ID, Section, then a column per assignment, and the Points Possible row; the
  student id goes in SIS User ID), ``grades_moodle.csv`` (Moodle's "Import grades from CSV":
  a column per assignment, users identified by their ID number or email address) and
  ``grades_cells.csv`` (one row per student and graded cell). A student without a submission
  of an assignment gets an empty cell (both importers leave the grade as it is).
"""
from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

from course_lib.grading.gradebook import open_gradebook
from course_lib.grading.record import atomic_write
from course_lib.grading.submissions import BAD_ID_RULE, STUDENT_ID

ROSTER_COLUMNS = {"id": "id", "student": "id", "first": "first_name", "first_name": "first_name",
                  "last": "last_name", "last_name": "last_name", "email": "email"}


def read_roster(path: Path) -> list[dict[str, str]]:
    """The students of a roster CSV; raises ValueError naming every bad line."""
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    rows = [(number, row) for number, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"roster {path} is empty: expected lines of id,first,last,email")
    header = [cell.strip().lower() for cell in rows[0][1]]
    if "id" in header or "student" in header:
        names = [ROSTER_COLUMNS.get(cell) for cell in header]
        rows = rows[1:]
    else:
        names = ["id", "first_name", "last_name", "email"]
    problems, students, seen = [], [], {}
    for number, row in rows:
        if len(row) > len(names):
            problems.append(f"line {number}: {len(row)} fields, expected {len(names)} (id,first,last,email)")
            continue
        student = {name: cell.strip() for name, cell in zip(names, row) if name}
        sid = student.get("id", "")
        if not STUDENT_ID.match(sid):
            problems.append(f"line {number}: student id {sid!r}: {BAD_ID_RULE}")
        elif sid in seen:
            problems.append(f"line {number}: student id {sid!r} already on line {seen[sid]}")
        elif student.get("email") and "@" not in student["email"]:
            problems.append(f"line {number}: {student['email']!r} is not an email address")
        else:
            seen[sid] = number
            students.append(student)
    if problems:
        raise ValueError(f"roster {path}: nothing imported, {len(problems)} bad line(s):\n  " + "\n  ".join(problems))
    return students


def import_roster(db_url: str, path: Path) -> int:
    """Add or update the roster's students in the gradebook; returns how many."""
    students = read_roster(path)
    with open_gradebook(db_url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for student in students:
            gb.update_or_create_student(student["id"], first_name=student.get("first_name") or None,
                                        last_name=student.get("last_name") or None, email=student.get("email") or None)
    return len(students)


def roster_students(gb) -> list[str]:
    """The ids of the gradebook's students imported from a roster (those with a name or an email)."""
    return sorted(s.id for s in gb.students if s.first_name or s.last_name or s.email)


def _table(header: list[str], rows: list[list]) -> str:
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(header)
    writer.writerows(rows)
    return handle.getvalue()


def export_grades(db_url: str, folder: Path) -> list[Path]:
    """Write the gradebook's grades as the Canvas, Moodle and per-cell CSVs into ``folder``."""
    folder = Path(folder)
    with open_gradebook(db_url) as gb:
        assignments = sorted(gb.assignments, key=lambda a: (a.duedate is None, a.duedate, a.name))
        names = [a.name for a in assignments]
        possible = {a.name: a.max_score for a in assignments}
        students = sorted(gb.students, key=lambda s: (s.last_name or "", s.first_name or "", s.id))
        scores, cells = {}, []
        for assignment in names:
            for submission in gb.assignment_submissions(assignment):
                scores[submission.student.id, assignment] = submission.score
                for notebook in submission.notebooks:
                    for grade in sorted(notebook.grades, key=lambda g: g.name):
                        cells.append([submission.student.id, assignment, notebook.name, grade.name, grade.auto_score,
                                      grade.manual_score, grade.score, grade.max_score])
        people = [(s.id, s.first_name or "", s.last_name or "", s.email or "") for s in students]

    def score(sid: str, assignment: str) -> str:
        value = scores.get((sid, assignment))
        return "" if value is None else f"{round(value, 4):g}"

    def display(first: str, last: str, sid: str) -> str:
        return f"{last}, {first}" if last and first else (last or first or sid)

    canvas = _table(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *names],
                    [["Points Possible", "", "", "", "", *(f"{possible[n]:g}" for n in names)]]
                    + [[display(first, last, sid), "", sid, "", "", *(score(sid, n) for n in names)]
                       for sid, first, last, _ in people])
    moodle = _table(["First name", "Last name", "ID number", "Email address", *names],
                    [[first, last, sid, email, *(score(sid, n) for n in names)] for sid, first, last, email in people])
    per_cell = _table(["student", "assignment", "notebook", "grade_id", "auto_score", "manual_score", "score", "max_score"],
                      sorted(cells, key=lambda row: (row[0], row[1], row[2], row[3])))
    paths = []
    for name, text in (("grades_canvas.csv", canvas), ("grades_moodle.csv", moodle), ("grades_cells.csv", per_cell)):
        atomic_write(folder / name, text)
        paths.append(folder / name)
    return paths
