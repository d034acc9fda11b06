"""The lifeline: a pipe from a grading process to every sandboxed kernel it starts.

Only the grading process holds the pipe's write end (never inherited: it is close-on-exec,
and a forked child closes its copy). Each kernel gets the read end and ends its whole sandbox
when it reads end-of-file, which happens exactly when the grading process is gone, however it
died. This backs up the parent-death signals of the launcher and of bwrap's
``--die-with-parent``, which leave a window while bwrap sets up its sandbox: a grading process
killed then would leave a kernel running as a child of init. The kernel's side is
``kernel_main.watch_lifeline``.
"""
from __future__ import annotations

import os

_ends: dict[int, tuple[int, int]] = {}  # this process's pipe, by pid (a forked child makes its own)
_hooked: list[bool] = []                # the fork hook is registered (it is inherited)


def _forget_in_child() -> None:
    for read, write in _ends.values():
        for fd in (read, write):
            try:
                os.close(fd)
            except OSError:
                pass
    _ends.clear()


def lifeline_fd() -> int:
    """This process's lifeline read end, to pass to a kernel (``pass_fds``); the write end
    stays open, unused, until the process ends."""
    pid = os.getpid()
    if pid not in _ends:
        if not _hooked:
            os.register_at_fork(after_in_child=_forget_in_child)
            _hooked.append(True)
        _ends[pid] = os.pipe()
    return _ends[pid][0]
