"""A failed cell's error in words: the exception's type and message said as the checks say them
(``course_lib.checks.diagnose.translate``), never its traceback nor a name of the grader's own
code (shown by ``validate`` and in plain nbgrader's feedback)."""
from __future__ import annotations

from course_lib.checks.diagnose import scrub, translate

MESSAGE_LIMIT = 400


def error_message(cell) -> str:
    """The failure in words: the exception's type and message, never its traceback."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            name, value = out.get("ename", "Error"), str(out.get("evalue", "")).strip()
            if name in ("CheckFailure", "AssertionError"):
                text = scrub(value) or "a hidden check failed (an assertion without a message)"
            elif name == "SyntaxError":
                text = "SyntaxError: the code does not parse (is a `?` blank still unfilled?)" + (f" ({value})" if value else "")
            else:
                text = translate(name, value)
            return text[:MESSAGE_LIMIT]
    return ""
