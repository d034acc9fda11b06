"""Feedback HTML for one student: per graded cell the points and, for a failure, which
check failed and why in words. It shows the student's own code and the visible tests as
released; never the hidden tests' code or a traceback."""
from __future__ import annotations

import html

from course_lib.checks.diagnose import translate
from course_lib.grading.cell_errors import stopped
from course_lib.grading.course import grade_id, is_grade, is_solution
from course_lib.grading.records import CellResult, Result

STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
.passed{color:#176117}.failed,.flagged,.not{color:#a31515}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"""


def _text_outputs(cell, limit: int = 4000) -> str:
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stdout")
    return text[:limit]


def _error_words(cell, output) -> str:
    """A code cell's error in words (``cell_errors.stopped``); an unfilled blank as such."""
    from course_lib.checks.diagnose import scrub

    why = stopped(cell) if is_solution(cell) else None
    if why is not None:
        line, words = why
        return f"This cell stopped{f' on line {line}' if line else ''} with {words}"
    name, value = str(output.get("ename", ""))[:100], str(output.get("evalue", ""))[:400]
    if is_solution(cell) and name in ("SyntaxError", "IndentationError"):
        return "Blank not filled yet: this cell still has a `?` to fill in"
    if name == "NameError":
        return scrub(translate(name, value))
    return scrub(f"{name}: {value}")


def _checks_html(cell: CellResult) -> str:
    """The cell's named checks: a line each, the failed ones with their message."""
    e = html.escape
    passed = sum(v.passed for v in cell.checks)
    rows = [f"<p>{passed} of {len(cell.checks)} checks passed: {cell.score:g} / {cell.points:g}</p><ul>"]
    for v in cell.checks:
        if v.passed:
            rows.append(f"<li class='passed'>\u2714 {e(v.name)}</li>")
        else:
            rows.append(f"<li class='failed'>\u2718 {e(v.name)}: {e(v.message)}</li>")
    rows.append("</ul>")
    return "".join(rows)


def _score_html(result: Result) -> str:
    """The score line; a late submission's shows the penalty taken (grading/late.py)."""
    if not result.late_penalty and not result.late_days:
        return f"<p><b>Score: {result.score:g} / {result.max_score:g}</b></p>"
    days = f"{result.late_days} day" + ("" if result.late_days == 1 else "s")
    return (f"<p><b>Score: {result.final_score:g} / {result.max_score:g}</b> ({result.score:g} for the tests, "
            f"\u2212{result.late_penalty:g} for {days} late)</p>")


def feedback_html(result: Result, rebuilt_nb, release_nb) -> str:
    """The student's feedback page."""
    e = html.escape
    released = {grade_id(c): c for c in release_nb.cells if grade_id(c)}
    scores = {c.grade_id: c for c in result.cells}
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback: {e(result.assignment)}</title>",
             f"<style>{STYLE}</style></head><body>",
             f"<h1>{e(result.assignment)}: feedback for {e(result.student)}</h1>",
             _score_html(result),
             (f"<p>Submitted {e(result.submitted_at.replace('T', ' ')[:19])} UTC</p>" if result.submitted_at else ""),
             "<table><tr><th>test</th><th>points</th><th>result</th></tr>"]
    for cell in result.cells:
        parts.append(f"<tr><td>{e(cell.grade_id)}</td><td>{cell.score:g} / {cell.points:g}</td>"
                     f"<td class='{cell.status.value.split()[0]}'>{e(cell.message)}</td></tr>")
    parts.append("</table>")
    for note in result.notes:
        parts.append(f"<p class='flagged'>{e(note)}</p>")
    if rebuilt_nb is not None:
        parts.append("<h2>Your notebook</h2>")
        for cell in rebuilt_nb.cells:
            gid = grade_id(cell)
            if is_grade(cell) and not is_solution(cell):
                visible = released.get(gid)
                score = scores.get(gid)
                if score is None:
                    continue
                parts.append(f"<h3>Test {e(gid or '')}: {score.score:g} / {score.points:g}</h3>")
                if visible is not None and visible.source.strip():
                    parts.append(f"<pre>{e(visible.source)}</pre>")
                output = _text_outputs(cell)
                if output:
                    parts.append(f"<pre>{e(output)}</pre>")
                parts.append(_checks_html(score))
            elif cell.cell_type == "code" and (is_solution(cell) or not gid):
                parts.append(f"<pre>{e(cell.source)}</pre>")
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "error":
                        parts.append(f"<p class='failed'>{e(_error_words(cell, out))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
