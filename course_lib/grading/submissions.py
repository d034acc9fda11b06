"""Finding submissions: nbgrader's ``submitted/<student>/<assignment>/<assignment>.ipynb``
layout, or a flat folder of ``<student>.ipynb`` files."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9_.@-]+$")


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def find_submissions(folder: Path, assignment: str) -> list[Submission]:
    """The submissions of ``assignment`` in ``folder`` (either layout), sorted by student."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(folder.glob(f"*/{assignment}/*.ipynb")):
        student = path.parent.parent.name
        preferred = path.parent / f"{assignment}.ipynb"
        found[student] = preferred if preferred.is_file() else found.get(student, path)
    for path in sorted(folder.glob("*.ipynb")):
        if path.stem in found:
            raise ValueError(f"student {path.stem!r} has both {path.name} and a {path.stem}/{assignment}/ folder")
        found[path.stem] = path
    for student in found:
        if not STUDENT_ID.match(student):
            raise ValueError(f"student id {student!r} may only hold letters, digits and _ . @ -")
    return [Submission(student, found[student]) for student in sorted(found)]
