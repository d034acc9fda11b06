"""The run's reports: scores.csv (one row per student, one column per graded cell, the full
notes), a text table at most 100 columns wide with the notes wrapped below it, summary.txt
(the run's counts, mean, median and each question's distribution) and a histogram per graded
cell as PNG. Every file is replaced atomically."""
from __future__ import annotations

import csv
import io
import statistics
import textwrap
from pathlib import Path

from course_lib.grading.record import atomic_write
from course_lib.grading.records import Result, Status

WIDTH = 100
NO_SUBMISSION = (Status.MISSING, Status.NOT_NOTEBOOK, Status.BAD_ID)
STUDENT_COLUMN = 40  # longer ids are shortened in the table only (the CSV has them whole)


def points_text(points: float) -> str:
    """``1 point``, ``2 points``, ``0.5 points``."""
    return f"{points:g} point" + ("" if points == 1 else "s")


def reused_text(count: int) -> str:
    """``3 results reused from an earlier run``."""
    return f"{count} result{'' if count == 1 else 's'} reused from an earlier run"


def submitted(rows: list[Result]) -> list[Result]:
    """The rows of students who handed in a notebook (graded, or invalid, too big, error)."""
    return [r for r in rows if r.status not in NO_SUBMISSION]


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def grade_table(results: list[Result], width: int = WIDTH) -> str:
    """A table at most ``width`` columns wide: student, each graded cell's score (columns Q1,
    Q2... named in a legend), total and status; the flags and notes wrapped in full below."""
    if not results:
        return "(no submissions)"
    cells = [(c.grade_id, c.points) for c in results[0].cells]
    labels = [f"Q{i}" for i in range(1, len(cells) + 1)]
    students = [_short(r.student, STUDENT_COLUMN) for r in results]
    scores = [[f"{c.score:g}" for c in r.cells] for r in results]
    totals = [f"{r.final_score:g}/{r.max_score:g}" for r in results]
    statuses = [r.status.value + (" *" if r.flags or r.notes else "") for r in results]
    w_student = max(len("student"), *map(len, students))
    w_cells = [max(len(label), *(len(s[i]) for s in scores if i < len(s))) for i, label in enumerate(labels)]
    w_total, w_status = max(len("total"), *map(len, totals)), max(len("status"), *map(len, statuses))

    def line(parts, widths, right):
        return "  ".join(p.rjust(w) if r else p.ljust(w) for p, w, r in zip(parts, widths, right)).rstrip()

    # Columns of cells in blocks that fit the width; total and status end the last block.
    blocks, block, used = [], [], w_student
    tail = w_total + w_status + 4
    for i, w in enumerate(w_cells):
        last = i == len(w_cells) - 1
        if block and used + w + 2 + (tail if last else 0) > width:
            blocks.append(block)
            block, used = [], w_student
        block.append(i)
        used += w + 2
    blocks.append(block)
    out = []
    for number, block in enumerate(blocks):
        last = number == len(blocks) - 1
        header = ["student", *(labels[i] for i in block)] + (["total", "status"] if last else [])
        widths = [w_student, *(w_cells[i] for i in block)] + ([w_total, w_status] if last else [])
        right = [False, *(True for _ in block)] + ([True, False] if last else [])
        if out:
            out.append("")
        out += [line(header, widths, right), line(["-" * w for w in widths], widths, right)]
        for k, r in enumerate(results):
            values = [students[k], *(scores[k][i] if i < len(scores[k]) else "-" for i in block)]
            out.append(line(values + ([totals[k], statuses[k]] if last else []), widths, right))
    out += [""] + _packed([f"{label} {gid} ({points_text(p)})" for label, (gid, p) in zip(labels, cells)], width)
    noted = [r for r in results if r.flags or r.notes]
    if noted:
        out += ["", "* notes:"]
        for r in noted:
            out += textwrap.wrap(f"{r.student}: {'; '.join(r.flags + r.notes)}", width, initial_indent="  ",
                                 subsequent_indent="      ", break_long_words=True, break_on_hyphens=False)
    return "\n".join(out)


def _packed(items: list[str], width: int) -> list[str]:
    """``items`` joined by ", " into lines of at most ``width``, never splitting an item that fits."""
    lines = [""]
    for item in items:
        if lines[-1] and len(lines[-1]) + 2 + len(item) > width:
            lines[-1] += ","
            lines.append("")
        lines[-1] += (", " if lines[-1] else "") + item
    return lines


def csv_text(results: list[Result]) -> str:
    cells = [c.grade_id for c in results[0].cells] if results else []
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(["student", "assignment", "status", *cells, "total", "max", "late_penalty", "submitted_at", "flagged",
                     "flags", "notes"])
    for r in results:
        by_id = {c.grade_id: c.score for c in r.cells}
        writer.writerow([r.student, r.assignment, r.status.value, *(by_id.get(c, 0.0) for c in cells),
                         r.final_score, r.max_score, r.late_penalty, r.submitted_at or "", int(bool(r.flags)),
                         " | ".join(r.flags), " | ".join(r.notes)])
    return handle.getvalue()


def write_csv(path: Path, results: list[Result]) -> None:
    atomic_write(path, csv_text(results))


def _number(value: float) -> str:
    return f"{round(value, 2):g}"


def distribution(scores: list[float]) -> str:
    """``0: 3, 1: 5, 2: 10``: how many students got each score."""
    values = sorted(set(scores))
    return ", ".join(f"{_number(v)}: {scores.count(v)}" for v in values)


def summary_text(assignment: str, rows: list[Result], run=None) -> str:
    """The counts of the run, the totals' mean and median, each question's mean, median and distribution."""
    handed = submitted(rows)
    lines = [assignment, ""]
    unsandboxed = [r.student for r in rows if not r.sandboxed]
    if unsandboxed:
        lines += [f"WARNING: {len(unsandboxed)} submission(s) graded WITHOUT the OS sandbox (--no-sandbox)", ""]
    without = len(rows) - len(handed)
    counts = f"{len(rows)} students: {len(handed)} submissions"
    if run is not None:
        counts += f" ({run.graded} graded in this run, {reused_text(run.reused)})"
    lines.append(counts + (f", {without} without a gradable submission (0 points)" if without else ""))
    if rows and handed:
        max_score = rows[0].max_score
        totals = [r.final_score for r in handed]
        lines.append(f"total (of {_number(max_score)}) over the {len(handed)} submissions: mean {_number(statistics.mean(totals))}, "
                     f"median {_number(statistics.median(totals))}, min {_number(min(totals))}, max {_number(max(totals))}")
        if without:
            everyone = [r.final_score for r in rows]
            lines.append(f"  counting the {without} without one as 0: mean {_number(statistics.mean(everyone))}, "
                         f"median {_number(statistics.median(everyone))}")
        lines.append("per question (over the submissions; students: score: count):")
        for i, cell in enumerate(rows[0].cells, start=1):
            scores = [r.cells[i - 1].score for r in handed if i - 1 < len(r.cells)]
            full = sum(s >= cell.points for s in scores)
            lines += textwrap.wrap(f"Q{i} {cell.grade_id} ({points_text(cell.points)}): mean {_number(statistics.mean(scores))}, "
                                   f"median {_number(statistics.median(scores))}, full marks {full} of {len(scores)}; "
                                   f"{distribution(scores)}", WIDTH, initial_indent="  ", subsequent_indent="      ")
    if run is not None and run.ignored:
        lines += textwrap.wrap(f"ignored (hidden names): {', '.join(run.ignored)}", WIDTH)
    if run is not None and run.stale:
        lines += textwrap.wrap(f"outputs of students not graded in this run, moved to {run.out / 'stale'}: "
                               f"{', '.join(run.stale)}", WIDTH)
    return "\n".join(lines + ["", grade_table(rows), ""])


def histogram(grade_id: str, points: float, scores: list[float]):
    """The figure of one graded cell's scores: a bar per score, integer ticks and counts."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(4, 3))
    axes = figure.subplots()
    values = sorted(set(scores))
    gaps = [b - a for a, b in zip(values, values[1:])]
    axes.bar(values, [scores.count(v) for v in values], width=min([0.8, *(0.8 * g for g in gaps)]), color="#4a7ab5")
    if points == int(points) and points <= 20:
        axes.set_xticks(range(int(points) + 1))
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(-0.6, points + 0.6)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"{grade_id} ({points_text(points)})")
    axes.set_xlabel("score")
    axes.set_ylabel("students")
    # fixed margins for the fixed size and labels (tight_layout measured them anew: a third of the time)
    figure.subplots_adjust(left=0.19, right=0.96, bottom=0.16, top=0.9)
    return figure


def write_histograms(folder: Path, results: list[Result]) -> list[Path]:
    """``hist_<grade_id>.png`` per graded cell of the submissions (stale ones removed)."""
    paths = []
    handed = submitted(results)
    cells = results[0].cells if results else []
    for index, cell in enumerate(cells):
        scores = [r.cells[index].score for r in handed if index < len(r.cells)]
        figure = histogram(cell.grade_id, cell.points, scores)
        data = io.BytesIO()
        figure.savefig(data, format="png", dpi=80)
        path = folder / f"hist_{cell.grade_id}.png"
        atomic_write(path, data.getvalue())
        paths.append(path)
    for old in folder.glob("hist_*.png"):
        if old not in paths:
            old.unlink()
    return paths


def write_reports(out: Path, assignment: str, results: list[Result], run=None, kill=None) -> None:
    """scores.csv, summary/summary.txt and the histograms under ``out``; ``results`` are the
    rows (every student), ``run`` the autograde run they come from."""
    write_csv(out / "scores.csv", results)
    if kill is not None:
        kill.at("reports")
    summary = out / "summary"
    summary.mkdir(exist_ok=True)
    write_histograms(summary, results)
    atomic_write(summary / "summary.txt", summary_text(assignment, results, run))
