"""The autograde kernel: an IPython kernel whose process has capped memory, no core dumps,
a ``course_lib`` without the reference solutions (the student's tree, first on
``sys.path``), and an audit hook that keeps it out of the instructor's files.

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
STUDENT_EXCLUDE = ("solutions", "judges", "__pycache__")


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


DENY_ENV = "COURSE_LIB_SANDBOX_DENY"
ALLOW_ENV = "COURSE_LIB_SANDBOX_ALLOW"
# Written to the kernel's log (its stderr as started, not the cell's output) on each refused
# read: the grader flags the cell that tried, even when the submission catches the
# PermissionError. (Refused program starts are not reported: libraries such as matplotlib probe
# for programs on import; the source scan flags `subprocess` and friends.)
REFUSED_MARK = "COURSE_LIB_SANDBOX_REFUSED"
# Audit events that start another program: a shell could read what open() may not.
PROGRAM_EVENTS = {"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.fork", "pty.spawn"}


def install_read_guard(deny: list[str], allow: list[str]) -> None:
    """Refuse, from now on in this process, to open or list anything under a ``deny`` folder
    (the instructor's repository: sources, hidden tests, solutions, other submissions) unless it
    lies under an ``allow`` folder (the student tree, the data, the working folder, Python's own
    install), and refuse to start other programs. An audit hook cannot be removed from Python."""
    deny = [os.path.realpath(p) for p in deny if p]
    allow = [os.path.realpath(p) for p in allow + [sys.prefix, sys.base_prefix, sys.exec_prefix] if p]

    def inside(path: str, folders: list[str]) -> bool:
        return any(path == folder or path.startswith(folder + os.sep) for folder in folders)

    write = os.write
    # A copy of the log's descriptor taken before the kernel starts: ipykernel later points fd 2
    # at a pipe that a thread forwards, so a report written there could reach the log only after
    # the cell's reply, and be charged to a later cell.
    log = os.dup(2)

    def report(what: str) -> None:
        try:
            write(log, f"\n{REFUSED_MARK} {what}\n".encode("utf-8", "replace"))
        except OSError:
            pass

    def hook(event: str, args: tuple) -> None:
        if event in ("open", "os.listdir", "os.scandir", "glob.glob", "os.chdir"):
            target = args[0] if args else None
            if isinstance(target, int) or target is None:
                return
            try:
                path = os.path.realpath(os.fsdecode(target))
            except (TypeError, ValueError):
                return
            if inside(path, deny) and not inside(path, allow):
                report(f"read {path}")
                raise PermissionError(f"the grading sandbox does not let a submission read {path}")
        elif event in PROGRAM_EVENTS:
            raise PermissionError("the grading sandbox does not let a submission start other programs")

    sys.addaudithook(hook)


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

    if os.environ.get(DENY_ENV):
        install_read_guard(os.environ[DENY_ENV].split(os.pathsep), os.environ.get(ALLOW_ENV, "").split(os.pathsep))

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
