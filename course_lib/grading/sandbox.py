"""The autograde kernel: an IPython kernel whose process has capped memory, no core dumps
and a ``course_lib`` without the reference solutions (the student's tree, first on
``sys.path``).

Run as a script by the kernelspec that ``write_kernelspec`` writes:
``python sandbox.py <memory bytes> -f <connection file>``.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

KERNEL_NAME = "course-lib-sandbox"
DEFAULT_MEMORY = 3 * 1024**3
STUDENT_EXCLUDE = ("solutions", "__pycache__")


def copy_student_package(package: Path, destination: Path) -> Path:
    """Copy the ``course_lib`` package to ``destination/course_lib`` without the reference
    solutions (and without caches); returns the copy."""
    target = destination / "course_lib"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(package, target, ignore=shutil.ignore_patterns(*STUDENT_EXCLUDE, "*.pyc"))
    return target


def write_kernelspec(folder: Path, memory_bytes: int = DEFAULT_MEMORY) -> Path:
    """Write the sandbox kernelspec into ``folder/<KERNEL_NAME>/kernel.json``; returns ``folder``."""
    spec_dir = folder / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, str(Path(__file__).resolve()), str(int(memory_bytes)), "-f", "{connection_file}"],
        "display_name": "course_lib autograde sandbox",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def hide_editable_install() -> None:
    """Drop an editable install's import hooks, which would find the instructor's ``course_lib``
    (solutions included) ahead of the student tree on ``PYTHONPATH``."""
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
    sys.path_importer_cache.clear()


def main() -> None:
    import resource

    memory = int(sys.argv.pop(1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # sys.path[0] is this script's folder: the student must not import the grader's modules by bare name.
    sys.path.pop(0)
    hide_editable_install()
    os.environ.setdefault("MPLBACKEND", "Agg")
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
