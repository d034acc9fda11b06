"""The grading sandbox: each submission's kernel runs in its own bubblewrap (``bwrap``) sandbox.

What the kernel sees (and nothing else of the machine's files):

* the system read-only (``/usr``, ``/etc`` and the ``/bin``, ``/lib*`` links), the Python
  installation and the grader's venv read-only at their real paths;
* the student's ``course_lib`` (no solutions) at ``/grading/tree`` and the data at
  ``/grading/data``, both read-only;
* a private, size-capped working folder ``/grading/work`` (a tmpfs holding copies of the
  released notebook's extra files), a private size-capped ``/tmp``;
* its socket folder (connection file and the ZMQ ``ipc`` sockets), the only host folder it may
  write to.

The repository, the source notebooks, ``build/`` (gradebook, results, feedback, other
submissions), the submissions folder and the user's home are not mounted at all. Namespaces:
user, mount, pid, net (no network), ipc, uts, cgroup; ``--die-with-parent`` and a new session;
the kernel ends its sandbox when its grading process is gone (``lifeline.py``).
When the grader runs as root the sandbox runs as an unprivileged uid (one per grading process,
so per-uid limits never couple two kernels), never as root. Limits: address space, CPU
seconds, processes, file size, open files (rlimits), the working folder's and /tmp's size
(tmpfs), and where the machine offers cgroup v1 controllers a memory, pids and cpu cgroup per
kernel whose leftover processes are killed when the kernel ends.

The grader builds each kernel's command line and limits here (``prepare_kernel``) and writes
them next to the connection file; the kernelspec's launcher (``launcher.py``, a few standard
modules only, so that it starts fast) then does the privileged steps, drops to the sandbox uid
and replaces itself with ``bwrap ... python kernel_main.py``. This module imports only the standard library.
"""
from __future__ import annotations

import json
import marshal
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from course_lib.grading.launcher import CONFIG_NAME  # next to the connection file, read by the launcher
from course_lib.grading.leftovers import record_grader
from course_lib.grading.lifeline import lifeline_fd
from course_lib.mnist_cache import CACHE_ENV_VAR, user_cache_folder

KERNEL_NAME = "course-lib-sandbox"        # the kernel in its bwrap sandbox
PLAIN_KERNEL_NAME = "course-lib-plain"    # --no-sandbox: the same kernel as the grader's user
DEFAULT_MEMORY = 3 * 1024**3
STUDENT_EXCLUDE = ("solutions", "judges", "__pycache__")
FONT_CACHE = "matplotlib-cache"           # in the kernelspec folder: matplotlib's font list, built once

# Fixed paths inside the sandbox.
TREE = "/grading/tree"
DATA = "/grading/data"
WORK = "/grading/work"
KERNEL_MAIN = "/grading/kernel_main.py"
MNIST_CACHE = "/grading/mnist-cache"
SANDBOX_UID = 65534                       # the uid/gid the kernel sees inside (nobody)
# Outside uids when the grader is root: UID_BASE + 2 x the grading process's pid + the kernel's
# slot (0 or 1: a grading process runs one submission's kernel while its next one starts), unique
# among the kernels alive at once.
UID_BASE = 0x60000000
# Modules every course notebook imports first, loaded by the kernel before it takes requests
# (a kernel started ahead of its submission has them ready; see grading/spare.py).
PRELOAD = ("numpy",)
# Modules a kernel imports lazily (run at their first use): only demo cells plot, and a graded
# run skips them (see kernel_main.defer_imports).
DEFER = ("matplotlib.pyplot",)

USERNS_HINT = ("allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and "
               "user.max_user_namespaces > 0; on Ubuntu 24.04 and later also "
               "kernel.apparmor_restrict_unprivileged_userns=0), or grade without isolation with --no-sandbox")
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`) and " + USERNS_HINT


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot build the sandbox on this machine; the message says what is missing."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-submission limits (bytes, seconds, counts)."""

    memory: int = DEFAULT_MEMORY          # address space per process; the memory cgroup's cap
    cpu_seconds: int = 600                # CPU time per process
    processes: int = 128                  # processes and threads (ipykernel alone runs ~10 threads)
    file_size: int = 64 * 1024**2         # largest file any process may write
    work_size: int = 256 * 1024**2        # the working folder (tmpfs)
    tmp_size: int = 64 * 1024**2          # /tmp (tmpfs)
    open_files: int = 256


@dataclass(frozen=True)
class SandboxMounts:
    """The host folders the sandbox shows read-only: the student tree (holding ``course_lib``),
    the data folder and, when there is one, the decoded MNIST cache (``mnist_cache.py``)."""

    tree: str
    data: str
    mnist_cache: str | None = None


def copy_student_package(package: Path, destination: Path) -> Path:
    """Copy the ``course_lib`` package to ``destination/course_lib`` without the reference
    solutions (and without caches); returns the copy."""
    target = destination / "course_lib"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(package, target, ignore=shutil.ignore_patterns(*STUDENT_EXCLUDE, "*.pyc"))
    return target


def kernel_main_path() -> Path:
    return Path(__file__).resolve().with_name("kernel_main.py")


def launcher_path() -> Path:
    return Path(__file__).resolve().with_name("launcher.py")


def write_kernelspec(folder: Path, memory_bytes: int = DEFAULT_MEMORY) -> Path:
    """Write the two grading kernelspecs into ``folder``: ``KERNEL_NAME`` (the kernel in its
    sandbox, started by this module's launcher) and ``PLAIN_KERNEL_NAME`` (no isolation, for
    --no-sandbox), and matplotlib's font list in ``folder/FONT_CACHE``; returns ``folder``."""
    specs = {
        KERNEL_NAME: {
            "argv": [sys.executable, "-I", "-S", str(launcher_path()), "{connection_file}"],
            "display_name": "course_lib autograde sandbox",
            "language": "python",
            # bwrap does not forward signals: interrupts travel as control messages.
            "interrupt_mode": "message",
        },
        PLAIN_KERNEL_NAME: {
            "argv": [sys.executable, str(kernel_main_path()), str(int(memory_bytes)), f"--defer={','.join(DEFER)}",
                     "-f", "{connection_file}"],
            "display_name": "course_lib autograde kernel (no sandbox)",
            "language": "python",
        },
    }
    for name, spec in specs.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "kernel.json").write_text(json.dumps(spec, indent=1))
    target = folder / FONT_CACHE
    if not font_cache_files(target):
        shared = shared_font_cache()
        if shared:
            target.mkdir(parents=True, exist_ok=True)
            for file in shared:
                shutil.copyfile(file, target / file.name)
        else:
            build_font_cache(target)
    return folder


# Where matplotlib looks for the system's fonts on Linux (font_manager.X11FontDirectories).
FONT_DIRS = ("/usr/X11R6/lib/X11/fonts/TTF", "/usr/X11/lib/X11/fonts", "/usr/share/fonts", "/usr/local/share/fonts",
             "/usr/lib/openoffice/share/fonts/truetype")


def font_cache_key() -> str | None:
    """What a font list is built from: this Python, matplotlib's version and the system's font
    files (None without matplotlib)."""
    import hashlib
    from importlib import metadata

    try:
        version = metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        return None
    fonts = sorted(os.path.join(path, name) for root in FONT_DIRS for path, _, names in os.walk(root) for name in names)
    return hashlib.sha256(json.dumps([os.path.realpath(sys.executable), version, fonts]).encode()).hexdigest()[:20]


def shared_font_cache() -> list[Path]:
    """The font list of ``build_font_cache``, built once per key in the user's cache folder
    (``$XDG_CACHE_HOME/course_lib``) and shared by every run: building it took 1.5 s of each
    run. Empty when it cannot be built or stored there."""
    key = font_cache_key()
    if key is None:
        return []
    home = user_cache_folder()
    final = home / f"fontlist-{key}"
    built = font_cache_files(final)
    if built:
        return built
    import tempfile

    try:
        home.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix="building-", dir=home))
    except OSError:
        return []
    try:
        if build_font_cache(building):
            building.rename(final)  # whole, or not at all; a concurrent run may have won
    except OSError:
        pass
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return font_cache_files(final)


def build_font_cache(folder: Path) -> list[Path]:
    """Build matplotlib's font list once in ``folder`` as a kernel would (the same Python and
    fonts, an empty home), so that no kernel rebuilds it in its fresh /tmp (0.3 to 1 s each);
    returns the cache files (none when matplotlib is missing or the build fails)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(folder), "MPLCONFIGDIR": str(folder), "MPLBACKEND": "Agg"}
    try:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, cwd=folder,
                       capture_output=True, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    return font_cache_files(folder)


def font_cache_files(folder: Path) -> list[Path]:
    """The font list files ``build_font_cache`` left in ``folder``."""
    return sorted(Path(folder).glob("fontlist-*.json"))


def kernel_env(tree: str, data: str, work: str, mnist_cache: str | None = None) -> dict[str, str]:
    """The kernel's whole environment (nothing of the grader's is inherited)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "IPYTHONDIR": "/tmp/ipython",
        "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONPATH": tree, "COURSE_LIB_DATA": data, "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0", "LANG": "C.UTF-8", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    if mnist_cache:
        env[CACHE_ENV_VAR] = mnist_cache
    return env


# ---------------------------------------------------------------------------------------------
# Availability


def sandbox_uid(slot: int = 0) -> int:
    """The outside uid of this grading process's kernel in ``slot`` (0 or 1)."""
    return UID_BASE + 2 * os.getpid() + slot


def _uid_drop() -> list[str]:
    """``setpriv`` to an unprivileged uid when the grader is root, nothing otherwise (the
    availability check's drop; a kernel's launcher drops to its uid itself)."""
    if os.geteuid() != 0:
        return []
    uid = sandbox_uid()
    return [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs"]


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


NAMESPACES = ["--unshare-all", "--die-with-parent", "--new-session", "--hostname", "grading",
              "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]


@lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why the sandbox cannot run here (None when it can): runs a trivial sandboxed program."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux (bubblewrap and user namespaces); this is {sys.platform}: {INSTALL_HINT}"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return f"bubblewrap (`bwrap`) is not installed: {INSTALL_HINT}"
    drop = _uid_drop()
    if drop and shutil.which("setpriv") is None:
        return "the grader runs as root and `setpriv` (util-linux) is missing: the sandbox must drop to an unprivileged uid"
    true = shutil.which("true", path="/usr/bin:/bin") or "/usr/bin/true"
    command = [*drop, bwrap, *NAMESPACES, *_system_binds(), "--proc", "/proc", "--dev", "/dev", "--", true]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not be run ({error}): {INSTALL_HINT}"
    if done.returncode != 0:
        why = done.stderr.strip()[:300]
        if "namespace" in why.lower():
            return f"bubblewrap is installed but this user cannot make user namespaces here ({why}): {USERNS_HINT}"
        return f"bubblewrap cannot build the sandbox here ({why}): {INSTALL_HINT}"
    return None


def require_sandbox() -> None:
    """Raise SandboxUnavailable with what is missing and how to install it."""
    problem = sandbox_problem()
    if problem:
        raise SandboxUnavailable(problem)


# ---------------------------------------------------------------------------------------------
# cgroups (v1 hierarchies, as root): one memory, pids and cpu group per kernel


CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's cgroup path (v1 hierarchies only)."""
    paths = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                if controller in ("memory", "pids", "cpu"):
                    paths[controller] = path
    except (OSError, ValueError):
        pass
    return paths


def create_cgroups(name: str, limits: SandboxLimits) -> list[str]:
    """Create ``name`` under this process's memory, pids and cpu cgroups with the limits;
    returns the folders made (none when the machine offers no writable v1 controller)."""
    if os.geteuid() != 0:
        return []
    settings = {
        "memory": {"memory.limit_in_bytes": limits.memory, "memory.memsw.limit_in_bytes": None},
        "pids": {"pids.max": limits.processes},
        "cpu": {"cpu.cfs_period_us": 100_000, "cpu.cfs_quota_us": 100_000},  # one core
    }
    made = []
    for controller, path in _own_cgroups().items():
        folder = CGROUP_ROOT / controller / path.lstrip("/") / name
        try:
            folder.mkdir()
        except OSError:
            continue
        made.append(str(folder))
        for key, value in settings[controller].items():
            try:
                (folder / key).write_text(str(value if value is not None else limits.memory))
            except OSError:
                pass
    return made


def remove_cgroups(folders: list[str]) -> int:
    """Kill whatever is left in the kernel's cgroups and remove them; returns how many
    processes had to be killed."""
    import signal
    import time

    killed = 0
    for folder in folders:
        # The kernel's own processes are still exiting right after its shutdown: give them a
        # moment (up to 0.2 s), so that only what really outlived the kernel is killed and counted.
        for _ in range(10):
            try:
                if not Path(folder, "cgroup.procs").read_text().split():
                    break
            except OSError:
                break
            time.sleep(0.02)
        for attempt in range(250):  # up to 5 s: a loaded machine reaps slowly
            try:
                pids = [int(p) for p in Path(folder, "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
            try:
                os.rmdir(folder)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)
    return killed


# ---------------------------------------------------------------------------------------------
# The sandbox of one kernel


def _reachable(path: str) -> bool:
    """Whether ``path`` (a folder) and every folder above it let other users through (o+x)."""
    parts = [Path(path).resolve(), *Path(path).resolve().parents]
    try:
        return all(os.stat(p).st_mode & stat.S_IXOTH for p in parts)
    except OSError:
        return False


@dataclass
class SandboxConfig:
    """Everything the launcher needs, written with ``marshal`` (read by the same Python, which
    then needs no json module) next to the connection file."""

    bwrap: list[str]                      # bwrap's path and options (no command), paths already resolved
    command: list[str]                    # the kernel's command line inside the sandbox
    files: list[list[str]] = field(default_factory=list)     # [host file, sandbox path] copied into the tmpfs
    stage: list[list[str]] = field(default_factory=list)     # [unreachable host folder, reachable mount point]
    owned: list[str] = field(default_factory=list)           # host paths handed to the sandbox uid
    cgroups: list[str] = field(default_factory=list)
    limits: dict = field(default_factory=dict)
    parent: int = 0                                          # the grading process that starts the kernel
    lifeline: int = -1                                       # its lifeline's read end (see lifeline.py)
    uid: int | None = None


def prepare_kernel(run: Path, mounts: SandboxMounts, files: list[Path], limits: SandboxLimits,
                   font_cache: list[Path] = (), slot: int = 0) -> SandboxConfig:
    """Write the launcher's configuration for one kernel into ``run`` (the socket folder, which
    will hold the connection file and the ipc sockets) and create its cgroups. ``files`` are
    copied into the working folder, ``font_cache`` (see ``build_font_cache``) into the
    kernel's matplotlib folder in its private /tmp. ``slot`` (0 or 1) tells apart the uids of
    two kernels of one grading process alive at once."""
    uid = sandbox_uid(slot) if os.geteuid() == 0 else None  # the launcher drops to it
    run.mkdir(parents=True, exist_ok=True)
    stage_root = run.parent / "stage"
    stage: list[list[str]] = []

    def source(path: str) -> str:
        """``path`` itself, or a mount point of it the unprivileged uid can reach."""
        if uid is None or _reachable(path):
            return path
        point = stage_root / str(len(stage))
        point.mkdir(parents=True, exist_ok=True)
        stage.append([path, str(point)])
        return str(point)

    if uid is not None:  # the folders above the socket folder must let the sandbox uid through
        os.chmod(run.parent, 0o711)
    args = [shutil.which("bwrap") or "bwrap", *NAMESPACES, "--clearenv"]
    for key, value in kernel_env(TREE, DATA, WORK, MNIST_CACHE if mounts.mnist_cache else None).items():
        args += ["--setenv", key, value]
    args += _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.tmp_size), "--tmpfs", "/tmp"]
    prefixes = []
    for prefix in (sys.base_prefix, sys.prefix):
        prefix = os.path.realpath(prefix)
        if prefix not in prefixes and not any(prefix.startswith(p + os.sep) for p in prefixes) and not prefix.startswith("/usr/"):
            prefixes.append(prefix)
    for prefix in prefixes:
        args += ["--ro-bind", source(prefix), prefix]
    args += ["--ro-bind", source(os.path.realpath(mounts.tree)), TREE,
             "--ro-bind", source(os.path.realpath(mounts.data)), DATA]
    if mounts.mnist_cache:
        args += ["--ro-bind", source(os.path.realpath(mounts.mnist_cache)), MNIST_CACHE]
    main = kernel_main_path()
    args += ["--ro-bind", source(str(main.parent)) + "/" + main.name, KERNEL_MAIN]
    # The sandbox's own root (a tmpfs holding the mount points) read-only: only the working
    # folder, /tmp and the socket folder take writes, each bounded.
    args += ["--size", str(limits.work_size), "--tmpfs", WORK, "--bind", str(run), str(run),
             "--remount-ro", "/", "--chdir", WORK]
    connection = str(run / "kernel.json")
    lifeline = lifeline_fd()
    config = SandboxConfig(
        bwrap=args, command=[sys.executable, KERNEL_MAIN, str(int(limits.memory)), f"--processes={limits.processes}",
                             f"--preload={','.join(PRELOAD)}", f"--defer={','.join(DEFER)}", f"--lifeline={lifeline}",
                             "-f", connection],
        files=[[str(f), f"{WORK}/{f.name}"] for f in files]
        + [[str(f), f"{kernel_env(TREE, DATA, WORK)['MPLCONFIGDIR']}/{f.name}"] for f in font_cache], stage=stage, owned=[str(run)],
        limits=asdict(limits), parent=os.getpid(), lifeline=lifeline, uid=uid)
    if uid is not None:
        config.cgroups = create_cgroups(f"course-lib-{uid}", limits)
    (run / CONFIG_NAME).write_bytes(marshal.dumps(asdict(config)))
    record_grader(run.parent)  # out of the sandbox's reach: who a leftover's grader was (leftovers.py)
    return config
