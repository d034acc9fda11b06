"""Sandboxes left by grading processes that are gone: found and ended when a run starts.

The lifeline and bwrap's ``--die-with-parent`` end a kernel's sandbox with the grading process
that started it (``launcher.py``). One step of bwrap is out of their reach: between arming its
own parent-death signal and giving the sandbox's first process the go-ahead, a bwrap killed
with its grading process leaves that process blocked for ever. It never runs anything, but it
holds its namespaces and its kernel folder. So every kernel folder records the grading process
that started it (``grader``: pid and start time, in the folder above the socket folder, which
the sandbox cannot reach), every process of a sandbox names its kernel folder on its command
line (the connection file), and a process whose grading process is gone is a leftover.
Graders that share a temporary folder must share a pid namespace (one machine or container):
a pid is looked up in this process's /proc.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

GRADER_NAME = "grader"  # in a kernel's folder: "<pid> <start time>" of the grading process
KERNEL_FOLDER = "course-lib-kernel-"  # prefix of a kernel's folder (tempfile.mkdtemp)
_CONNECTION = re.compile(r"(/\S*/" + KERNEL_FOLDER + r"[A-Za-z0-9_]+)/run/kernel\.json")


@dataclass(frozen=True)
class Leftover:
    """A live process of a sandbox whose grading process is gone."""

    pid: int
    scratch: Path   # its kernel folder
    grader: int     # the pid its grading process had


def process_start(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks after boot (field 22 of /proc/<pid>/stat),
    None if there is no such process: with the pid, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def record_grader(scratch: Path) -> None:
    """Write this process, the kernel's grading process, into the kernel folder ``scratch``."""
    (scratch / GRADER_NAME).write_text(f"{os.getpid()} {process_start(os.getpid())}\n")


def _gone_grader(scratch: Path) -> int | None:
    """The pid the grading process of kernel folder ``scratch`` had, if that process is gone;
    None while it lives, or when the folder names none."""
    try:
        pid, start = (int(word) for word in (scratch / GRADER_NAME).read_text().split())
    except (OSError, ValueError):
        return None
    return pid if process_start(pid) != start else None


def _command(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def find_leftovers(tmp: Path | None = None) -> list[Leftover]:
    """The live processes of sandboxes whose kernel folder lies in ``tmp`` (default: the
    temporary folder) and whose grading process is gone."""
    tmp = Path(tmp or tempfile.gettempdir()).resolve()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        command = _command(int(entry))
        match = _CONNECTION.search(command or "")
        if match is None:
            continue
        scratch = Path(match.group(1))
        if Path(os.path.realpath(scratch.parent)) != tmp:
            continue
        grader = _gone_grader(scratch)
        if grader is not None:
            found.append(Leftover(int(entry), scratch, grader))
    return found


def stale_folders(tmp: Path | None = None) -> list[Path]:
    """The kernel folders in ``tmp`` (default: the temporary folder) whose grading process is
    gone (what a killed grader leaves besides processes)."""
    tmp = Path(tmp or tempfile.gettempdir())
    return [scratch for scratch in sorted(tmp.glob(KERNEL_FOLDER + "*")) if _gone_grader(scratch) is not None]


def remove_leftovers(tmp: Path | None = None) -> list[Leftover]:
    """Kill every leftover process (see ``find_leftovers``), then remove every kernel folder
    whose grading process is gone; returns the leftover processes. A process is signalled
    through a pidfd opened while its command line still names the folder, so a pid reused
    meanwhile is never hit."""
    leftovers = find_leftovers(tmp)
    for leftover in leftovers:
        try:
            handle = os.pidfd_open(leftover.pid)
        except OSError:
            continue  # gone already
        try:
            if str(leftover.scratch) in (_command(leftover.pid) or ""):
                signal.pidfd_send_signal(handle, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(handle)
    for scratch in {leftover.scratch for leftover in leftovers} | set(stale_folders(tmp)):
        shutil.rmtree(scratch, ignore_errors=True)
    return leftovers
