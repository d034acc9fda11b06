"""The student bundle: a folder and a zip holding the released notebooks, ``course_lib``
without the reference solutions, the data and the packaging, so that
``pip install -e .`` works in it."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from course_lib.grading.course import REPO_ROOT, Course
from course_lib.grading.sandbox import copy_student_package

BUNDLE_NAME = "course_lib_student"

STUDENT_README = """# course_lib: student bundle

Install once, then open the notebooks in JupyterLab and fill in the `?` blanks:

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/jupyter lab notebooks/

Check a notebook before you hand it in (exits non-zero while any test fails):

    .venv/bin/course-lib-grade validate notebooks/<topic>/<topic>.ipynb
"""


def build_bundle(course: Course, assignments: list[str], out: Path | None = None) -> tuple[Path, Path]:
    """Write ``<out>/course_lib_student/`` and ``<out>/course_lib_student.zip``; returns both."""
    out = Path(out) if out is not None else course.build / "student"
    folder = out / BUNDLE_NAME
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for assignment in assignments:
        released = course.release_notebook(assignment).parent
        shutil.copytree(released, folder / "notebooks" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    copy_student_package(REPO_ROOT / "course_lib", folder)
    shutil.copytree(REPO_ROOT / "data", folder / "data")
    shutil.copy(REPO_ROOT / "pyproject.toml", folder / "pyproject.toml")
    (folder / "README.md").write_text(STUDENT_README)
    archive = out / f"{BUNDLE_NAME}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                handle.write(path, Path(BUNDLE_NAME) / path.relative_to(folder))
    return folder, archive
