"""Stage 1, read: the submitted notebook, bounded before anything parses or scans it (the
file's size, then each cell's source; the limits are in ``bounds``)."""
from __future__ import annotations

from pathlib import Path

import nbformat

from course_lib.grading.bounds import oversized_cells, oversized_notebook
from course_lib.grading.course import read_notebook
from course_lib.grading.records import Status


class Unreadable(Exception):
    """The submission cannot be graded; ``status`` says why (invalid or too big)."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status = status


def read_submission(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``; raises ``Unreadable`` for a file or a cell over the size limits,
    or anything that is not a notebook."""
    too_big = oversized_notebook(Path(path))
    if too_big:
        raise Unreadable(Status.TOO_BIG, too_big)
    try:
        nb = read_notebook(Path(path))
    except ValueError as error:
        raise Unreadable(Status.INVALID, f"the submission could not be read: {error}") from None
    too_big = oversized_cells(nb)
    if too_big:
        raise Unreadable(Status.TOO_BIG, too_big)
    return nb
