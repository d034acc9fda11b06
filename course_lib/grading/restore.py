"""Rebuild a submission for grading: the student's answer cells, everything else from the
instructor's source.

Locked and graded cells are taken from the release (so edited tests are undone; the hidden
tests stay out of the kernel: the grader's judge runs them in its own process); a deleted one
is re-inserted where it belongs. A deleted answer cell comes
back as the release shows it (with its blanks). nbgrader metadata always comes from the
source, so a student cannot change points or turn a cell into a graded one.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat

from course_lib.grading.course import grade_id, is_grade, is_solution


@dataclass
class Rebuilt:
    """The notebook to run, which of its cells are the student's, and what was repaired."""

    nb: nbformat.NotebookNode
    student_cells: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def _fresh(cell) -> nbformat.NotebookNode:
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.pop("attachments", None) if cell.cell_type == "code" else None
    return cell


def rebuild(student: nbformat.NotebookNode, source: nbformat.NotebookNode, release: nbformat.NotebookNode) -> Rebuilt:
    """The grading notebook of a submission (see the module docstring)."""
    source_cells = {grade_id(c): c for c in source.cells if grade_id(c)}
    release_cells = {grade_id(c): c for c in release.cells if grade_id(c)}
    order = [grade_id(c) for c in source.cells if grade_id(c)]
    notes: list[str] = []
    placed: list[tuple[str | None, nbformat.NotebookNode, bool]] = []  # (grade_id, cell, is the student's)
    seen: set[str] = set()
    for cell in student.cells:
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        gid = grade_id(cell)
        if gid in source_cells and gid not in seen:
            seen.add(gid)
            reference = source_cells[gid]
            if is_solution(reference):
                new = _fresh(cell)
                new.cell_type = reference.cell_type
                if new.cell_type == "code":
                    new.setdefault("outputs", [])
                    new.setdefault("execution_count", None)
                new.metadata = copy.deepcopy(reference.metadata)
                placed.append((gid, new, True))
            else:
                released = release_cells.get(gid, reference)
                if cell.source.strip() not in (released.source.strip(), reference.source.strip()) and is_grade(reference):
                    notes.append(f"test cell {gid!r} was edited; it was restored from the source")
                placed.append((gid, _fresh(released), False))
        else:
            new = _fresh(cell)
            new.metadata = {k: v for k, v in new.get("metadata", {}).items() if k != "nbgrader"}
            if new.cell_type == "code":
                new.setdefault("outputs", [])
                new.setdefault("execution_count", None)
            placed.append((None, new, True))
    for position, gid in enumerate(order):
        if gid in seen:
            continue
        reference = source_cells[gid]
        if is_solution(reference):
            cell = _fresh(release_cells.get(gid, reference))
            notes.append(f"answer cell {gid!r} was deleted; it was put back as released")
            mine = True
        else:
            cell = _fresh(release_cells.get(gid, reference))
            if is_grade(reference):
                notes.append(f"test cell {gid!r} was deleted; it was restored from the source and graded")
            mine = False
        previous = [g for g in order[:position] if g in seen]
        at = 0
        if previous:
            at = next(i for i, (g, _, _) in enumerate(placed) if g == previous[-1]) + 1
        placed.insert(at, (gid, cell, mine))
        seen.add(gid)
    placed = _in_source_order(placed, order, notes)
    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(source.metadata))
    nb.cells = [cell for _, cell, _ in placed]
    return Rebuilt(nb, {i for i, (_, _, mine) in enumerate(placed) if mine}, notes)


def _in_source_order(placed: list, order: list[str], notes: list[str]) -> list:
    """``placed`` with the source's cells in the source's order, each followed by the cells the
    student put after it. The grader's probes rely on that order: a part judged with known-good
    versions of the notebook's other functions comes after the cells that judge those."""
    rank = {gid: i for i, gid in enumerate(order)}
    head: list = []
    segments: list[list] = []
    for entry in placed:
        if entry[0] is not None:
            segments.append([entry])
        elif segments:
            segments[-1].append(entry)
        else:
            head.append(entry)
    ranks = [rank[segment[0][0]] for segment in segments]
    if ranks != sorted(ranks):
        kept = _longest_increasing(ranks)
        moved = [order[r] for i, r in enumerate(ranks) if i not in kept]
        notes.append(f"cells were moved out of the notebook's order ({', '.join(repr(g) for g in moved)}); "
                     f"they were put back in its order, each with the cells that followed it, and run that way")
    ordered = sorted(segments, key=lambda segment: rank[segment[0][0]])
    return head + [entry for segment in ordered for entry in segment]


def _longest_increasing(values: list[int]) -> set[int]:
    """The positions of a longest increasing subsequence of ``values`` (the cells left in place)."""
    best: list[list[int]] = []  # best[i]: positions of the longest increasing run ending at i
    for i, value in enumerate(values):
        before = [best[j] for j in range(i) if values[j] < value]
        best.append(max(before, key=len, default=[]) + [i])
    return set(max(best, key=len, default=[]))
