"""The sandboxed kernel's launcher (the kernelspec's command): ``python -I -S launcher.py
<connection file>``, run as the grader's user before the sandbox exists.

It reads what ``sandbox.prepare_kernel`` wrote next to the connection file, does the
privileged steps (hands the socket folder to the sandbox uid, a private mount namespace making
the Python installation reachable when it lies under an unreachable folder such as /root, joins
the kernel's cgroups, sets the rlimits, drops to the sandbox uid) and replaces itself with
``bwrap ... python kernel_main.py``. It runs once per submission, so it imports only what it
uses (``marshal`` rather than ``json``, no dataclasses): a quarter of ``sandbox.py``'s start time.

It dies with the grading process that started it until it execs bwrap: a parent-death
signal, armed again after the uid change (which clears it), and a check that the parent is
still the one that started it (it may have died before the signal was armed). The signal is
disarmed for the exec: bwrap clones the sandbox's first process, which blocks until bwrap
gives it the go-ahead, and a bwrap killed in between left that process blocked for ever (an
orphan that no lifeline reaches). bwrap arms its own ``--die-with-parent`` just before the
go-ahead. A grading process that dies before that is caught by the kernel itself: it ends its
sandbox when the lifeline (``lifeline.py``, passed through here as an open file descriptor)
reads end-of-file, which it checks before any code of the submission can run. What is left is
bwrap's own step from arming its signal to the go-ahead (one system call): a grading process
dying exactly then leaves a blocked, empty sandbox process, which the next run ends when it
starts (``leftovers.py``).
"""
import marshal
import os
import sys

CONFIG_NAME = "sandbox.marshal"  # written by sandbox.prepare_kernel next to the connection file
CLONE_NEWNS = 0x00020000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, SIGKILL = 1, 38, 9
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18


def stage_mounts(stage: list) -> None:
    """In a private mount namespace of this (root) process, bind each unreachable folder
    read-only onto its reachable mount point: bwrap, run as the unprivileged uid, then finds it
    there. Nothing changes outside this process and its children."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def check(result: int, what: str) -> None:
        if result != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"{what}: {os.strerror(error)}")

    check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    for source, point in stage:
        check(libc.mount(source.encode(), point.encode(), None, MS_BIND | MS_REC, None), f"bind {source}")
        check(libc.mount(b"none", point.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, None), f"read-only {source}")


def die_with(parent: int, libc) -> None:
    """SIGKILL this process when ``parent`` (the grading process) dies; exit now if it is gone."""
    libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def drop_to(uid: int, libc) -> None:
    """Become ``uid`` (its own group, no supplementary groups) for good, no new privileges."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError("prctl(PR_SET_NO_NEW_PRIVS) failed")


def set_limits(limits: dict, per_uid: bool) -> None:
    """The kernel's rlimits (inherited through setpriv and bwrap by every process inside)."""
    import resource

    def cap(which: int, value: int) -> None:
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, limits["memory"])
    cap(resource.RLIMIT_CPU, limits["cpu_seconds"])
    cap(resource.RLIMIT_FSIZE, limits["file_size"])
    cap(resource.RLIMIT_NOFILE, limits["open_files"])
    cap(resource.RLIMIT_CORE, 0)
    if per_uid:  # counted per uid: only meaningful for a uid of this kernel's own
        cap(resource.RLIMIT_NPROC, limits["processes"])


def launch(connection_file: str) -> None:
    """Start the kernel of ``connection_file`` in its sandbox (replaces this process)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    run = os.path.dirname(os.path.abspath(connection_file))
    with open(os.path.join(run, CONFIG_NAME), "rb") as file:
        config = marshal.load(file)
    die_with(config["parent"], libc)
    uid = config["uid"]
    if uid is not None:
        for path in [*config["owned"], connection_file]:
            os.chown(path, uid, uid)
    if config["stage"]:
        stage_mounts(config["stage"])
    for folder in config["cgroups"]:
        try:
            with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
                procs.write(str(os.getpid()))
        except OSError:
            pass
    file_args: list = []
    for host, inside in config["files"]:
        fd = os.open(host, os.O_RDONLY)
        os.set_inheritable(fd, True)
        file_args += ["--file", str(fd), inside]
    if uid is not None:  # in the kernel's log: whose processes these are
        print(f"course_lib sandbox: uid {uid}", file=sys.stderr, flush=True)
    set_limits(config["limits"], per_uid=uid is not None)
    if uid is not None:
        drop_to(uid, libc)
        die_with(config["parent"], libc)  # the uid change cleared the signal
    # Disarmed for the exec: bwrap arms its own --die-with-parent right after it has cloned the
    # sandbox's first process, which then waits for bwrap's go-ahead; bwrap killed in between
    # (by a signal armed here) would leave that process waiting for ever. A grading process
    # that dies from here on is caught by the lifeline, before any code of the submission runs.
    libc.prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0)
    argv = [*config["bwrap"], *file_args, "--", *config["command"]]
    os.execv(argv[0], argv)


if __name__ == "__main__":
    launch(sys.argv[1])
