"""The roster into the gradebook (names, every bad line named, nothing half imported) and the
gradebook out as the CSVs Canvas and Moodle import, through the CLI, on a real gradebook."""
from __future__ import annotations

import csv

import pytest
from nbgrader.api import Gradebook

from course_lib.grading.cli import main
from course_lib.grading.course import REPO_ROOT, Course
from course_lib.grading.gradebook import write_gradebook
from course_lib.grading.records import CellResult, CellStatus, Result, Status
from course_lib.grading.release import release

from grading_fixtures import FIXTURE, FIXTURE_JUDGES

POINTS = {"cce_tests": 2.0, "softmax_tests": 3.0, "mean_accuracy_tests": 1.0}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("gbio")
    course = Course(root=REPO_ROOT, source=FIXTURE, build=root / "build", judges=FIXTURE_JUDGES)
    release(course, "tiny")
    return course


def result(student: str, scores: dict[str, float]) -> Result:
    return Result(student, "tiny", Status.GRADED, [CellResult(g, p, scores[g], CellStatus.PASSED if scores[g] == p else
                                                               CellStatus.FAILED, "") for g, p in POINTS.items()])


def test_a_bad_roster_names_every_bad_line_and_imports_nothing(course, tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first,last,email\nada,Ada,Lovelace,ada@uni.edu\njohn doe,John,Doe,jd@uni.edu\n"
                      "ada,Ada,Again,a2@uni.edu\nbob,Bob,Byte,not-an-email\n")
    assert main(["roster", str(roster), "--gradebook", str(course.gradebook)]) == 2
    err = capsys.readouterr().err
    assert "line 3: student id 'john doe'" in err and "line 4: student id 'ada' already on line 2" in err
    assert "line 5: 'not-an-email' is not an email address" in err
    with Gradebook(course.db_url) as gb:
        assert [s.id for s in gb.students] == []


def test_the_roster_names_students_and_the_exports_carry_the_grades(course, tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first,last,email\nada,Ada,Lovelace,ada@uni.edu\nalan,Alan,Turing,alan@uni.edu\n"
                      "grace,Grace,Hopper,grace@uni.edu\n")
    assert main(["roster", str(roster), "--gradebook", str(course.gradebook)]) == 0
    assert "3 students imported" in capsys.readouterr().out
    with Gradebook(course.db_url) as gb:
        write_gradebook(gb, result("ada", {"cce_tests": 2.0, "softmax_tests": 1.5, "mean_accuracy_tests": 1.0}))
        write_gradebook(gb, result("alan", {"cce_tests": 0.0, "softmax_tests": 3.0, "mean_accuracy_tests": 0.0}))
        names = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
    assert names["ada"] == ("Ada", "Lovelace", "ada@uni.edu") and names["grace"] == ("Grace", "Hopper", "grace@uni.edu")
    out = tmp_path / "export"
    assert main(["export", "--gradebook", str(course.gradebook), "--out", str(out)]) == 0

    canvas = list(csv.reader(open(out / "grades_canvas.csv")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tiny"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "6"]
    assert canvas[2:] == [["Hopper, Grace", "", "grace", "", "", ""], ["Lovelace, Ada", "", "ada", "", "", "4.5"],
                          ["Turing, Alan", "", "alan", "", "", "3"]]
    moodle = list(csv.DictReader(open(out / "grades_moodle.csv")))
    assert [(r["ID number"], r["Email address"], r["tiny"]) for r in moodle] == [
        ("grace", "grace@uni.edu", ""), ("ada", "ada@uni.edu", "4.5"), ("alan", "alan@uni.edu", "3")]
    cells = list(csv.DictReader(open(out / "grades_cells.csv")))
    assert {(r["student"], r["grade_id"]): float(r["score"]) for r in cells} == {
        ("ada", "cce_tests"): 2.0, ("ada", "mean_accuracy_tests"): 1.0, ("ada", "softmax_tests"): 1.5,
        ("alan", "cce_tests"): 0.0, ("alan", "mean_accuracy_tests"): 0.0, ("alan", "softmax_tests"): 3.0}


def test_the_roster_reads_a_file_without_a_header(course, tmp_path):
    from course_lib.grading.gradebook_io import read_roster

    roster = tmp_path / "plain.csv"
    roster.write_text("\ufeffzoe,Zoe,Zed,zoe@uni.edu\n\nyan,Yan,,\n")
    assert read_roster(roster) == [{"id": "zoe", "first_name": "Zoe", "last_name": "Zed", "email": "zoe@uni.edu"},
                                   {"id": "yan", "first_name": "Yan", "last_name": "", "email": ""}]


def _rows_of(gb, student: str) -> tuple[list, list]:
    """(grade cell name, cell type) of the student's Grade rows and of their Comment rows."""
    from nbgrader.api import BaseCell, Comment, Grade, SubmittedAssignment, SubmittedNotebook

    def rows(model):
        return sorted(gb.db.query(BaseCell.name, BaseCell.type).join(model, model.cell_id == BaseCell.id)
                      .join(SubmittedNotebook, SubmittedNotebook.id == model.notebook_id)
                      .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
                      .filter(SubmittedAssignment.student_id == student).all())

    return rows(Grade), rows(Comment)


def test_a_written_result_has_the_rows_nbgrader_makes_in_one_transaction(course):
    """A result is written in one transaction of a few statements (counted with SQLAlchemy's
    events), with the same Grade and Comment rows nbgrader's own add_submission makes; writing
    it again updates the scores in place; a human's manual score is kept and still counts."""
    from sqlalchemy import event

    from course_lib.grading.gradebook import GradebookWriter

    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("nb_made")
        gb.add_submission("tiny", "nb_made")
        writer = GradebookWriter(gb)
        writer.write(result("warmup", {"cce_tests": 2.0, "softmax_tests": 3.0, "mean_accuracy_tests": 1.0}))  # reads the cells once
        counts = {"statements": 0, "commits": 0}
        event.listen(gb.engine, "before_cursor_execute", lambda *a: counts.__setitem__("statements", counts["statements"] + 1))
        event.listen(gb.engine, "commit", lambda *a: counts.__setitem__("commits", counts["commits"] + 1))
        writer.write(result("lin", {"cce_tests": 2.0, "softmax_tests": 0.0, "mean_accuracy_tests": 1.0}))
        # nbgrader's own calls take 17 statements and 3 commits for a new student's result.
        assert counts["commits"] == 1 and counts["statements"] <= 6, counts
        assert _rows_of(gb, "lin") == _rows_of(gb, "nb_made") and _rows_of(gb, "lin")[1], "no Comment rows mirrored"
        counts.update(statements=0, commits=0)
        writer.write(result("lin", {"cce_tests": 0.0, "softmax_tests": 3.0, "mean_accuracy_tests": 1.0}))
        assert counts == {"statements": 3, "commits": 1}  # read, update the grades, flag the notebook
        gb.find_grade("cce_tests", "tiny", "tiny", "lin").manual_score = 1.5
        gb.db.commit()
        writer.write(result("lin", {"cce_tests": 0.0, "softmax_tests": 3.0, "mean_accuracy_tests": 0.0}))
        gb.db.expire_all()
        grades = {g: gb.find_grade(g, "tiny", "tiny", "lin") for g in POINTS}
        assert {g: x.auto_score for g, x in grades.items()} == {"cce_tests": 0.0, "softmax_tests": 3.0, "mean_accuracy_tests": 0.0}
        assert [g for g, x in grades.items() if x.needs_manual_grade] == ["cce_tests"]
        assert gb.find_submission("tiny", "lin").score == 4.5  # the manual 1.5 counts, as in the formgrader


def test_a_new_gradebook_has_the_schema_and_stamp_nbgrader_gives_it(course, tmp_path):
    """open_gradebook creates a new database in-process (no ``alembic`` subprocess) with the
    tables and alembic revision nbgrader's own creation gives it (the release's gradebook)."""
    import sqlite3

    from course_lib.grading.gradebook import create_gradebook, open_gradebook

    url = f"sqlite:///{tmp_path / 'new.db'}"
    open_gradebook(url).close()

    def schema(path):
        with sqlite3.connect(path) as connection:
            return (sorted(connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall()),
                    connection.execute("SELECT version_num FROM alembic_version").fetchall())

    assert schema(tmp_path / "new.db") == schema(course.gradebook)
    assert create_gradebook(url) is False  # a database with tables is left as it is
