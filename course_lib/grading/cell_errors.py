"""Why an answer cell stopped, in words: the error a student's own cell raised (an import of a
package the course does not have, a misspelt name, an index out of range...), with the line of
that cell, read from the executed notebook by the grader.

A check that finds a graded name undefined says "blank not filled yet" (``diagnose.translate``);
when the answer cell that defines the name stopped with an error that is not an unfilled ``?``
blank, ``explain_missing`` says that instead. Words only: the scores do not change."""
from __future__ import annotations

import ast
import re

from course_lib.checks.diagnose import scrub, translate
from course_lib.grading.course import grade_id, is_solution
from course_lib.grading.records import CheckVerdict

# Python's exceptions in words (the type's name follows in brackets).
IN_WORDS = {
    "IndexError": "an index out of range",
    "KeyError": "a key that is not there",
    "TypeError": "a value of the wrong type for an operation",
    "ValueError": "a value the operation cannot use",
    "AttributeError": "an attribute the object does not have",
    "ZeroDivisionError": "a division by zero",
    "AssertionError": "an assert that failed",
    "RecursionError": "a function that calls itself without end",
    "MemoryError": "more memory than the course allows",
    "FileNotFoundError": "a file that is not there",
    "UnboundLocalError": "a local variable used before it was given a value",
    "OverflowError": "a number too large",
    "IndentationError": "lines indented wrongly",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_UNDEFINED = re.compile(r"`(\w+)` is not defined")
MAX_WORDS = 400


def defining_cells(source_nb) -> dict[str, str]:
    """The names each answer cell of the source defines at its top level -> its grade_id."""
    found: dict[str, str] = {}
    for cell in source_nb.cells:
        if cell.cell_type != "code" or not is_solution(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, grade_id(cell))
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for leaf in ast.walk(target):
                        if isinstance(leaf, ast.Name):
                            found.setdefault(leaf.id, grade_id(cell))
    return found


def _error(cell) -> dict | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _line_of(source: str, pattern: str) -> int | None:
    for number, line in enumerate(source.split("\n"), 1):
        if re.search(pattern, line.split("#")[0]):
            return number
    return None


def _syntax_line(source: str) -> int | None:
    """The line of the cell's SyntaxError, compiled here (nothing runs)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        compile(TransformerManager().transform_cell(source), "<cell>", "exec")
    except SyntaxError as error:
        return error.lineno
    except Exception:  # noqa: BLE001 - anything else: no line to give
        return None
    return None


def _traceback_line(output: dict, count) -> int | None:
    """The deepest line of the cell itself (``Cell In[count], line L``) in its traceback."""
    text = _ANSI.sub("", "\n".join(str(t) for t in output.get("traceback") or [])[:20000])
    lines = [int(m.group(2)) for m in re.finditer(r"Cell In\[(\d+)\], line (\d+)", text)
             if count is None or m.group(1) == str(count)]
    return lines[-1] if lines else None


def stopped(cell) -> tuple[int | None, str] | None:
    """Why the executed answer ``cell`` stopped: (the line of the cell or None, what stopped it in
    words); None when it ran through or still has an unfilled ``?`` blank."""
    output = _error(cell)
    if output is None:
        return None
    name, message, source = str(output.get("ename", ""))[:100], str(output.get("evalue", ""))[:1000], cell.source
    if name in ("SyntaxError", "IndentationError"):
        line = _syntax_line(source)
        text = source.split("\n")[line - 1] if line and line <= len(source.split("\n")) else ""
        if "?" in text:
            return None
        words = f"{IN_WORDS.get(name, 'code that is not valid Python')} ({name})"
    elif name in ("ModuleNotFoundError", "ImportError"):
        found = re.search(r"No module named '([\w.]+)'|from '([\w.]+)'", message)
        module = (found.group(1) or found.group(2)).split(".")[0] if found else None
        line = _line_of(source, rf"\b(import|from)\s+{re.escape(module)}\b") if module else None
        words = translate(name, message).removeprefix(f"{name}: ")
        words = f"an import that failed ({name}): {words}"
    elif name == "NameError":
        found = re.search(r"name '(\w+)' is not defined", message)
        missing = found.group(1) if found else None
        line = _line_of(source, rf"\b{missing}\b") if missing else None
        words = (f"the name `{missing}` is not defined there (misspelt, or defined in a cell that did not run)"
                 if missing else "a name that is not defined")
    else:
        line = _traceback_line(output, cell.get("execution_count"))
        words = f"{IN_WORDS.get(name, 'an error')} ({translate(name, message)})"
    return line, scrub(words)[:MAX_WORDS]


def explain_missing(verdicts: list[CheckVerdict], nb, defined: dict[str, str]) -> list[CheckVerdict]:
    """``verdicts`` whose "blank not filled yet: `name` is not defined" is replaced by why the
    answer cell that defines ``name`` stopped, when it stopped with an error that is not a blank."""
    cells = {grade_id(c): c for c in nb.cells if c.cell_type == "code" and is_solution(c)}
    out = []
    for verdict in verdicts:
        found = _UNDEFINED.search(verdict.message) if verdict.mistake == "missing" else None
        cell = cells.get(defined.get(found.group(1))) if found else None
        why = stopped(cell) if cell is not None else None
        if why is None:
            out.append(verdict)
            continue
        line, words = why
        where = f" on line {line} of that cell" if line else ""
        head = verdict.message.split("blank not filled yet")[0]
        out.append(CheckVerdict(verdict.name, verdict.weight, False, "cell_stopped",
                                f"{head}`{found.group(1)}` is not defined because your answer cell that defines it "
                                f"stopped{where}, with {words}"))
    return out
