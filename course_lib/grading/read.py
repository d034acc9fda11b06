"""Stage 1, read: the submitted notebook, bounded before anything parses or scans it (the
file's size, then each cell's source)."""
from __future__ import annotations

from pathlib import Path

import nbformat

from course_lib.grading.course import read_notebook
from course_lib.grading.records import CellLimits, Status


class Unreadable(Exception):
    """The submission cannot be graded; ``status`` says why (invalid or too big)."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status = status


def read_submission(path: Path, limits: CellLimits) -> nbformat.NotebookNode:
    """The notebook at ``path``; raises ``Unreadable`` for a file over ``limits.notebook_bytes``,
    a cell over ``limits.cell_source`` characters, or anything that is not a notebook."""
    size = Path(path).stat().st_size
    if size > limits.notebook_bytes:
        raise Unreadable(Status.TOO_BIG, f"the submission is {size / 1e6:.1f} MB, more than the "
                                         f"{limits.notebook_bytes / 1e6:.0f} MB a notebook may have; it was not run")
    try:
        nb = read_notebook(Path(path))
    except ValueError as error:
        raise Unreadable(Status.INVALID, f"the submission could not be read: {error}") from None
    for index, cell in enumerate(nb.cells):
        source = cell.get("source", "")
        if not isinstance(source, str):
            raise Unreadable(Status.INVALID, f"cell {index} has no text source")
        if len(source) > limits.cell_source:
            raise Unreadable(Status.TOO_BIG, f"cell {index} holds {len(source):,} characters, more than the "
                                             f"{limits.cell_source:,} a cell may have; the notebook was not run")
    return nb
