"""The next submission's kernel, started while the current one runs.

A sandboxed kernel takes about a second to start (bwrap, Python, ipykernel) and to import numpy
(``sandbox.PRELOAD``), time in which its grading process mostly waits. So while a grading
process runs one submission, the sandbox of its next one starts: a fresh bwrap sandbox, its own
uid slot and socket folder, the release's files and nothing of any student's. The next
submission of the same run, in the same process, takes it if it was started for the same sandbox
and files and is alive; otherwise it is closed and a kernel is started as usual. Each kernel
still runs exactly one submission.

One spare per grading process (a pool worker, or the grader itself): it is the process's own
state, closed when the process exits (and bwrap's ``--die-with-parent`` and the lifeline end
it if the process is killed).
"""
from __future__ import annotations

import atexit
from pathlib import Path

from course_lib.grading.execute import Sandbox, StartedKernel, start_sandboxed_kernel


class SpareKernel:
    """At most one kernel started ahead in this process."""

    def __init__(self) -> None:
        self.kernel: StartedKernel | None = None
        atexit.register(self.close)

    def take(self) -> StartedKernel | None:
        """The kernel started ahead (the caller runs or closes it), if any."""
        kernel, self.kernel = self.kernel, None
        return kernel

    def start(self, kernel_dir: Path, sandbox: Sandbox, files: list[Path], slot: int) -> None:
        """Start the next submission's kernel in uid ``slot`` (not the running kernel's)."""
        self.close()
        try:
            self.kernel = start_sandboxed_kernel(kernel_dir, sandbox, files, slot=slot)
        except Exception:  # noqa: BLE001 - the next submission starts its own kernel and reports why
            self.kernel = None

    def close(self) -> None:
        kernel, self.kernel = self.kernel, None
        if kernel is not None:
            kernel.close()


_SPARE: SpareKernel | None = None


def spare_kernel() -> SpareKernel:
    """This process's spare (made on first use)."""
    global _SPARE
    if _SPARE is None:
        _SPARE = SpareKernel()
    return _SPARE
