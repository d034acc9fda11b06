"""`# BLANK:` markers in solution code -> the lecture's `?` blanks.

Inline: ``code  # BLANK: <student text>`` becomes ``<student text>`` at the line's indentation.
Region: the lines from ``# BEGIN BLANK: <student text>`` to ``# END BLANK`` become one line
``<student text>`` at the indentation of the BEGIN line. Every blank must fail loudly
(a SyntaxError in IPython), so a student cannot run past an unfilled one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN BLANK:\s?(?P<text>.*?)\s*$")
END = re.compile(r"^[ \t]*#\s*END BLANK\s*$")
INLINE = re.compile(r"^(?P<indent>[ \t]*)(?P<code>\S.*?)\s*#\s*BLANK:\s?(?P<text>.*?)\s*$")


class BlankError(ValueError):
    """A blank marker is malformed or its released text would not fail loudly."""


@dataclass(frozen=True)
class Blank:
    """One blank: source lines ``start``..``end`` (inclusive, 0-based) become ``indent + text``."""

    start: int
    end: int
    indent: str
    text: str


def find_blanks(source: str) -> list[Blank]:
    """All blanks of a cell's source, in order; raises BlankError on a malformed marker."""
    blanks: list[Blank] = []
    lines = source.split("\n")
    open_region: tuple[int, str, str] | None = None
    for number, line in enumerate(lines):
        begin = BEGIN.match(line)
        if begin:
            if open_region is not None:
                raise BlankError(f"line {number + 1}: nested '# BEGIN BLANK' (the one on line {open_region[0] + 1} is not closed)")
            open_region = (number, begin["indent"], begin["text"])
            continue
        if END.match(line):
            if open_region is None:
                raise BlankError(f"line {number + 1}: '# END BLANK' without a '# BEGIN BLANK'")
            start, indent, text = open_region
            blanks.append(Blank(start, number, indent, text))
            open_region = None
            continue
        inline = INLINE.match(line)
        if inline and open_region is None:
            blanks.append(Blank(number, number, inline["indent"], inline["text"]))
    if open_region is not None:
        raise BlankError(f"line {open_region[0] + 1}: '# BEGIN BLANK' without a '# END BLANK'")
    for blank in blanks:
        _check_text(blank)
    return blanks


def _check_text(blank: Blank) -> None:
    if "?" not in blank.text:
        raise BlankError(f"line {blank.start + 1}: blank text {blank.text!r} has no '?'")
    if blank.text.strip().strip("?") == "":
        # IPython reads a line of only `?` as a help request that runs silently.
        raise BlankError(
            f"line {blank.start + 1}: blank text {blank.text!r} is only '?', which IPython runs as a "
            "silent help call; write e.g. `T = ?` or `return(?)`"
        )


def has_blanks(source: str) -> bool:
    """Whether the source holds any blank marker."""
    return bool(find_blanks(source))


def release_blanks(source: str, only: int | None = None) -> str:
    """The source with its blanks released (all of them, or just blank number ``only``)."""
    lines = source.split("\n")
    blanks = find_blanks(source)
    for index in reversed(range(len(blanks))):
        if only is not None and index != only:
            continue
        blank = blanks[index]
        lines[blank.start : blank.end + 1] = [blank.indent + blank.text]
    return "\n".join(lines)


def fails_loudly(source: str) -> bool:
    """Whether IPython refuses the cell with a SyntaxError (what an unfilled blank must do)."""
    try:
        compile(TransformerManager().transform_cell(source), "<cell>", "exec")
    except SyntaxError:
        return True
    return False


def verify_blanks(source: str) -> None:
    """Raise BlankError unless the cell runs as it is and each of its blanks, released
    alone, makes the cell fail with a SyntaxError."""
    blanks = find_blanks(source)
    if blanks and fails_loudly(source):
        raise BlankError("the source cell itself is not valid Python")
    for index, blank in enumerate(blanks):
        if not fails_loudly(release_blanks(source, only=index)):
            raise BlankError(
                f"line {blank.start + 1}: the released blank {blank.text!r} does not raise a SyntaxError"
            )
