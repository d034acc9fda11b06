"""The run's reports: scores.csv (one row per student, one column per graded cell), a text
table, and a histogram per graded cell as PNG."""
from __future__ import annotations

import csv
from pathlib import Path

from course_lib.grading.records import Result


def grade_table(results: list[Result]) -> str:
    """A fixed-width table: student, each graded cell's score, total, flags."""
    if not results:
        return "(no submissions)"
    cells = [c.grade_id for c in results[0].cells]
    header = ["student", *cells, "total", "flags/notes"]
    rows = []
    for r in results:
        by_id = {c.grade_id: c for c in r.cells}
        rows.append([r.student, *(f"{by_id[c].score:g}/{by_id[c].points:g}" if c in by_id else "-" for c in cells),
                     f"{r.score:g}/{r.max_score:g}", "; ".join(r.flags + r.notes)[:70]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda row: "  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def write_csv(path: Path, results: list[Result]) -> None:
    cells = [c.grade_id for c in results[0].cells] if results else []
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "status", *cells, "total", "max", "flagged", "flags", "notes"])
        for r in results:
            by_id = {c.grade_id: c.score for c in r.cells}
            writer.writerow([r.student, r.assignment, r.status.value, *(by_id.get(c, 0.0) for c in cells),
                             r.score, r.max_score, int(bool(r.flags)), " | ".join(r.flags), " | ".join(r.notes)])


def write_histograms(folder: Path, results: list[Result]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    paths = []
    if not results:
        return paths
    for index, cell in enumerate(results[0].cells):
        scores = [r.cells[index].score for r in results if index < len(r.cells)]
        figure = Figure(figsize=(4, 3))
        axes = figure.subplots()
        points = cell.points
        axes.hist(scores, bins=[x - 0.5 for x in range(int(points) + 2)] if points == int(points) else 10, color="#4a7ab5")
        axes.set_title(f"{cell.grade_id} ({points:g} points)")
        axes.set_xlabel("score")
        axes.set_ylabel("students")
        figure.tight_layout()
        path = folder / f"hist_{cell.grade_id}.png"
        figure.savefig(path, dpi=80)
        paths.append(path)
    return paths


def write_reports(out: Path, assignment: str, results: list[Result]) -> None:
    """scores.csv, summary.txt and the histograms under ``out``."""
    write_csv(out / "scores.csv", results)
    summary = out / "summary"
    summary.mkdir(exist_ok=True)
    write_histograms(summary, results)
    unsandboxed = [r.student for r in results if not r.sandboxed]
    warning = (f"WARNING: {len(unsandboxed)} submission(s) graded WITHOUT the OS sandbox (--no-sandbox)\n\n"
               if unsandboxed else "")
    (summary / "summary.txt").write_text(f"{assignment}\n\n{warning}{grade_table(results)}\n")
