"""Helpers of the autograde_tests suite: the example courses and one real release and
autograde run (nbgrader, sandbox kernels, --jobs 2) per assignment over its examples."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from course_lib.grading.autograde import Settings, autograde
from course_lib.grading.course import REPO_ROOT, Course, read_notebook
from course_lib.grading.release import release

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
FIXTURE = HERE / "fixture_course"
FIXTURE_JUDGES = HERE / "fixture_judges"
# Short limits keep the timeout examples quick; the course default is 20 s per cell.
SETTINGS = Settings(jobs=2, cell_timeout=5, budget=30)
# The course's notebooks train models in some cells: more than the course default limits (20 s a
# cell, 120 s a notebook), since CI grades them while other tests load its two cores.
COURSE_SETTINGS = Settings(jobs=2, cell_timeout=45, budget=300)
# layers trains nothing heavy: the course default of 20 s a cell, so that its two loop attacks
# (an endless loop, one that ignores the interrupt) end sooner in each of the runs that grade it.
LAYERS_SETTINGS = Settings(jobs=2, cell_timeout=20, budget=300)


def settings_for(assignment: str) -> Settings:
    """The limits the examples of ``assignment`` are graded with (their expected.json holds)."""
    return {"tiny": SETTINGS, "layers": LAYERS_SETTINGS}.get(assignment, COURSE_SETTINGS)


def course_for(assignment: str, build: Path) -> Course:
    if (FIXTURE / assignment).is_dir():
        return Course(root=REPO_ROOT, source=FIXTURE, build=build, judges=FIXTURE_JUDGES)
    return Course(root=REPO_ROOT, source=REPO_ROOT / "notebooks", build=build)


def grade_notebooks(assignment: str, notebooks: dict[str, Path], tmp_path: Path, settings: Settings | None = None) -> dict:
    """Release ``assignment`` into a fresh build under ``tmp_path`` and grade ``notebooks``
    (student -> notebook file) with the real pipeline; the results by student. Feedback and the
    other outputs are under ``tmp_path / "out"``."""
    course = course_for(assignment, tmp_path / "build")
    release(course, assignment)
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    for student, notebook in notebooks.items():
        shutil.copy(notebook, submitted / f"{student}.ipynb")
    results = autograde(course, assignment, submitted, out=tmp_path / "out", settings=settings or settings_for(assignment),
                        progress=False)
    return {r.student: r for r in results}


def hidden_lines(source_path: Path) -> list[str]:
    """The lines (stripped, longer than 12 characters) of a source notebook's hidden tests."""
    lines = []
    for cell in read_notebook(source_path).cells:
        for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            lines += [line.strip() for line in region.split("\n") if len(line.strip()) > 12]
    return lines


def expected_scores(assignment: str) -> dict:
    return json.loads((EXAMPLES / assignment / "expected.json").read_text())


def verdict_differences(run) -> dict:
    """Students of ``run`` whose scores or failed checks differ from expected.json:
    {student: (scores, expected scores, failed checks, expected failed checks, messages)}."""
    expected = expected_scores(run.assignment)
    assert set(run.by_student) == set(expected)
    wrong = {}
    for student, spec in expected.items():
        cells = run.by_student[student].cells
        got = {c.grade_id: c.score for c in cells}
        failed = {c.grade_id: sorted(v.name for v in c.checks if not v.passed) for c in cells}
        failed = {gid: names for gid, names in failed.items() if names}
        if got != spec["scores"] or failed != spec["failed"]:
            wrong[student] = (got, spec["scores"], failed, spec["failed"], [c.message for c in cells])
    return wrong


class GradedRun:
    def __init__(self, assignment, course, submissions, out, results):
        self.assignment, self.course, self.submissions, self.out, self.results = assignment, course, submissions, out, results
        self.by_student = {r.student: r for r in results}


def grade_examples(tmp_path_factory, assignment: str, nbgrader_layout: bool, settings: Settings | None = None,
                   build: Path | None = None) -> GradedRun:
    """One release and autograde run of every example of ``assignment`` in ``build`` (default: a
    fresh temporary folder)."""
    if not (EXAMPLES / assignment).is_dir():
        pytest.skip(f"no examples for {assignment}")
    if build is None:
        build = tmp_path_factory.mktemp(f"build_{assignment}")
    build.mkdir(parents=True, exist_ok=True)
    course = course_for(assignment, build)
    try:
        course.source_notebook(assignment)
    except FileNotFoundError:
        pytest.skip(f"notebook {assignment} not there")
    release(course, assignment)
    submissions = build / "submitted"
    for path in sorted((EXAMPLES / assignment).glob("*.ipynb")):
        target = submissions / path.stem / assignment / f"{assignment}.ipynb" if nbgrader_layout else submissions / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    out = build / "grading"
    results = autograde(course, assignment, submissions, out=out, settings=settings or settings_for(assignment), progress=False)
    return GradedRun(assignment, course, submissions, out, results)


