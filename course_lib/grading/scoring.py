"""Scores of the graded cells of a run: full points when the cell ran to its end without an
error (output on stderr is fine), 0 otherwise, and 0 where a flag or a timeout in the
student's code covers the cell. Each score comes with a message in words."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from course_lib.grading.course import grade_id, is_grade, is_solution, nbgrader_meta
from course_lib.grading.execute import Execution
from course_lib.grading.restore import Rebuilt
from course_lib.grading.scan import Flag

MESSAGE_LIMIT = 400


@dataclass
class CellScore:
    grade_id: str
    points: float
    score: float
    status: str  # passed | failed | not run | flagged
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def error_message(cell) -> str:
    """The failure in words: the exception's type and message, never its traceback."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            name, value = out.get("ename", "Error"), str(out.get("evalue", "")).strip()
            if name in ("CheckFailure", "AssertionError"):
                text = value or "a hidden check failed (an assertion without a message)"
            elif name == "SyntaxError":
                text = "SyntaxError: the code does not parse (is a `?` blank still unfilled?)" + (f" ({value})" if value else "")
            else:
                text = f"{name}: {value}" if value else name
            return text[:MESSAGE_LIMIT]
    return ""


def _group_after(nb, student_cells: set[int], position: int) -> list[int]:
    """The graded cells of the part that follows ``position`` (up to the next answer cell)."""
    group: list[int] = []
    for index in range(position + 1, len(nb.cells)):
        cell = nb.cells[index]
        if is_grade(cell) and not is_solution(cell):
            group.append(index)
        elif group and (is_solution(cell) or index in student_cells):
            break
    return group


def score_cells(rebuilt: Rebuilt, execution: Execution, flags: list[Flag]) -> list[CellScore]:
    """One CellScore per graded cell, in notebook order."""
    nb = rebuilt.nb
    zeroed: dict[int, str] = {}
    for flag in flags:
        if flag.scope == "from":  # the cell itself (a test cell calling the student's code) and every later one
            covered = list(range(flag.cell, len(nb.cells)))
        elif flag.scope == "rest":
            covered = list(range(flag.cell + 1, len(nb.cells)))
        else:
            covered = _group_after(nb, rebuilt.student_cells, flag.cell)
        for index in covered:
            zeroed.setdefault(index, f"flagged: your {flag.describe()}")
    for index, status in execution.status.items():
        if status == "timeout" and index in rebuilt.student_cells:
            for covered in _group_after(nb, rebuilt.student_cells, index):
                zeroed.setdefault(covered, f"your code in cell {index} did not finish within the time limit")
    scores = []
    for index, cell in enumerate(nb.cells):
        if not (is_grade(cell) and not is_solution(cell)):
            continue
        points = float(nbgrader_meta(cell).get("points", 0))
        status = execution.status.get(index, "not run")
        if index in zeroed:
            scores.append(CellScore(grade_id(cell), points, 0.0, "flagged" if zeroed[index].startswith("flagged") else "failed", zeroed[index]))
        elif index in execution.completed:
            scores.append(CellScore(grade_id(cell), points, points, "passed", "all checks passed"))
        elif status == "not run":
            scores.append(CellScore(grade_id(cell), points, 0.0, "not run", f"not run: {execution.stopped or 'the notebook stopped earlier'}"))
        else:
            message = error_message(cell) or "the test cell did not run to its end"
            scores.append(CellScore(grade_id(cell), points, 0.0, "failed", message))
    return scores
