"""Grading fanned out on a Dask cluster: one task per submission, no shared filesystem.

``autograde ... --cluster tcp://HOST:PORT`` sends the submissions to a running Dask
``distributed`` scheduler (started by hand, by ``dask-jobqueue`` on SLURM/PBS or by
``dask-kubernetes``); ``--cluster local:N`` starts a ``LocalCluster`` of N worker processes.

- Every task carries its submission as bytes and a reference to the run's **bundle** (the
  release folder, the source notebook, the judge, the student ``course_lib`` tree and the data,
  as one tar), which is sent to each worker once and cached there under its content hash.
- A worker grades with the same pipeline and the same sandbox as local grading, into a private
  folder, and sends back the files of the result (result record, feedback page, graded
  notebook, log). Only the client writes results, feedback and the gradebook.
- A worker that dies mid-task: Dask runs its tasks again on another worker; the client writes
  each student's files once it has them, so nothing is lost or written twice.

Workers need this package installed at the same version as the client (the bundle carries a
hash of the grader's code; a worker with other code refuses the task and says so).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from course_lib.grading.records import Result, Task

CACHE = "course-lib-cluster"  # under the worker's temp folder: one folder per bundle hash
SAME_AS_GRADED = b"\0same as autograded/"  # a file the worker sent once already: the graded notebook


class ClusterError(RuntimeError):
    """The cluster could not be reached or a worker could not take the run's tasks."""


@dataclass(frozen=True)
class Bundle:
    """What every task of one run needs besides its submission, as one tar."""

    digest: str  # sha256 of the tar
    code: str  # hash of the grader's own code that decides a result
    archive: bytes


def _add(tar: tarfile.TarFile, path: Path, name: str) -> None:
    """Add ``path`` as ``name``, with fixed owners and times (the same files, the same tar)."""
    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if "__pycache__" in info.name or info.name.endswith(".pyc"):
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    tar.add(str(path), arcname=name, filter=clean)


def make_bundle(task: Task, code: str) -> Bundle:
    """The bundle of the run ``task`` belongs to (its release, source, judge, tree and data)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add(tar, Path(task.release).parent, "release")
        _add(tar, Path(task.source), "source.ipynb")
        _add(tar, Path(task.judge), "judge.py")
        _add(tar, Path(task.tree) / "course_lib", "tree/course_lib")
        _add(tar, Path(task.data), "data")
    archive = buffer.getvalue()
    return Bundle(hashlib.sha256(archive).hexdigest(), code, archive)


def _unpacked(bundle: Bundle, memory: int) -> tuple[Path, bool]:
    """The worker's copy of ``bundle``: unpacked once per worker machine (the workers of one
    machine take turns under a file lock, so the second waits for the first's copy rather than
    unpacking its own), then reused by every task; True when this call unpacked it. Unpacking
    is a run's start on that machine: it first ends the sandboxes of grading processes that are
    gone (``leftovers.py``), as a local run does."""
    import compileall
    import fcntl

    from course_lib.grading.leftovers import remove_leftovers
    from course_lib.grading.sandbox import write_kernelspec

    folder = Path(tempfile.gettempdir()) / CACHE / bundle.digest
    if (folder / "ready").is_file():
        return folder, False
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{bundle.digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "ready").is_file():
            return folder, False
        remove_leftovers()
        staging = Path(tempfile.mkdtemp(prefix=f"{bundle.digest[:12]}-", dir=folder.parent))
        with tarfile.open(fileobj=io.BytesIO(bundle.archive)) as tar:
            tar.extractall(staging, filter="data")
        compileall.compile_dir(str(staging / "tree"), quiet=1)  # the sandbox mounts the tree read-only
        write_kernelspec(staging / "kernels", memory)  # with matplotlib's font list, built once here
        (staging / "ready").write_text(bundle.digest)
        shutil.rmtree(folder, ignore_errors=True)  # a copy cut short by a killed worker (no "ready")
        staging.rename(folder)
    return folder, True


def grade_task(bundle: Bundle, task: Task, submission: bytes, timestamp: bytes | None) -> tuple[dict[str, bytes], dict[str, float]]:
    """Run on a worker: grade one submission from bytes; returns the files the client writes
    (paths relative to the run's output folder; ``nbgrader/...`` for the formgrader's copy,
    whose graded notebook is the run's own and is not sent twice) and the task's timings on
    the worker in seconds (``unpack``: the bundle, when this task unpacked it, else 0; ``grade``: the
    pipeline; ``total``: the whole task)."""
    from course_lib.grading.autograde import _pipeline_code, _safe_grade
    from course_lib.grading.course import use_tool_env

    start = time.perf_counter()
    mine = hashlib.sha256(_pipeline_code()).hexdigest()
    if mine != bundle.code:
        raise ClusterError(f"worker {os.uname().nodename} runs other grading code than the client "
                           f"({mine[:12]} vs {bundle.code[:12]}): install the same course_lib version on every worker")
    use_tool_env()
    unpack = time.perf_counter()
    folder, unpacked = _unpacked(bundle, task.memory)
    timings = {"unpack": time.perf_counter() - unpack if unpacked else 0.0}
    with tempfile.TemporaryDirectory(prefix=f"task-{task.student}-") as scratch:
        scratch = Path(scratch)
        path = scratch / "submitted" / task.student / Path(task.path).name
        path.parent.mkdir(parents=True)
        path.write_bytes(submission)
        if timestamp is not None:
            (path.parent / "timestamp.txt").write_bytes(timestamp)
        out = scratch / "out"
        local = replace(task, path=str(path), source=str(folder / "source.ipynb"),
                        release=str(folder / "release" / Path(task.release).name), judge=str(folder / "judge.py"),
                        out=str(out), tree=str(folder / "tree"), kernels=str(folder / "kernels"), data=str(folder / "data"),
                        nbgrader_autograded=str(scratch / "nbgrader") if task.nbgrader_autograded else None,
                        ports=None)
        grade = time.perf_counter()
        _safe_grade(local)
        timings["grade"] = time.perf_counter() - grade
        files = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        graded = files.get(f"autograded/{task.student}/{task.assignment}.ipynb")
        for p in (scratch / "nbgrader").rglob("*"):
            if p.is_file():
                data = p.read_bytes()
                files["nbgrader/" + str(p.relative_to(scratch / "nbgrader"))] = SAME_AS_GRADED if data == graded else data
    timings["total"] = time.perf_counter() - start
    return files, timings


def write_files(task: Task, files: dict[str, bytes]) -> Result:
    """Write a task's returned files where local grading would have; returns its result."""
    from course_lib.grading.record import atomic_write

    out = Path(task.out).resolve()
    result_name = f"results/{task.student}.json"
    if result_name not in files:
        raise ClusterError(f"the worker sent no result for {task.student}")
    for name, data in sorted(files.items(), key=lambda item: item[0] == result_name):  # the result last
        if name.startswith("nbgrader/"):
            if not task.nbgrader_autograded:
                continue
            base = Path(task.nbgrader_autograded).resolve()
            target = (base / name.removeprefix("nbgrader/")).resolve()
        else:
            base, target = out, (out / name).resolve()
        if base not in target.parents:
            raise ClusterError(f"the worker sent a file outside the output folder: {name!r}")
        if data == SAME_AS_GRADED:
            data = files[f"autograded/{task.student}/{task.assignment}.ipynb"]
        atomic_write(target, data)
    return Result.from_dict(json.loads(files[result_name]))


def open_client(address: str, timeout: str = "30s"):
    """A Dask client of ``address`` (``tcp://host:port``, or ``local:N`` for a LocalCluster of
    N worker processes started here and stopped with the client)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("--cluster needs dask.distributed: pip install -e '.[cluster]'") from None
    if address.startswith("local:"):
        try:
            workers = int(address.removeprefix("local:"))
        except ValueError:
            raise ClusterError(f"--cluster {address!r}: local:N needs a number of workers") from None
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"could not reach the Dask scheduler at {address}: {error}") from None


@dataclass
class ClusterTimings:
    """Where a cluster run's time went, in seconds (``benchmarks/autograde_scale.py`` prints
    it per task): sums over the tasks, measured on the workers and in the client."""

    tasks: int = 0
    slots: int = 0  # the workers' threads: tasks graded at once
    start: float = 0.0  # connecting to the scheduler (with local:N, starting the LocalCluster)
    bundle: float = 0.0  # making the bundle and sending it to every worker
    wall: float = 0.0  # from the first task sent to the last result written
    grade: float = 0.0  # the pipeline on the worker (the kernel, the judge, the files)
    worker: float = 0.0  # the whole task on the worker: grade + code check, unpack, staging, collecting
    unpack: float = 0.0  # unpacking the bundle (the first task of each machine)
    write: float = 0.0  # the client writing each result's files and gradebook row as it arrives

    def per_task(self) -> dict[str, float]:
        """Seconds per task beyond grading, by cause; ``beyond grading`` is their sum."""
        n = max(1, self.tasks)
        parts = {"start and bundle": (self.start + self.bundle) / n,
                 "on the worker": (self.worker - self.grade) / n,
                 "scheduling and transfer": max(0.0, self.wall * self.slots - self.worker) / max(1, self.slots) / n}
        return parts | {"beyond grading": sum(parts.values()), "client write (overlapped)": self.write / n}


def grade_on_cluster(address: str, tasks: list[Task], code: str, on_result) -> ClusterTimings:
    """Grade ``tasks`` on the cluster at ``address``; ``on_result(task, result)`` is called in
    this process for each as it arrives, after its files are written (so results are written
    while the others grade). Each task carries its submission's bytes and a reference to the
    bundle, which every worker received once."""
    from distributed import as_completed

    timings = ClusterTimings(tasks=len(tasks))
    if not tasks:
        return timings
    began = time.perf_counter()
    with open_client(address) as client:
        timings.start = time.perf_counter() - began
        began = time.perf_counter()
        bundle = make_bundle(tasks[0], code)
        shared = client.scatter(bundle, broadcast=True)
        timings.bundle = time.perf_counter() - began
        timings.slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()) or 1
        began = time.perf_counter()
        futures = {}
        for task in tasks:
            stamp = Path(task.path).parent / "timestamp.txt"
            future = client.submit(grade_task, shared, task, Path(task.path).read_bytes(),
                                   stamp.read_bytes() if stamp.is_file() else None,
                                   key=f"grade-{task.student}-{task.key[:16]}", retries=1, pure=False)
            futures[future] = task
        for future in as_completed(futures):
            task = futures.pop(future)
            try:
                files, spent = future.result()
            except Exception as error:  # noqa: BLE001 - a task that failed on every worker it ran on
                from course_lib.grading.pipeline import zero_result
                from course_lib.grading.records import Status

                result = zero_result(task, Status.ERROR, f"grading on the cluster failed: {type(error).__name__}: {str(error)[:200]}")
                files, spent = {f"results/{task.student}.json": json.dumps(result.to_dict(), indent=1).encode()}, {}
            future.release()  # the worker may drop the files now
            for name in ("grade", "unpack"):
                setattr(timings, name, getattr(timings, name) + spent.get(name, 0.0))
            timings.worker += spent.get("total", 0.0)
            writing = time.perf_counter()
            result = write_files(task, files)
            on_result(task, result)
            timings.write += time.perf_counter() - writing
        timings.wall = time.perf_counter() - began
    return timings
