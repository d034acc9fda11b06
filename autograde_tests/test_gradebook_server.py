"""The gradebook on a real PostgreSQL server (started once for the module, on loopback; each
test has a database of its own): several graders writing at once, two assignments and
overlapping students of one, end with every row right: no lost update, no duplicate student or
submission, nothing left hanging; one result's write is one transaction on the run's connection."""
from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import pytest

from course_lib.grading.course import use_tool_env
from course_lib.grading.gradebook import GradebookError, GradebookWriter, gradebook_url, open_gradebook
from course_lib.grading.records import CellResult, CheckVerdict, Result, Status

from servers import postgres_server, require_postgres

CELLS = {"q1": 2.0, "q2": 3.0, "q3": 1.0}
# Four graders: two on assignment a1 with overlapping students, two on a2 likewise; each
# grader writes its 16 students twice (a rerun) as fast as it can.
GRADERS = [("a1", range(0, 16)), ("a1", range(8, 24)), ("a2", range(0, 16)), ("a2", range(4, 20))]


def _result(assignment: str, number: int) -> Result:
    """A deterministic result: which checks pass depends on the student and the assignment."""
    cells = []
    for k, (gid, points) in enumerate(CELLS.items()):
        passed = (number + k + len(assignment) * (assignment == "a2")) % 3 != 0
        cells.append(CellResult.from_verdicts(gid, points, [CheckVerdict("value", 1.0, passed, None if passed else "wrong_value", "")]))
    return Result(f"student{number:03d}", assignment, Status.GRADED, cells)


def _grader(url: str, assignment: str, students: range, start, errors) -> None:
    """One grader process: open the gradebook, wait for the others, write every result twice."""
    use_tool_env()
    try:
        with open_gradebook(url) as gb:
            writer = GradebookWriter(gb)
            start.wait(timeout=120)
            for _ in range(2):
                for number in students:
                    writer.write(_result(assignment, number))
    except Exception as error:  # noqa: BLE001 - reported to the test
        errors.put(f"{assignment} {students}: {type(error).__name__}: {error}")


@pytest.fixture(scope="module")
def server():
    """``database(name)``: the URL of a new empty database on one PostgreSQL server for the module."""
    import psycopg
    from sqlalchemy.engine import make_url

    require_postgres()
    use_tool_env()  # nbgrader's gradebook runs alembic from the venv's bin/
    with postgres_server() as url:
        address = make_url(url)

        def database(name: str) -> str:
            with psycopg.connect(host=address.host, port=address.port, user=address.username, dbname="postgres",
                                 autocommit=True) as connection:
                connection.execute(f"CREATE DATABASE {name}")
            return address.set(database=name).render_as_string(hide_password=False)

        yield database


def _assignments(url: str) -> str:
    """Assignments a1 and a2 (one notebook, the cells of CELLS) in the gradebook at ``url``."""
    with open_gradebook(url) as gb:
        for assignment in ("a1", "a2"):
            gb.add_assignment(assignment)
            gb.add_notebook(assignment, assignment)
            for gid, points in CELLS.items():
                gb.add_grade_cell(gid, assignment, assignment, max_score=points, cell_type="code")
    return url


@pytest.fixture(scope="module")
def postgres_url(server):
    return _assignments(server("graders"))


def test_one_result_is_one_transaction_on_the_runs_connection(server):
    """nbgrader's own calls take 17 statements and 3 commits for a new student's result (6 and
    3 to write it again); the writer 5 and 1 (3 and 1), on one connection for every write."""
    from sqlalchemy import event

    url = _assignments(server("writes"))
    with open_gradebook(url) as gb:
        writer = GradebookWriter(gb)
        writer.write(_result("a1", 900))  # reads the assignment's cells once, opens the connection
        counts = {"statements": 0, "commits": 0, "connections": 0}

        def count(name):
            return lambda *args: counts.__setitem__(name, counts[name] + 1)

        event.listen(gb.engine, "before_cursor_execute", count("statements"))
        event.listen(gb.engine, "commit", count("commits"))
        event.listen(gb.engine.pool, "connect", count("connections"))
        writer.write(_result("a1", 901))
        assert counts == {"statements": 5, "commits": 1, "connections": 0}  # student, submission, notebook, grades, read
        counts.update(statements=0, commits=0)
        for _ in range(3):
            writer.write(_result("a2", 901))
        counts.update(statements=0, commits=0)
        writer.write(_result("a1", 901))
        assert counts == {"statements": 3, "commits": 1, "connections": 0}
    with open_gradebook(url) as gb:
        assert gb.find_submission("a1", "student901").score == sum(c.score for c in _result("a1", 901).cells)


def test_concurrent_graders_leave_every_row_right(postgres_url):
    context = multiprocessing.get_context("spawn")
    start, errors = context.Barrier(len(GRADERS)), context.Queue()
    sys.path.insert(0, str(Path(__file__).parent))
    processes = [context.Process(target=_grader, args=(postgres_url, a, s, start, errors)) for a, s in GRADERS]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=600)
    hanging = [p.pid for p in processes if p.is_alive()]
    for process in processes:
        if process.is_alive():
            process.kill()
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not hanging, f"graders still running (a deadlock left hanging?): {hanging}"
    assert not failures, failures
    assert [p.exitcode for p in processes] == [0] * len(processes)
    with open_gradebook(postgres_url) as gb:
        expected_students = {f"student{n:03d}" for _, students in GRADERS for n in students}
        assert sorted(s.id for s in gb.students) == sorted(expected_students)  # one row each, none lost
        for assignment in ("a1", "a2"):
            numbers = sorted({n for a, students in GRADERS if a == assignment for n in students})
            submissions = gb.find_assignment(assignment).submissions
            assert sorted(s.student_id for s in submissions) == [f"student{n:03d}" for n in numbers]
            for number in numbers:
                want = _result(assignment, number)
                for cell in want.cells:
                    grade = gb.find_grade(cell.grade_id, assignment, assignment, want.student)
                    assert grade.auto_score == cell.score, (assignment, want.student, cell.grade_id)


def test_a_gradebook_that_cannot_be_opened_is_named(tmp_path):
    use_tool_env()
    with pytest.raises(GradebookError, match="could not open the gradebook postgresql"):
        open_gradebook("postgresql+psycopg://grader:secret@127.0.0.1:1/nothing")
    with pytest.raises(GradebookError, match="not a database URL"):
        gradebook_url("sqlite:///x.db", str(tmp_path / "gradebook.db"))


def test_password_never_printed():
    use_tool_env()
    with pytest.raises(GradebookError) as caught:
        open_gradebook("postgresql+psycopg://grader:hunter2@127.0.0.1:1/nothing")
    assert "hunter2" not in str(caught.value)


def _autograde_run(course, names: list[str], folder: str, out: str, errors) -> None:
    """One grader process: autograde ``names`` of the fixture's examples into the course's gradebook."""
    import shutil

    from course_lib.grading.autograde import autograde
    from grading_fixtures import EXAMPLES, SETTINGS

    try:
        submissions = Path(folder)
        submissions.mkdir(parents=True)
        for name in names:
            shutil.copy(EXAMPLES / "tiny" / f"{name}.ipynb", submissions / f"{name}.ipynb")
        autograde(course, "tiny", submissions, out=Path(out), settings=SETTINGS, progress=False)
    except Exception as error:  # noqa: BLE001 - reported to the test
        errors.put(f"{names}: {type(error).__name__}: {error}")


def test_two_autograde_runs_with_overlapping_students_share_one_postgres_gradebook(server, tmp_path):
    """The real pipeline, twice at once, into one PostgreSQL gradebook (its own database):
    release writes the assignment there, both runs write their students, every row right."""
    import dataclasses

    from course_lib.grading.release import release
    from grading_fixtures import course_for, expected_scores

    # Two students in both runs; a kernel that dies in the second.
    first = ["reference", "untouched", "mistake_softmax_wrong_axis"]
    second = ["mistake_softmax_wrong_axis", "reference", "adv_sys_exit"]
    url = server("runs")
    course = dataclasses.replace(course_for("tiny", tmp_path / "build"), db=url)
    assert course.db_url == url and course.gradebook_file_in_use is None
    release(course, "tiny")
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    runs = [context.Process(target=_autograde_run, args=(course, names, str(tmp_path / f"sub{i}"), str(tmp_path / f"out{i}"), errors))
            for i, names in enumerate((first, second))]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=900)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not failures, failures
    assert [r.exitcode for r in runs] == [0, 0]
    expected = expected_scores("tiny")
    with open_gradebook(url) as gb:
        submissions = gb.find_assignment("tiny").submissions
        assert sorted(s.student_id for s in submissions) == sorted(set(first + second))
        for submission in submissions:
            assert submission.score == pytest.approx(sum(expected[submission.student_id]["scores"].values()))
