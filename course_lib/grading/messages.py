"""A failed cell's error in words: the exception's type and message, never its traceback
(shown by ``validate`` and in plain nbgrader's feedback)."""
from __future__ import annotations

MESSAGE_LIMIT = 400


def error_message(cell) -> str:
    """The failure in words: the exception's type and message, never its traceback."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            name, value = out.get("ename", "Error"), str(out.get("evalue", "")).strip()
            if name in ("CheckFailure", "AssertionError"):
                text = value or "a hidden check failed (an assertion without a message)"
            elif name == "SyntaxError":
                text = "SyntaxError: the code does not parse (is a `?` blank still unfilled?)" + (f" ({value})" if value else "")
            else:
                text = f"{name}: {value}" if value else name
            return text[:MESSAGE_LIMIT]
    return ""
