"""Where the course's pieces live: the repository, nbgrader's folders, the build output."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[2]
# nbgrader's course id (CourseDirectory.course_id): the gradebook's assignments belong to it. It
# must be set: with nbgrader's empty default no course row exists, which sqlite lets pass and a
# server database (PostgreSQL enforces foreign keys) refuses.
COURSE_ID = "course_lib"


@dataclass(frozen=True)
class Course:
    """A course tree: ``source`` holds ``<assignment>/<assignment>.ipynb``, ``judges`` the
    judge module ``<assignment>.py`` of each; everything the pipeline writes goes under ``build``
    except the gradebook when ``db`` (a database URL) or ``gradebook_file`` (an sqlite file)
    names another one (see ``db_url``)."""

    root: Path = REPO_ROOT
    source: Path = REPO_ROOT / "notebooks"
    build: Path = REPO_ROOT / "build"
    judges: Path = REPO_ROOT / "course_lib" / "judges"
    gradebook_file: Path | None = None
    db: str | None = None
    # Deadlines and late penalties per assignment (grading/late.py); a missing file: no deadlines.
    policy_file: Path | None = REPO_ROOT / "course.toml"

    @property
    def nbgrader_dir(self) -> Path:
        return self.build / "nbgrader"

    @property
    def release(self) -> Path:
        return self.nbgrader_dir / "release"

    @property
    def submitted(self) -> Path:
        """Where ``collect`` puts the students' submissions: ``submitted/<student>/<assignment>/``."""
        return self.nbgrader_dir / "submitted"

    @property
    def feedback(self) -> Path:
        """nbgrader's feedback folder, ``feedback/<student>/<assignment>/<notebook>.html``."""
        return self.nbgrader_dir / "feedback"

    @property
    def exchange(self) -> Path:
        """nbgrader's exchange (``Exchange.root``), inside the course's build folder."""
        return self.build / "exchange"

    def late_policy(self, assignment: str):
        """The assignment's ``LatePolicy`` (deadline, penalty per day) from ``policy_file``, or None."""
        from course_lib.grading.late import read_policies

        return read_policies(self.policy_file).get(assignment)

    @property
    def gradebook(self) -> Path:
        """nbgrader's gradebook: ``gradebook_file`` (absolute), else ``build/nbgrader/gradebook.db``."""
        if self.gradebook_file is not None:
            return Path(self.gradebook_file).resolve()
        return self.nbgrader_dir / "gradebook.db"

    @property
    def db_url(self) -> str:
        """The gradebook's URL: ``db`` (``--db``), else the sqlite ``gradebook_file``
        (``--gradebook``), else $COURSE_LIB_GRADEBOOK, else ``build/nbgrader/gradebook.db``."""
        from course_lib.grading.gradebook import gradebook_url

        if self.db is None and self.gradebook_file is not None:
            return f"sqlite:///{self.gradebook}"
        return gradebook_url(f"sqlite:///{self.gradebook}", self.db)

    @property
    def gradebook_file_in_use(self) -> Path | None:
        """The sqlite file the gradebook lives in, or None for a database server."""
        url = self.db_url
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None

    @property
    def gradebook_label(self) -> str:
        """Where the gradebook is, fit to print (a server URL without its password)."""
        from course_lib.grading.gradebook import describe

        path = self.gradebook_file_in_use
        return str(path) if path is not None else describe(self.db_url)

    def assignments(self) -> list[str]:
        """Assignments: folders of the source directory holding a notebook of the same name."""
        return sorted(p.parent.name for p in self.source.glob("*/*.ipynb") if p.stem == p.parent.name)

    def source_notebook(self, assignment: str) -> Path:
        path = self.source / assignment / f"{assignment}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"no source notebook for assignment {assignment!r}: {path} does not exist")
        return path

    def judge(self, assignment: str) -> Path:
        """The assignment's judge module (the named checks of its graded cells)."""
        path = self.judges / f"{assignment}.py"
        if not path.is_file():
            raise FileNotFoundError(f"no judge for assignment {assignment!r}: {path} does not exist (it lists the named "
                                    f"checks of every graded cell; see course_lib/grading/judge.py)")
        return path

    def release_notebook(self, assignment: str) -> Path:
        path = self.release / assignment / f"{assignment}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(
                f"assignment {assignment!r} is not released yet ({path} does not exist): run the release step first"
            )
        return path

    def nbgrader_args(self) -> list[str]:
        """Command-line overrides pointing plain nbgrader at this course tree."""
        return [
            f"--CourseDirectory.root={self.root}",
            f"--CourseDirectory.source_directory={self.source.relative_to(self.root) if self.source.is_relative_to(self.root) else self.source}",
            f"--CourseDirectory.release_directory={self.release}",
            f"--CourseDirectory.submitted_directory={self.submitted}",
            f"--CourseDirectory.autograded_directory={self.nbgrader_dir / 'autograded'}",
            f"--CourseDirectory.feedback_directory={self.feedback}",
            f"--Exchange.root={self.exchange}",
            f"--CourseDirectory.db_url={self.db_url}",
            f"--CourseDirectory.course_id={COURSE_ID}",
        ]


def tool_env() -> dict[str, str]:
    """The environment for nbgrader and its helpers: this interpreter's bin folder first on
    PATH (nbgrader's gradebook calls the ``alembic`` script)."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        path = bin_dir + os.pathsep + path
    return dict(os.environ, PATH=path, PYTHONWARNINGS="ignore")


def use_tool_env() -> None:
    """Put this interpreter's bin folder on PATH for in-process gradebook access."""
    os.environ["PATH"] = tool_env()["PATH"]


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A notebook as nbformat 4; raises ValueError naming the file when it is not a notebook."""
    try:
        return nbformat.read(str(path), as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name} is not a valid notebook (not JSON: {str(error)[:200]})") from None
    except Exception as error:  # nbformat validation errors of many kinds
        raise ValueError(f"{path.name} is not a valid notebook ({type(error).__name__}: {str(error)[:200]})") from None


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_grade(cell) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_locked(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked") or (meta.get("grade") and not meta.get("solution")))


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")
