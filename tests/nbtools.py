"""Reading and running the course's source notebooks in tests: executing one in a real
kernel, their cells, their ``# BLANK:`` markers and the student release they stand for (with
the release step's own parser), their hidden tests, whether a notebook's inline solution is
the same code as ``course_lib.solutions``, and ``expect_mistake`` for the checks' named mistakes."""
from __future__ import annotations

import ast
import inspect
import os
import re
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.grading.blanks import BlankError, fails_loudly, find_blanks, release_blanks

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def execute_notebook(path: Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook top to bottom in a fresh ``python3`` kernel from its own folder.

    The kernel gets one BLAS thread: pytest runs two workers on two cores, and two
    kernels each spinning two BLAS threads make small products many times slower.
    Returns the executed notebook and the wall time in seconds; raises
    nbclient's CellExecutionError naming the failing cell."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=["--HistoryManager.enabled=False"],
    )
    start = time.perf_counter()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    client.execute(env=env)
    return nb, time.perf_counter() - start


def read_notebook(relative: str) -> nbformat.NotebookNode:
    """The source notebook at ``notebooks/<relative>``."""
    return nbformat.read(NOTEBOOKS / relative, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(nb) -> list:
    """Code cells nbgrader marks as solutions (what the student fills in)."""
    return [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")]


def graded_cells(nb) -> list:
    """Test cells that carry points."""
    return [c for c in nb.cells if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]


def _strip(node: ast.AST) -> ast.AST:
    """Drop docstrings so that only the code is compared."""
    for child in ast.walk(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = child.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                child.body = body[1:] or [ast.Pass()]
    return node


def definitions(source: str) -> dict[str, ast.AST]:
    """Top-level functions and classes in ``source``, and ``Class.method`` for methods."""
    tree = ast.parse(source)
    found: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = node
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = item
    return found


def notebook_definitions(nb) -> dict[str, ast.AST]:
    """Every function, class and method defined in the notebook's solution cells."""
    found: dict[str, ast.AST] = {}
    for cell in solution_cells(nb):
        found.update(definitions(cell.source))
    return found


def code_of(obj) -> str:
    """ast.dump of a function's or method's code, docstring dropped."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    return ast.dump(_strip(tree.body[0]), annotate_fields=False)


def code_of_node(node: ast.AST) -> str:
    return ast.dump(_strip(node), annotate_fields=False)


def assert_same_code(nb, name: str, reference) -> None:
    """The notebook's solution ``name`` (``f`` or ``Class.method``) is ``reference``'s code."""
    defs = notebook_definitions(nb)
    assert name in defs, f"the notebook's solution cells define no {name}; they define {sorted(defs)}"
    assert code_of_node(defs[name]) == code_of(reference), (
        f"{name} in the notebook and {reference.__module__}.{reference.__qualname__} have drifted apart"
    )


# --- blanks and the student release -----------------------------------------------------------

# The authoring convention, stricter than the release step's parser: exactly `# BLANK: `.
_INLINE = re.compile(r"^(?P<indent>[ \t]*)(?P<code>\S.*?)\s*# BLANK: (?P<text>.+?)\s*$")
_BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN BLANK: (?P<text>.+?)\s*$")
_END = re.compile(r"^[ \t]*# END BLANK\s*$")


def blank_lines(source: str) -> list[tuple[int, int, str, str]]:
    """(first line, last line, indent, student text) of every blank in ``source`` (0-based lines),
    as the release step (course_lib.grading.blanks) finds them; AssertionError on a marker that
    breaks the convention or that the release step refuses."""
    lines = source.splitlines()
    for number, line in enumerate(lines):
        if "BLANK" in line and not (_BEGIN.match(line) or _END.match(line) or _INLINE.match(line)):
            raise AssertionError(f"line {number + 1}: malformed blank marker {line!r}")
    try:
        blanks = find_blanks(source)
    except BlankError as error:
        raise AssertionError(str(error)) from None
    for blank in blanks:
        inside = lines[blank.start + 1:blank.end]
        assert not any("# BLANK:" in line for line in inside), f"line {blank.start + 1}: an inline blank inside a region"
    return [(blank.start, blank.end, blank.indent, blank.text) for blank in blanks]


def blanks_in(source: str) -> list[str]:
    """The student texts of the blanks in ``source``, in order."""
    return [text for *_, text in blank_lines(source)]


def release(source: str, only: int | None = None) -> str:
    """``source`` as the student sees it, released by the release step's own code: its blanks (or
    only blank number ``only``) replaced by their student text at the blank's indentation."""
    blank_lines(source)
    return release_blanks(source, only=only).rstrip("\n") + "\n"


def fill_blank(source: str, index: int, code: str) -> str:
    """``source`` with blank number ``index`` replaced by ``code`` (one or more lines, written
    without indentation) at the blank's indentation; the other blanks keep their solution."""
    first, last, indent, _ = blank_lines(source)[index]
    lines = source.splitlines()
    lines[first:last + 1] = [indent + line if line else line for line in textwrap.dedent(code).strip("\n").split("\n")]
    return "\n".join(lines) + "\n"


def _fails_loudly(source: str, where: str) -> None:
    assert fails_loudly(source), f"{where}: the released blank does not raise a SyntaxError in IPython"


def assert_blanks_well_formed(nb) -> int:
    """Every solution cell has blanks; each student text has a ``?`` and is not a bare ``?``; each
    released blank, alone and all together, is a SyntaxError in IPython (so it fails loudly);
    returns the number of blanks."""
    count = 0
    for cell in solution_cells(nb):
        name = nbgrader_meta(cell)["grade_id"]
        blanks = blank_lines(cell.source)
        assert blanks, f"solution cell {name} has no blank"
        for index, (*_, text) in enumerate(blanks):
            assert "?" in text and text.strip("? ") != "", f"{name}: student text {text!r} needs a ? and more than a ?"
            _fails_loudly("def _blank():\n    " + text + "\n", name)
            _fails_loudly(release(cell.source, only=index), name)
        _fails_loudly(release(cell.source), name)
        count += len(blanks)
    return count


def assert_nbgrader_metadata(nb) -> None:
    """Schema 3 on every cell, unique lower-case grade_ids, solution cells unlocked, other cells
    locked, graded cells with points, a visible check and a hidden-test region; no import of the
    reference solutions, no sys.path edits, no blank marker outside solution cells."""
    ids = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        assert meta.get("schema_version") == 3, f"cell without nbgrader schema 3: {cell.source[:60]!r}"
        assert set(meta) >= {"grade", "solution", "locked", "task", "grade_id"}
        assert re.fullmatch(r"[a-z][a-z0-9_]*", meta["grade_id"]), meta["grade_id"]
        ids.append(meta["grade_id"])
        assert "course_lib.solutions" not in cell.source, "the notebooks never import the reference solutions"
        assert "sys.path" not in cell.source
        if meta["solution"]:
            assert cell.cell_type == "code" and not meta["locked"] and not meta["grade"]
        else:
            assert meta["locked"], f"cell {meta['grade_id']} is neither a solution nor locked"
            assert "# BLANK" not in cell.source
        if meta["grade"]:
            assert meta["points"] > 0
            visible, _, rest = cell.source.partition("### BEGIN HIDDEN TESTS\n")
            assert "### END HIDDEN TESTS" in rest, f"{meta['grade_id']}: no hidden-test region"
            assert re.search(r"^check_\w+\(", visible, re.M), f"{meta['grade_id']}: no visible check call"
    assert len(ids) == len(set(ids)), "grade_ids are not unique"


def assert_notebook_conventions(nb) -> dict[str, list[str]]:
    """``assert_nbgrader_metadata`` and ``assert_blanks_well_formed``; returns each solution
    cell's student texts by grade_id."""
    assert_nbgrader_metadata(nb)
    assert_blanks_well_formed(nb)
    return {nbgrader_meta(c)["grade_id"]: blanks_in(c.source) for c in solution_cells(nb)}


# --- hidden tests and the checks' named mistakes -----------------------------------------------

def graded_cell(nb, grade_id: str):
    """The graded test cell ``grade_id``."""
    return next(c for c in graded_cells(nb) if nbgrader_meta(c)["grade_id"] == grade_id)


def hidden_part(nb, grade_id: str) -> str:
    """The hidden tests of graded cell ``grade_id`` (between the HIDDEN TESTS markers)."""
    return graded_cell(nb, grade_id).source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]


def expect_mistake(check, answer, mistake: str) -> str:
    """``check(answer)`` fails naming ``mistake``; returns the message."""
    from course_lib.checks.common import CheckFailure

    with pytest.raises(CheckFailure) as info:
        check(answer)
    named = getattr(info.value, "mistake", None)
    assert named == mistake, f"{info.value} (named {named!r}, expected {mistake!r})"
    return str(info.value)


def printed(nb) -> str:
    """Everything the executed notebook printed."""
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
