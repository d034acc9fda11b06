"""The grading kernel's own start: an IPython kernel whose process has capped memory and no core
dumps, finding ``course_lib`` only in the student's tree (first on ``PYTHONPATH``).

Run inside the sandbox (see ``sandbox.py``) or, with --no-sandbox, directly:
``python kernel_main.py <memory bytes> [--processes=N] [--preload=a,b] [--defer=c,d] [--lifeline=FD] -f <connection file>``. Standard library and ipykernel
only: it must not import the grader's modules.
"""
from __future__ import annotations

import os
import sys


def hide_editable_install() -> None:
    """Drop an editable install's import hooks, which would find the instructor's ``course_lib``
    (solutions included) ahead of the student tree on ``PYTHONPATH``. (In the sandbox the path
    they point at does not exist; without it this is what keeps the solutions out of reach.)"""
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
    sys.path_importer_cache.clear()


# Bytes of one message the kernel sends. The grader drops the connection of a kernel sending
# more than its own limit (execute.MESSAGE_LIMIT, larger) unread; this cut, inside the kernel,
# keeps an ordinary huge print from losing the rest of the notebook's output.
SEND_LIMIT = 4 * 1024**2


def bound_messages() -> None:
    """Cut any message this kernel sends to SEND_LIMIT bytes: a stream keeps its head and its
    tail, rich data becomes a short note."""
    from jupyter_client.session import Session

    serialize = Session.serialize

    def bounded(self, msg, ident=None):
        frames = serialize(self, msg, ident)
        if sum(len(f) for f in frames) <= SEND_LIMIT:
            return frames
        content = dict(msg.get("content") or {})
        keep = SEND_LIMIT // 4
        if isinstance(content.get("text"), str):
            text = content["text"]
            content["text"] = text[:keep] + f"\n[... {len(text) - 2 * keep} characters cut ...]\n" + text[-keep:]
        if isinstance(content.get("data"), dict):
            content["data"] = {"text/plain": "[an output too large to send was dropped]"}
            content["metadata"] = {}
        if "traceback" in content:
            content["evalue"] = str(content.get("evalue", ""))[:keep]
            content["traceback"] = []
        msg = dict(msg, content=content, buffers=[])
        return serialize(self, msg, ident)

    Session.serialize = bounded


def in_bwrap_pid_namespace() -> bool:
    """True inside the sandbox's own pid namespace, whose pid 1 is bwrap's init."""
    try:
        with open("/proc/1/comm") as comm:
            return comm.read().strip() == "bwrap"
    except OSError:
        return False


def watch_lifeline(fd: int) -> None:
    """End the sandbox once ``fd``, the read end of the grading process's lifeline, reads
    end-of-file (the grading process is gone): every other process of this pid namespace, then
    this one; bwrap's init then exits and the namespace is gone."""
    import signal
    import threading

    def watch() -> None:
        while True:
            try:
                if not os.read(fd, 1):
                    break
            except OSError:
                break
        if in_bwrap_pid_namespace():
            try:
                os.kill(-1, signal.SIGKILL)  # every process of this namespace but init and this one
            except OSError:
                pass
        os._exit(1)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def options() -> dict[str, str]:
    """Take the ``--name=value`` options between the memory argument and ``-f`` off sys.argv."""
    found = {}
    while len(sys.argv) > 1 and sys.argv[1].startswith("--") and "=" in sys.argv[1]:
        name, value = sys.argv.pop(1)[2:].split("=", 1)
        found[name] = value
    return found


def defer_imports(names: list[str]) -> None:
    """Import each of ``names`` lazily: ``import matplotlib.pyplot as plt`` binds the module at
    once and runs it at its first use (importlib's LazyLoader). A graded run skips the demo
    cells, the only ones that plot, so it never pays pyplot's import (about 0.8 s of CPU)."""
    import importlib.abc
    import importlib.machinery
    import importlib.util

    wanted = set(names)

    class DeferringFinder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname not in wanted:
                return None
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = importlib.util.LazyLoader(spec.loader)
            return spec

    sys.meta_path.insert(0, DeferringFinder())


def main() -> None:
    import resource

    memory = int(sys.argv.pop(1))
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    given = options()
    if "lifeline" in given:
        watch_lifeline(int(given["lifeline"]))
    if "processes" in given:
        # Set here, inside the sandbox's own user namespace, the count is this sandbox's alone
        # (Linux >= 5.14 counts RLIMIT_NPROC per user namespace and uid): a per-kernel process
        # limit even when the grader is an ordinary user whose own processes share its uid.
        processes = int(given["processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # sys.path[0] is this script's folder: the student must not import the grader's modules by bare name.
    sys.path.pop(0)
    hide_editable_install()
    os.environ.setdefault("MPLBACKEND", "Agg")
    defer_imports(list(filter(None, given.get("defer", "").split(","))))
    # The notebooks' own first imports, done before the kernel takes requests (no student code
    # has run yet; the notebook's `import` then finds them loaded).
    for module in filter(None, given.get("preload", "").split(",")):
        try:
            __import__(module)
        except Exception:  # noqa: BLE001 - the notebook's own import will say what is wrong
            pass
    bound_messages()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
