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
from dataclasses import dataclass, replace
from pathlib import Path

from course_lib.grading.records import Result, Task

CACHE = "course-lib-cluster"  # under the worker's temp folder: one folder per bundle hash


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


def _unpacked(bundle: Bundle, memory: int) -> Path:
    """The worker's copy of ``bundle``: unpacked once per worker machine, then reused."""
    import compileall

    from course_lib.grading.sandbox import write_kernelspec

    folder = Path(tempfile.gettempdir()) / CACHE / bundle.digest
    if (folder / "ready").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{bundle.digest[:12]}-", dir=folder.parent))
    with tarfile.open(fileobj=io.BytesIO(bundle.archive)) as tar:
        tar.extractall(staging, filter="data")
    compileall.compile_dir(str(staging / "tree"), quiet=1)  # the sandbox mounts the tree read-only
    write_kernelspec(staging / "kernels", memory)
    (staging / "ready").write_text(bundle.digest)
    try:
        staging.rename(folder)
    except OSError:  # another task on this machine unpacked it first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def grade_task(bundle: Bundle, task: Task, submission: bytes, timestamp: bytes | None) -> dict[str, bytes]:
    """Run on a worker: grade one submission from bytes; returns the files the client writes
    (paths relative to the run's output folder, and ``nbgrader/...`` for the formgrader's copy)."""
    from course_lib.grading.autograde import _pipeline_code, _safe_grade
    from course_lib.grading.course import use_tool_env

    mine = hashlib.sha256(_pipeline_code()).hexdigest()
    if mine != bundle.code:
        raise ClusterError(f"worker {os.uname().nodename} runs other grading code than the client "
                           f"({mine[:12]} vs {bundle.code[:12]}): install the same course_lib version on every worker")
    use_tool_env()
    folder = _unpacked(bundle, task.memory)
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
        _safe_grade(local)
        files = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        files |= {"nbgrader/" + str(p.relative_to(scratch / "nbgrader")): p.read_bytes()
                  for p in (scratch / "nbgrader").rglob("*") if p.is_file()}
        return files


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


def grade_on_cluster(address: str, tasks: list[Task], code: str, on_result) -> None:
    """Grade ``tasks`` on the cluster at ``address``; ``on_result(task, result)`` is called in
    this process for each as it arrives, after its files are written."""
    from distributed import as_completed

    if not tasks:
        return
    bundle = make_bundle(tasks[0], code)
    with open_client(address) as client:
        shared = client.scatter(bundle, broadcast=True)
        futures = {}
        for task in tasks:
            stamp = Path(task.path).parent / "timestamp.txt"
            future = client.submit(grade_task, shared, task, Path(task.path).read_bytes(),
                                   stamp.read_bytes() if stamp.is_file() else None,
                                   key=f"grade-{task.student}-{task.key[:16]}", retries=1, pure=False)
            futures[future] = task
        for future in as_completed(futures):
            task = futures[future]
            try:
                files = future.result()
            except Exception as error:  # noqa: BLE001 - a task that failed on every worker it ran on
                from course_lib.grading.pipeline import zero_result
                from course_lib.grading.records import Status

                result = zero_result(task, Status.ERROR, f"grading on the cluster failed: {type(error).__name__}: {str(error)[:200]}")
                write_files(task, {f"results/{task.student}.json": json.dumps(result.to_dict(), indent=1).encode()})
            else:
                result = write_files(task, files)
            on_result(task, result)
