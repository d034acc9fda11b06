"""Nothing silent: every name of the submissions folder is a report row, a folder with no
submission is an error that writes nothing, the reports cover the gradebook's earlier
students, stale outputs move to stale/, a relative --out grades right, the gradebook is where
--gradebook says, a rerun says what it reused; the reports are readable (100 columns, full
notes, integer histograms, mean and median)."""
from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course_lib.grading import cli
from course_lib.grading.autograde import run_autograde
from course_lib.grading.course import REPO_ROOT, Course
from course_lib.grading.gradebook_io import import_roster
from course_lib.grading.records import CellResult, CellStatus, Result, Status
from course_lib.grading.release import release
from course_lib.grading.report import grade_table, histogram, summary_text
from course_lib.grading.submissions import NoSubmissions, scan_submissions

from grading_fixtures import EXAMPLES, FIXTURE, FIXTURE_JUDGES, SETTINGS, expected_scores

TINY = EXAMPLES / "tiny"
GRADED = ("mistake_softmax_no_max", "reference", "untouched")


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def messy_folder(folder: Path) -> Path:
    """Three gradable submissions in both layouts, and one of everything that is not."""
    folder.mkdir(parents=True)
    shutil.copy(TINY / "reference.ipynb", folder / "reference.ipynb")
    shutil.copy(TINY / "untouched.ipynb", folder / "untouched.ipynb")
    (folder / "mistake_softmax_no_max" / "tiny").mkdir(parents=True)
    shutil.copy(TINY / "mistake_softmax_no_max.ipynb", folder / "mistake_softmax_no_max" / "tiny" / "tiny.ipynb")
    shutil.copy(TINY / "reference.ipynb", folder / "mistake_softmax_no_max" / "tiny" / "scratch.ipynb")
    shutil.copy(TINY / "reference.ipynb", folder / "john doe.ipynb")  # bad ids: all of them listed
    (folder / "x y" / "tiny").mkdir(parents=True)
    shutil.copy(TINY / "reference.ipynb", folder / "x y" / "tiny" / "tiny.ipynb")
    (folder / "alice").mkdir()
    (folder / "alice" / "answers.txt").write_text("42\n")
    (folder / "bob" / "tiny").mkdir(parents=True)
    (folder / "bob" / "tiny" / "tiny.py").write_text("print(1)\n")
    (folder / "carol.pdf").write_bytes(b"%PDF-1.4\n")
    (folder / "reference.txt").write_text("my notes\n")
    (folder / ".DS_Store").write_bytes(b"\0")
    return folder


def test_the_scan_names_every_entry_and_lists_every_bad_id(tmp_path):
    scan = scan_submissions(messy_folder(tmp_path / "subs"), "tiny")
    assert [s.student for s in scan.submissions] == list(GRADED)
    rows = {e.student: (e.status, e.reason) for e in scan.entries}
    assert rows.keys() == {"john doe", "x y", "alice", "bob", "carol"}
    assert rows["john doe"][0] is Status.BAD_ID and rows["x y"][0] is Status.BAD_ID
    assert rows["alice"] == (Status.MISSING, "no alice/tiny/ notebook in folder alice/ (it holds alice/answers.txt)")
    assert rows["bob"][0] is Status.NOT_NOTEBOOK and "bob/tiny/tiny.py" in rows["bob"][1]
    assert rows["carol"][0] is Status.NOT_NOTEBOOK and "carol.pdf" in rows["carol"][1]
    assert scan.not_graded == {"mistake_softmax_no_max": ["mistake_softmax_no_max/tiny/scratch.ipynb"],
                               "reference": ["reference.txt is not a notebook (.ipynb)"]}
    assert scan.ignored == [".DS_Store"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The fixture course released into a gradebook outside its build folder."""
    root = tmp_path_factory.mktemp("loop")
    course = Course(root=REPO_ROOT, source=FIXTURE, build=root / "build", judges=FIXTURE_JUDGES,
                    gradebook_file=root / "records" / "gradebook.db")
    course.gradebook.parent.mkdir()
    release(course, "tiny")
    roster = root / "roster.csv"
    roster.write_text("id,first,last,email\nreference,Rita,Ref,rita@uni.edu\ndave,Dave,Absent,dave@uni.edu\n")
    import_roster(course.db_url, roster)
    return course


@pytest.fixture(scope="module")
def first(course, tmp_path_factory):
    """One real run over the messy folder, with a relative --out."""
    work = tmp_path_factory.mktemp("work")
    folder = messy_folder(work / "submitted")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        run = run_autograde(course, "tiny", Path("submitted"), out=Path("grading"), settings=SETTINGS, progress=False)
    return run, folder


def test_a_relative_out_grades_right_and_the_gradebook_is_where_it_was_asked(first, course):
    run, folder = first
    assert run.out == folder.parent / "grading" and run.out.is_absolute()
    expected = expected_scores("tiny")
    for result in run.results:
        assert {c.grade_id: c.score for c in result.cells} == expected[result.student]["scores"], result.student
    assert course.gradebook == course.build.parent / "records" / "gradebook.db"
    assert not (course.build / "nbgrader" / "gradebook.db").exists()
    with Gradebook(course.db_url) as gb:
        assert sorted(s.student.id for s in gb.assignment_submissions("tiny")) == list(GRADED)


def test_every_name_is_a_row_in_the_csv_and_the_summary(first):
    run, _ = first
    rows = {r["student"]: r for r in csv.DictReader(open(run.out / "scores.csv"))}
    assert set(rows) == {*GRADED, "john doe", "x y", "alice", "bob", "carol", "dave"}
    assert rows["dave"]["status"] == "missing" and rows["dave"]["notes"] == "no submission (a student of the roster)"
    assert {s: rows[s]["status"] for s in ("john doe", "x y", "alice", "bob", "carol")} == {
        "john doe": "bad id", "x y": "bad id", "alice": "missing", "bob": "not a notebook", "carol": "not a notebook"}
    assert all(float(rows[s]["total"]) == 0 for s in ("john doe", "x y", "alice", "bob", "carol"))
    assert "answers.txt" in rows["alice"]["notes"] and "letters, digits" in rows["x y"]["notes"]
    assert "scratch.ipynb" in rows["mistake_softmax_no_max"]["notes"]
    summary = (run.out / "summary" / "summary.txt").read_text()
    for student in rows:
        assert student in summary
    assert "3 submissions (3 graded in this run, 0 results reused" in summary and ".DS_Store" in summary


def test_an_empty_or_wrong_folder_is_an_error_and_touches_nothing(first, course, tmp_path, capsys):
    run, folder = first
    before = tree_digest(run.out)
    gradebook = course.gradebook.read_bytes()
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoSubmissions, match="it is empty"):
        run_autograde(course, "tiny", tmp_path / "empty", out=run.out, settings=SETTINGS, progress=False)
    with pytest.raises(NoSubmissions, match=f"did you mean {folder}"):
        run_autograde(course, "tiny", folder.parent, out=run.out, settings=SETTINGS, progress=False)
    assert tree_digest(run.out) == before and course.gradebook.read_bytes() == gradebook
    assert cli.main(["autograde", "layers", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no submission of layers" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_rerun_says_what_it_reused_and_covers_and_marks_a_student_gone(first, course, capsys):
    run, folder = first
    (folder / "untouched.ipynb").unlink()
    # mistake_softmax_no_max now hands in no notebook: a row, the earlier score kept in the gradebook said
    (folder / "mistake_softmax_no_max" / "tiny" / "tiny.ipynb").unlink()
    (folder / "mistake_softmax_no_max" / "tiny" / "scratch.ipynb").unlink()
    (folder / "mistake_softmax_no_max" / "tiny" / "answers.txt").write_text("x\n")
    partial = [run.out / "scores.csv.4242.tmp", run.out / "results" / "reference.json.4242.tmp"]
    for path in partial:  # what a run killed inside an atomic write leaves
        path.write_text("half")
    args = argparse.Namespace(jobs=2, cell_timeout=SETTINGS.cell_timeout, budget=SETTINGS.budget, no_sandbox=False)
    cli._grade(course, "tiny", folder, args, run.out)
    printed = capsys.readouterr().out
    assert "0 graded, 1 result reused from an earlier run" in printed
    assert "moved to" in printed and "untouched" in printed
    rows = {r["student"]: r for r in csv.DictReader(open(run.out / "scores.csv"))}
    assert rows["untouched"]["status"] == "missing" and "the gradebook keeps 0/6" in rows["untouched"]["notes"]
    assert rows["reference"]["status"] == "graded" and float(rows["reference"]["total"]) == 6
    gone = rows["mistake_softmax_no_max"]
    earlier = f"the gradebook keeps {sum(expected_scores('tiny')['mistake_softmax_no_max']['scores'].values()):g}/6 from an earlier run"
    assert gone["status"] == "not a notebook" and float(gone["total"]) == 0
    assert "answers.txt" in gone["notes"] and earlier in gone["notes"]
    assert (run.out / "stale" / "feedback" / "mistake_softmax_no_max.html").is_file()
    assert not (run.out / "feedback" / "untouched.html").exists()
    assert (run.out / "stale" / "feedback" / "untouched.html").is_file()
    assert (run.out / "stale" / "results" / "untouched.json").is_file()
    assert "1 result reused from an earlier run" in (run.out / "summary" / "summary.txt").read_text()
    assert not any(path.exists() for path in partial)


def test_the_cli_resolves_a_relative_gradebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    course = cli._course(argparse.Namespace(gradebook=Path("marks/gb.db"), command="autograde"))
    assert course.gradebook == tmp_path / "marks" / "gb.db" and course.db_url == f"sqlite:///{tmp_path}/marks/gb.db"


def made_up_rows(notes: dict[str, str]) -> list[Result]:
    cells = [("softmax_stability_tests", 1.0), ("cross_entropy_gradient_tests", 2.0), ("dense_layer_backward_tests", 2.0),
             ("training_loop_tests", 1.0), ("softmax_backward_tests", 2.0), ("cce_tests", 1.0)]
    rows = []
    for k, student in enumerate(["a_student_with_a_rather_long_identifier", *(f"s{i}" for i in range(7))]):
        scores = [min(p, (k + i) % 3) for i, (_, p) in enumerate(cells)]
        rows.append(Result(student, "layers", Status.GRADED,
                           [CellResult(g, p, s, CellStatus.PASSED if s == p else CellStatus.FAILED, "")
                            for (g, p), s in zip(cells, scores)], notes=[notes[student]] if student in notes else []))
    return rows


def test_the_table_fits_100_columns_and_keeps_every_note_whole():
    note = ("cell 7 did not finish within the time limit; the kernel was restarted and the notebook ran again "
            "from the start, after which the training loop cell stopped at its budget of 120 seconds")
    rows = made_up_rows({"s3": note, "a_student_with_a_rather_long_identifier": "x" * 150})
    table = grade_table(rows)
    assert max(map(len, table.splitlines())) <= 100
    flat = " ".join(line.strip() for line in table.splitlines())
    assert note in flat and "x" * 100 in flat.replace(" ", "")
    for row in rows:
        assert row.student in table and f"{row.score:g}/{row.max_score:g}" in table
    for label, cell in zip(("Q1", "Q2", "Q3", "Q4", "Q5", "Q6"), rows[0].cells):  # each legend item on one line
        points = "1 point" if cell.points == 1 else f"{cell.points:g} points"
        assert any(f"{label} {cell.grade_id} ({points})" in line for line in table.splitlines()), label
    assert "(1 points)" not in table


def test_histograms_have_integer_ticks_and_counts_and_say_1_point():
    for points, scores in ((1.0, [0.0, 1.0, 1.0]), (2.0, [0.0, 2.0, 2.0, 2.0, 1.0]), (3.0, [2.0, 3.0, 1.5])):
        figure = histogram("q", points, scores)
        axes = figure.axes[0]
        figure.canvas.draw()
        xs, ys = axes.get_xticks(), [y for y in axes.get_yticks() if axes.get_ylim()[0] <= y <= axes.get_ylim()[1]]
        assert list(xs) == list(range(int(points) + 1)), (points, xs)
        assert all(float(y).is_integer() for y in ys), (points, ys)
        heights = sorted(p.get_height() for p in axes.patches)
        assert all(float(h).is_integer() for h in heights) and sum(heights) == len(scores)
        assert axes.get_title() == ("q (1 point)" if points == 1 else f"q ({points:g} points)")


def test_the_summary_has_mean_median_and_each_questions_distribution():
    rows = made_up_rows({})
    rows.append(Result("gone", "layers", Status.MISSING, [CellResult(c.grade_id, c.points, 0.0, CellStatus.NOT_RUN, "x")
                                                           for c in rows[0].cells], notes=["no submission"]))
    text = summary_text("layers", rows)
    totals = sorted(r.score for r in rows[:-1])
    mean, median = sum(totals) / len(totals), (totals[3] + totals[4]) / 2
    assert f"mean {round(mean, 2):g}, median {round(median, 2):g}" in text
    assert "9 students: 8 submissions" in text and "1 without a gradable submission" in text
    first = [r.cells[0].score for r in rows[:-1]]
    assert f"Q1 softmax_stability_tests (1 point): mean {round(sum(first) / 8, 2):g}" in text
    assert f"0: {first.count(0.0)}, 1: {first.count(1.0)}" in text


def test_the_demo_grades_a_folder_of_the_examples_notebooks_only(tmp_path):
    folder = cli._demo_submissions(Course(root=REPO_ROOT, source=FIXTURE, build=tmp_path, judges=FIXTURE_JUDGES), "tiny")
    assert (TINY / "expected.json").is_file() and not (folder / "expected.json").exists()
    scan = scan_submissions(folder, "tiny")
    assert scan.entries == [] and len(scan.submissions) == len(list(TINY.glob("*.ipynb")))
