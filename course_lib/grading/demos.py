"""Demo-only cells: the locked cells a course author tags ``demo-only`` (training on the full
data, the hyperparameter sweeps, live figures) because no graded cell needs what they compute.

Students see and run them as any other cell; the grader does not run them. Two fences keep
that from changing a verdict:

- ``check_demo_cells`` (run by ``release``) refuses a source notebook in which a cell that still
  runs uses a name whose latest definition is in a demo-only cell;
- ``demo_cells_to_skip`` (run on every submission) keeps a demo-only cell running when a cell
  of the student's uses a name it defines, so a student who builds on a demo loses nothing.

Names are found statically (assignments, ``def``/``class``, imports, loop and ``with``
targets; the global names a function body reads), statement by statement.
"""
from __future__ import annotations

import ast
import symtable

from course_lib.grading.course import grade_id, is_grade, is_solution, nbgrader_meta

DEMO_TAG = "demo-only"
SKIPPED_SOURCE = "# demo-only cell: not run when grading (no graded cell needs what it computes)\n"


def is_demo(cell) -> bool:
    """A locked code cell of the course tagged ``demo-only`` (never an answer or a test cell)."""
    return (cell.get("cell_type") == "code" and DEMO_TAG in cell.get("metadata", {}).get("tags", [])
            and not is_solution(cell) and not is_grade(cell))


def _python(source: str) -> str:
    """A cell's code as Python (IPython's ``%magics`` and ``!commands`` translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _nested_globals(table: symtable.SymbolTable) -> set[str]:
    """Global names read inside the functions, classes, lambdas and comprehensions of ``table``."""
    names = set()
    for child in table.get_children():
        names |= {s.get_name() for s in child.get_symbols() if s.is_global() and s.is_referenced()}
        names |= _nested_globals(child)
    return names


def _simple(statement: ast.stmt, known: set[str]) -> tuple[set[str], set[str]]:
    """(names read before this statement binds anything, names it binds) of one statement
    without a body of its own that runs at this level."""
    table = symtable.symtable(ast.unparse(ast.Module([statement], [])), "<cell>", "exec")
    symbols = table.get_symbols()
    binds = {s.get_name() for s in symbols if s.is_assigned() or s.is_imported() or s.is_namespace()}
    reads = {s.get_name() for s in symbols if s.is_referenced()} | _nested_globals(table)
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        reads.discard(statement.name)  # a recursive function reads its own, new name
    return reads - known, binds


def _expression_reads(node: ast.expr | None, known: set[str]) -> set[str]:
    if node is None:
        return set()
    return _simple(ast.Expr(node), known)[0]


def _targets(node: ast.expr | None) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node is not None else set()


def _flow(statements: list[ast.stmt], known: set[str], reads: set[str], binds: set[str]) -> None:
    """Walk ``statements`` in order: names read that no earlier statement bound go to ``reads``."""
    for statement in statements:
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            reads |= _expression_reads(statement.iter, known)
            bound = _targets(statement.target)
            binds |= bound
            known |= bound
            reads |= {n.id for n in ast.walk(statement.target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - known
            _flow(statement.body + statement.orelse, known, reads, binds)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                reads |= _expression_reads(item.context_expr, known)
                bound = _targets(item.optional_vars)
                binds |= bound
                known |= bound
            _flow(statement.body, known, reads, binds)
        elif isinstance(statement, (ast.If, ast.While)):
            reads |= _expression_reads(statement.test, known)
            _flow(statement.body + statement.orelse, known, reads, binds)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            _flow(statement.body, known, reads, binds)
            for handler in statement.handlers:
                reads |= _expression_reads(handler.type, known)
                if handler.name:
                    binds.add(handler.name)
                    known.add(handler.name)
                _flow(handler.body, known, reads, binds)
            _flow(statement.orelse + statement.finalbody, known, reads, binds)
        else:
            statement_reads, statement_binds = _simple(statement, known)
            reads |= statement_reads
            binds |= statement_binds
            known |= statement_binds


def names(source: str) -> tuple[set[str], set[str]] | None:
    """(global names the cell reads before binding them itself, names it binds), or None for
    code that does not parse (an unfilled blank: it runs nothing)."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return None
    reads: set[str] = set()
    binds: set[str] = set()
    _flow(tree.body, set(), reads, binds)
    return reads, binds


def _label(nb, index: int) -> str:
    gid = grade_id(nb.cells[index])
    return f"cell {index} ({gid})" if gid else f"cell {index}"


def _walk(nb, skipped: set[int]):
    """(index, name, index of the skipped cell that last bound it) for every read, by a cell
    that runs, of a name whose latest binding is in a skipped cell."""
    latest: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        found = names(cell.source)
        if found is None:
            continue
        reads, binds = found
        if index not in skipped:
            for name in sorted(reads):
                if latest.get(name) in skipped:
                    yield index, name, latest[name]
        for name in binds:
            latest[name] = index


def check_demo_cells(nb) -> list[str]:
    """Problems of a source notebook's demo-only tags: a tag on an answer or test cell, or a
    cell that still runs when grading using a name whose latest definition is in a demo-only cell."""
    misplaced = [f"{_label(nb, i)} is tagged {DEMO_TAG!r} but is an answer or a test cell: only locked "
                 "cells without points can be demo-only"
                 for i, c in enumerate(nb.cells) if DEMO_TAG in c.get("metadata", {}).get("tags", [])
                 and (is_grade(c) or is_solution(c) or nbgrader_meta(c).get("points"))]
    demos = {i for i, c in enumerate(nb.cells) if is_demo(c)}
    return misplaced + [f"{_label(nb, index)} uses {name!r}, last defined by the demo-only {_label(nb, demo)}: "
                        f"untag that cell or define {name!r} in a cell that is graded"
                        for index, name, demo in _walk(nb, demos)]


def demo_cells_to_skip(nb, source) -> set[int]:
    """Indices of the cells of the grading notebook ``nb`` not to run: the cells whose source
    cell (same grade id) is demo-only, less those the cells that run (the student's
    included) need, directly or through other demo-only cells."""
    demo_ids = {grade_id(c) for c in source.cells if is_demo(c) and grade_id(c)}
    skipped = {i for i, c in enumerate(nb.cells) if c.get("cell_type") == "code" and grade_id(c) in demo_ids}
    while True:
        needed = {demo for _, _, demo in _walk(nb, skipped)}
        if not needed:
            return skipped
        skipped -= needed


def skip_demo_cells(nb, source) -> list[int]:
    """Replace the code of the demo-only cells ``nb`` need not run (see
    ``demo_cells_to_skip``) by a comment; returns their indices."""
    skipped = sorted(demo_cells_to_skip(nb, source))
    for index in skipped:
        nb.cells[index].source = SKIPPED_SOURCE
        nb.cells[index].outputs = []
    return skipped
