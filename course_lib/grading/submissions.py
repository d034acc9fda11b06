"""Finding submissions: nbgrader's ``submitted/<student>/<assignment>/<assignment>.ipynb``
layout, or a flat folder of ``<student>.ipynb`` files (the two may be mixed).

Nothing in the folder is skipped silently. ``scan_submissions`` returns the gradable
submissions, a row for every other name, and the files of graded students it did not grade:

- ``<name>.ipynb`` or ``<name>/<assignment>/*.ipynb`` is <name>'s submission (in the folder
  ``<assignment>.ipynb``, else the first notebook by name; the other notebooks are listed as
  not graded); when both exist, the folder's is graded and the flat file listed as not graded;
- a folder ``<name>/`` with no notebook of the assignment: ``missing``, or ``not a notebook``
  when ``<name>/<assignment>/`` holds files but no notebook;
- any other file ``<name>.<ext>``: ``not a notebook`` for student ``<name>``;
- a name that is not letters, digits and ``_ . @ -`` (a space, a slash...): ``bad id``, never
  graded (nbgrader's folders and gradebook key on the id); every such name is listed;
- hidden names (``.DS_Store``, ``.ipynb_checkpoints``) and ``__MACOSX`` are listed as ignored.

A folder with no gradable submission at all (empty, or the wrong folder, e.g. the parent of
``submitted/``) is an error (``NoSubmissions``) naming what it holds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.grading.records import Status

STUDENT_ID = re.compile(r"^[A-Za-z0-9_.@-]+$")
BAD_ID_RULE = "a student id may only hold letters, digits and _ . @ -"


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    timestamp: str | None = None  # nbgrader's timestamp.txt next to the notebook (as submitted), if any


@dataclass(frozen=True)
class Entry:
    """A name of the submissions folder that is not a gradable submission: a report row."""

    student: str
    status: Status  # MISSING, NOT_NOTEBOOK or BAD_ID
    reason: str


@dataclass
class Scan:
    """What a submissions folder holds."""

    folder: Path
    submissions: list[Submission] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    not_graded: dict[str, list[str]] = field(default_factory=dict)  # graded student -> files not graded
    ignored: list[str] = field(default_factory=list)


class NoSubmissions(ValueError):
    """The folder holds no gradable submission of the assignment."""


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _listing(paths: list[Path], root: Path, limit: int = 6) -> str:
    names = [str(p.relative_to(root)) + ("/" if p.is_dir() else "") for p in paths]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _timestamp(folder: Path, notebook: Path) -> str | None:
    """The text of nbgrader's ``timestamp.txt`` of a ``<student>/<assignment>/`` submission
    (a flat ``<student>.ipynb`` has none)."""
    if notebook.parent == folder:
        return None
    try:
        return (notebook.parent / "timestamp.txt").read_text().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def scan_submissions(folder: Path, assignment: str) -> Scan:
    """Every name of ``folder``: the submissions of ``assignment`` (sorted by student), the
    rows of the others and what was not graded; raises ``NoSubmissions`` when none is gradable."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    scan = Scan(folder)
    found: dict[str, Path] = {}
    problems: dict[str, tuple[Status, list[str]]] = {}
    extra: dict[str, list[str]] = {}

    def problem(student: str, status: Status, reason: str) -> None:
        old = problems.get(student)
        # "not a notebook" (something was handed in) outranks "missing"; bad id outranks both.
        rank = {Status.BAD_ID: 2, Status.NOT_NOTEBOOK: 1, Status.MISSING: 0}
        if old is None:
            problems[student] = (status, [reason])
        else:
            problems[student] = (status if rank[status] > rank[old[0]] else old[0], old[1] + [reason])

    entries = sorted(folder.iterdir())
    for path in entries:
        if _hidden(path.name):
            scan.ignored.append(path.name + ("/" if path.is_dir() else ""))
            continue
        if path.is_dir():
            student = path.name
            work = path / assignment
            notebooks = sorted(p for p in work.glob("*.ipynb") if p.is_file()) if work.is_dir() else []
            if not STUDENT_ID.match(student):
                problem(student, Status.BAD_ID, f"folder {student!r}/: {BAD_ID_RULE}")
            elif notebooks:
                chosen = work / f"{assignment}.ipynb"
                chosen = chosen if chosen in notebooks else notebooks[0]
                found[student] = chosen
                extra.setdefault(student, []).extend(f"{student}/{assignment}/{p.name}" for p in notebooks if p != chosen)
            elif work.is_dir() and any(not _hidden(p.name) and p.name != "timestamp.txt" for p in work.iterdir()):
                held = [p for p in sorted(work.iterdir()) if not _hidden(p.name)]
                problem(student, Status.NOT_NOTEBOOK, f"{student}/{assignment}/ holds no notebook: {_listing(held, folder)}")
            else:
                held = [p for p in sorted(path.iterdir()) if not _hidden(p.name)]
                what = f"it holds {_listing(held, folder)}" if held else "it is empty"
                problem(student, Status.MISSING, f"no {student}/{assignment}/ notebook in folder {student}/ ({what})")
        elif path.suffix == ".ipynb":
            student = path.stem
            if not STUDENT_ID.match(student):
                problem(student, Status.BAD_ID, f"{path.name}: {BAD_ID_RULE}")
            elif student in found or (folder / student / assignment).is_dir():
                extra.setdefault(student, []).append(path.name)
            else:
                found[student] = path
        else:
            student = path.stem if STUDENT_ID.match(path.stem) else path.name
            problem(student, Status.NOT_NOTEBOOK, f"{path.name} is not a notebook (.ipynb)")
    for student, files in extra.items():
        if student in found and files:
            scan.not_graded[student] = files
    for student, (status, reasons) in problems.items():
        if student in found:
            # e.g. alice.ipynb and alice.pdf: alice is graded, the rest listed as not graded
            scan.not_graded.setdefault(student, []).extend(reasons)
        else:
            scan.entries.append(Entry(student, status, "; ".join(reasons)))
    scan.entries.sort(key=lambda e: e.student)
    scan.submissions = [Submission(student, found[student], _timestamp(folder, found[student])) for student in sorted(found)]
    if not scan.submissions:
        hint = ""
        nested = sorted({p.parents[2] for p in folder.glob(f"*/*/{assignment}/*.ipynb")})
        if nested:
            hint = f"; did you mean {nested[0]}?"
        held = [p for p in entries if not _hidden(p.name)]
        what = f"it holds {_listing(held, folder)}" if held else "it is empty"
        raise NoSubmissions(f"no submission of {assignment} in {folder} ({what}): expected "
                            f"<student>/{assignment}/{assignment}.ipynb or <student>.ipynb{hint}")
    return scan


def find_submissions(folder: Path, assignment: str) -> list[Submission]:
    """The gradable submissions of ``assignment`` in ``folder``, sorted by student."""
    return scan_submissions(folder, assignment).submissions
