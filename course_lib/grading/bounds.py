"""Size limits of a submission, checked before anything parses or scans it: a notebook larger
than NOTEBOOK_BYTES_LIMIT is not read at all, a cell's source longer than CELL_SOURCE_LIMIT is
not scanned nor run. Either gets 0 points with a note saying which limit it broke."""
from __future__ import annotations

from pathlib import Path

NOTEBOOK_BYTES_LIMIT = 20 * 1024**2   # the submitted .ipynb file (outputs included)
CELL_SOURCE_LIMIT = 100_000           # characters of one cell's source


def oversized_notebook(path: Path) -> str | None:
    """Why the notebook file is too big to grade, or None."""
    size = path.stat().st_size
    if size > NOTEBOOK_BYTES_LIMIT:
        return (f"the submitted notebook is too big to grade: {size / 1024**2:.1f} MB, the limit is "
                f"{NOTEBOOK_BYTES_LIMIT / 1024**2:.0f} MB (clear the outputs and submit again)")
    return None


def oversized_cells(nb) -> str | None:
    """Why a cell of ``nb`` is too big to grade, or None."""
    for index, cell in enumerate(nb.get("cells", [])):
        source = cell.get("source", "")
        length = len(source) if isinstance(source, str) else sum(len(str(line)) for line in source)
        if length > CELL_SOURCE_LIMIT:
            return (f"cell {index} is too big to grade: {length} characters of code, the limit is "
                    f"{CELL_SOURCE_LIMIT} per cell")
    return None
