"""The student release: nbgrader's ``generate_assignment`` with ``BlankSolutions``, which
turns ``# BLANK:`` markers into the lecture's ``?`` blanks, then checks the result."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nbgrader import utils
from nbgrader.preprocessors import ClearSolutions

from course_lib.grading.blanks import BlankError, fails_loudly, find_blanks, release_blanks, verify_blanks
from course_lib.grading.course import REPO_ROOT, Course, tool_env, is_solution, read_notebook
from course_lib.grading.demos import check_demo_cells
from course_lib.grading.nbgrader_cli import EACH_MARK


class BlankSolutions(ClearSolutions):
    """ClearSolutions that first releases ``# BLANK:`` markers; a solution cell with blanks
    and no ``### BEGIN SOLUTION`` region keeps its other lines (ClearSolutions alone would
    replace the whole cell by its stub)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_solution(cell):
            try:
                blanks = find_blanks(cell.source)
                if blanks:
                    verify_blanks(cell.source)
            except BlankError as error:
                name = cell.metadata.get("nbgrader", {}).get("grade_id", f"#{cell_index}")
                raise BlankError(f"solution cell {name!r}: {error}") from None
            if blanks:
                cell.source = release_blanks(cell.source)
                if self.begin_solution_delimeter not in cell.source:
                    return cell, resources
        elif "BLANK:" in cell.source and find_blanks(cell.source):
            raise BlankError(f"cell #{cell_index}: blank markers outside a solution cell")
        return super().preprocess_cell(cell, resources, cell_index)


def check_release(path: Path) -> list[str]:
    """Problems of a released notebook: leftover markers, solution regions, hidden tests, or
    a solution cell with a `?` that does not fail loudly."""
    problems = []
    nb = read_notebook(path)
    for index, cell in enumerate(nb.cells):
        source = cell.source
        for marker in ("BLANK:", "END BLANK", "BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            if marker in source:
                problems.append(f"{path.name} cell {index}: still holds {marker!r}")
        if cell.cell_type == "code" and is_solution(cell) and "?" in source and not fails_loudly(source):
            problems.append(f"{path.name} cell {index}: a `?` blank that does not raise a SyntaxError")
    return problems


def release(course: Course, assignment: str) -> Path:
    """Run plain ``nbgrader generate_assignment`` (configured by the project's
    nbgrader_config.py) and check the released notebook; returns the release folder."""
    return release_all(course, [assignment])[0]


def release_all(course: Course, assignments: list[str]) -> list[Path]:
    """``release`` of each assignment, all in one nbgrader process (``nbgrader_cli --each``:
    one Python start and nbgrader import instead of one per assignment); returns the release
    folders. Nothing is released if a source notebook's demo-only tags are wrong."""
    for assignment in assignments:
        demo_problems = check_demo_cells(read_notebook(course.source_notebook(assignment)))
        if demo_problems:
            raise RuntimeError(f"{assignment}: the demo-only cells cannot be skipped when grading:\n  " + "\n  ".join(demo_problems))
    if not assignments:
        return []
    course.nbgrader_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "course_lib.grading.nbgrader_cli", "--each", ",".join(assignments),
               "generate_assignment", "{}", "--force", "--create", *course.nbgrader_args()]
    # Run from the repository so that the project's nbgrader_config.py is read; the
    # command-line options point nbgrader at this course tree.
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=tool_env())
    failed = [line.split()[1] for line in done.stderr.splitlines() if line.startswith(EACH_MARK) and line.split()[2] != "0"]
    if done.returncode != 0 or failed:
        which = ", ".join(failed) or ", ".join(assignments)
        raise RuntimeError(f"nbgrader generate_assignment {which} failed:\n{done.stdout}\n{done.stderr}")
    folders = []
    for assignment in assignments:
        released = course.release_notebook(assignment)
        problems = check_release(released)
        if problems:
            raise RuntimeError("the release is not safe to hand out:\n  " + "\n  ".join(problems))
        policy = course.late_policy(assignment)
        if policy is not None:  # the deadline as nbgrader's due date (the formgrader shows it)
            from course_lib.grading.gradebook import open_gradebook, set_duedate

            with open_gradebook(course.db_url) as gb:
                set_duedate(gb, assignment, policy)
        folders.append(released.parent)
    return folders
