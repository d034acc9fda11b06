"""Reading the course's source notebooks in tests: their cells, and whether a
notebook's inline solution is the same code as ``course_lib.solutions``."""
from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


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
