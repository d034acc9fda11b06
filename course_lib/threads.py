"""How many BLAS threads a training run should use: the CPUs this process may really use.

A BLAS thread pool larger than the CPUs the process gets does not run faster, it collapses:
each matrix product waits for its slowest thread, and a thread that is descheduled (by a CPU
quota, or by another process on the same core) stalls every product. The budget is therefore

    threads = min(CPUs in the affinity mask - CPUs busy with other work, ceil(cgroup CPU quota))

read from ``os.sched_getaffinity``, the cgroup's ``cpu.max`` (v2) or ``cpu.cfs_quota_us`` /
``cpu.cfs_period_us`` (v1), and the runnable-task count of ``/proc/loadavg``; the limit is
applied with threadpoolctl, only inside a ``with`` block."""
from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = "/sys/fs/cgroup"
PROC_CGROUP = "/proc/self/cgroup"
PROC_LOADAVG = "/proc/loadavg"


@dataclass(frozen=True)
class CpuBudget:
    """``cpus`` the process may use: ``min(affinity, ceil(quota))``; ``quota`` in CPUs or None."""

    cpus: int
    affinity: int
    quota: float | None
    quota_file: str | None = None

    def describe(self) -> str:
        """One line: the budget and where it comes from."""
        why = f"{self.affinity} CPU{'s' if self.affinity != 1 else ''} in the affinity mask"
        if self.quota is None:
            return f"{why}, no cgroup CPU quota"
        return f"{why}, cgroup CPU quota {self.quota:g} ({self.quota_file})"


def affinity_cpus() -> int:
    """CPUs this process may be scheduled on (``len(os.sched_getaffinity(0))``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cgroup_paths(proc_cgroup: str | os.PathLike) -> tuple[str | None, str | None]:
    """The process's cgroup path in the v2 (unified) and the v1 ``cpu`` hierarchy, from
    lines ``id:controllers:path`` of /proc/self/cgroup."""
    v2 = v1 = None
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None, None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v2, v1


def _ancestors(root: Path, path: str) -> list[Path]:
    """``root/path`` and every folder above it up to ``root`` (a quota set on a parent applies too)."""
    folders = [root]
    for part in Path(path).parts[1:]:
        folders.append(folders[-1] / part)
    return folders[::-1]


def _read_quota_v2(folder: Path) -> float | None:
    """CPUs allowed by ``cpu.max`` ("max 100000" or "<quota> <period>"), None if unlimited or absent."""
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _read_quota_v1(folder: Path) -> float | None:
    """CPUs allowed by ``cpu.cfs_quota_us / cpu.cfs_period_us``, None if -1 or absent."""
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def cgroup_cpu_quota(cgroup_root: str | os.PathLike = CGROUP_ROOT,
                     proc_cgroup: str | os.PathLike = PROC_CGROUP) -> tuple[float | None, str | None]:
    """(CPUs, file) of the tightest CPU quota on the process's cgroup or its parents, or (None, None).

    Looks at v2 ``cpu.max`` under ``cgroup_root`` (or ``cgroup_root/unified``) and v1
    ``cpu.cfs_quota_us`` under ``cgroup_root/cpu`` (or ``cpu,cpuacct``)."""
    root = Path(cgroup_root)
    v2, v1 = _cgroup_paths(proc_cgroup)
    found: list[tuple[float, str]] = []
    if v2 is not None:
        for mount in (root, root / "unified"):
            for folder in _ancestors(mount, v2):
                quota = _read_quota_v2(folder)
                if quota is not None:
                    found.append((quota, str(folder / "cpu.max")))
    if v1 is not None:
        for mount in (root / "cpu", root / "cpu,cpuacct", root / "cpuacct,cpu"):
            for folder in _ancestors(mount, v1):
                quota = _read_quota_v1(folder)
                if quota is not None:
                    found.append((quota, str(folder / "cpu.cfs_quota_us")))
    return min(found) if found else (None, None)


def cpu_budget(cgroup_root: str | os.PathLike = CGROUP_ROOT,
               proc_cgroup: str | os.PathLike = PROC_CGROUP) -> CpuBudget:
    """CPUs the process may use: ``min(len(sched_getaffinity(0)), ceil(cgroup quota))``, at least 1."""
    affinity = affinity_cpus()
    quota, quota_file = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    cpus = affinity if quota is None else min(affinity, max(1, math.ceil(quota - 1e-9)))
    return CpuBudget(cpus=max(1, cpus), affinity=affinity, quota=quota, quota_file=quota_file)


def busy_cpus(loadavg: str | os.PathLike = PROC_LOADAVG, samples: int = 5, interval: float = 0.004) -> int:
    """CPUs kept busy by other runnable tasks right now: the median over ``samples`` readings of
    the runnable count in /proc/loadavg (its 4th field, ``running/total``) less this process's one."""
    counts = []
    for sample in range(samples):
        try:
            running = int(Path(loadavg).read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(running - 1)
        if sample + 1 < samples:
            time.sleep(interval)
    return max(0, int(statistics.median_low(counts)))


@dataclass(frozen=True)
class ThreadChoice:
    """The BLAS threads chosen (``threads``) and why (``reason``)."""

    threads: int
    reason: str


def training_threads(cgroup_root: str | os.PathLike = CGROUP_ROOT,
                     proc_cgroup: str | os.PathLike = PROC_CGROUP,
                     loadavg: str | os.PathLike = PROC_LOADAVG) -> ThreadChoice:
    """BLAS threads for a training run: ``min(affinity - busy, ceil(quota))``, at least 1."""
    budget = cpu_budget(cgroup_root, proc_cgroup)
    busy = busy_cpus(loadavg)
    threads = max(1, min(budget.cpus, budget.affinity - busy))
    reason = budget.describe()
    if busy:
        reason += f", {busy} busy with other processes"
    return ThreadChoice(threads, reason)


def resolve_threads(threads: int | str | None) -> ThreadChoice | None:
    """``"auto"`` -> ``training_threads()``; an int -> that many; None -> None (leave BLAS alone)."""
    if threads is None:
        return None
    if threads == "auto":
        return training_threads()
    if isinstance(threads, int) and threads >= 1:
        return ThreadChoice(threads, "asked for")
    raise ValueError(f"threads must be 'auto', a positive int or None, got {threads!r}")


@contextlib.contextmanager
def blas_threads(threads: int | str | None = "auto"):
    """``with blas_threads(n):`` runs the block with at most ``n`` BLAS threads (never more than the
    pool already has), then restores the previous limits; yields the ThreadChoice (or None)."""
    if threads is None:
        yield None
        return
    from threadpoolctl import threadpool_info, threadpool_limits

    current = max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=None)
    if threads == "auto" and current == 1:
        # One BLAS thread is all there is (OPENBLAS_NUM_THREADS=1, as in a grading kernel):
        # nothing to size, so no sampling of the machine's load either (16 ms a call).
        yield ThreadChoice(1, "the BLAS pool has only 1 thread")
        return
    choice = resolve_threads(threads)
    current = choice.threads if current is None else current
    if choice.threads > current:
        choice = ThreadChoice(current, f"{choice.reason}; the BLAS pool already has only {current}")
    with threadpool_limits(limits=choice.threads, user_api="blas"):
        yield choice
