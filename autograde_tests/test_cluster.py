"""Grading fanned out on a real Dask cluster (a scheduler and two worker processes on
loopback, started by the test): the same verdicts as local grading, files and gradebook
written by the client only, and a worker killed mid-run loses and duplicates nothing."""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course_lib.grading.autograde import Settings, autograde, run_autograde
from course_lib.grading.cluster import Bundle, ClusterError, _unpacked, open_client
from course_lib.grading.course import use_tool_env
from course_lib.grading.release import release

from grading_fixtures import EXAMPLES, SETTINGS, course_for, expected_scores
from servers import dask_cluster, require_dask

# Mixes of the fixture's examples (every example's verdict on the local pool is
# test_grading_autograde's): right, wrong, unreadable, a message over the limit, a deleted test
# cell, a hunt for the hidden tests (the worker's bundle holds the judge), a kernel that exits;
# then, for the killed worker, one that runs over time (so a task is running when the worker dies).
MIX = ["reference", "mistake_cce_mean_over_entries", "adv_invalid_json", "adv_huge_output", "adv_deleted_test_cell",
       "adv_read_hidden_tests", "adv_sys_exit"]
SOME = ["reference", "adv_infinite_loop", "adv_os_exit", "mistake_cce_no_clip"]


def _verdicts(results):
    return {r.student: ({c.grade_id: c.score for c in r.cells},
                        {c.grade_id: sorted(v.name for v in c.checks if not v.passed) for c in r.cells if c.score < c.points})
            for r in results}


def _why(results, out=None) -> str:
    """Each result's status and notes, and the end of each grading log and of the workers' log:
    what a mismatch needs to be understood from a CI log."""
    lines = [f"{r.student}: {r.status} {r.notes}" for r in results]
    if out is not None:
        for log in sorted((out / "logs").glob("*.log"))[:3]:
            lines.append(f"--- {log.name}:\n{log.read_text(errors='replace')[-1500:]}")
    for log in sorted(DASK_LOGS):
        lines.append(f"--- {log}:\n{log.read_text(errors='replace')[-3000:]}")
    return "\n".join(lines)


def _expected(students):
    spec = expected_scores("tiny")
    return {s: (spec[s]["scores"], spec[s]["failed"]) for s in students}


DASK_LOGS: list[Path] = []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_dask()
    folder = tmp_path_factory.mktemp("dask")
    DASK_LOGS.append(folder / "dask.log")
    with dask_cluster(folder, workers=2) as (address, workers):
        yield address, workers


def _course(tmp_path, names):
    course = course_for("tiny", tmp_path / "build")
    release(course, "tiny")
    submissions = tmp_path / "submitted"
    submissions.mkdir()
    for name in names:
        shutil.copy(EXAMPLES / "tiny" / f"{name}.ipynb", submissions / f"{name}.ipynb")
    return course, submissions


def _rows(course):
    use_tool_env()
    with Gradebook(course.db_url) as gb:
        submissions = gb.find_assignment("tiny").submissions
        return sorted(s.student_id for s in submissions), {s.student_id: s.score for s in submissions}


def test_the_cluster_grades_as_the_local_pool_does(cluster, tmp_path):
    address, _ = cluster
    names = MIX
    course, submissions = _course(tmp_path, names)
    out = tmp_path / "out"
    run = run_autograde(course, "tiny", submissions, out=out, settings=Settings(**{**SETTINGS.__dict__, "cluster": address}), progress=False)
    results = run.results
    assert _verdicts(results) == {s: (scores, {g: f for g, f in failed.items()}) for s, (scores, failed) in _expected(names).items()}, _why(results, out)
    students, scores = _rows(course)
    assert students == sorted(names)
    assert scores == pytest.approx({r.student: r.score for r in results})
    for name in names:  # written by the client, where local grading writes them
        assert (out / "results" / f"{name}.json").is_file()
        assert (out / "feedback" / f"{name}.html").is_file()
        graded = out / "autograded" / name / "tiny.ipynb"
        if name != "adv_invalid_json":  # the formgrader's copy: the graded notebook, sent once by the worker
            assert (course.nbgrader_dir / "autograded" / name / "tiny" / "tiny.ipynb").read_bytes() == graded.read_bytes()
    # Where the time went, summed over the tasks: every task's grading and its worker's share.
    timings = run.cluster
    assert (timings.tasks, timings.slots) == (len(names), 2)
    assert 0 < timings.grade < timings.worker and timings.wall > 0 and timings.write > 0
    assert not (out / "_sandbox" / "kernels").exists()  # the workers start the kernels: the client builds no kernelspec
    # The workers' own copies live in their temp folders, never in the run's output folder.
    assert not list(out.rglob("*.tmp"))


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, tmp_path):
    address, workers = cluster
    course, submissions = _course(tmp_path, SOME)
    out = tmp_path / "out"
    killed = []

    def kill_a_worker_once_grading_started():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if (out / "results").is_dir() and any((out / "results").glob("*.json")):
                break
            time.sleep(0.1)
        victim = next(w for w in workers if w.poll() is None)
        os.kill(victim.pid, signal.SIGKILL)
        killed.append(victim.pid)

    killer = threading.Thread(target=kill_a_worker_once_grading_started)
    killer.start()
    results = autograde(course, "tiny", submissions, out=out, settings=Settings(**{**SETTINGS.__dict__, "cluster": address}), progress=False)
    killer.join()
    assert killed, "no worker was killed"
    assert _verdicts(results) == _expected(SOME), _why(results, out)
    students, scores = _rows(course)
    assert students == sorted(SOME)  # one row each: none lost, none twice
    assert sorted(p.stem for p in (out / "results").glob("*.json")) == sorted(SOME)


def test_an_unreachable_or_malformed_cluster_is_named():
    require_dask()
    with pytest.raises(ClusterError, match="local:N needs a number"):
        open_client("local:two")
    with pytest.raises(ClusterError, match="could not reach the Dask scheduler at tcp://127.0.0.1:1"):
        open_client("tcp://127.0.0.1:1", timeout="2s")


def test_the_workers_of_one_machine_unpack_a_bundle_once(tmp_path, monkeypatch):
    """Four tasks starting at once on one machine: one unpacks the bundle (tree compiled, the
    kernelspec with its font list), the others wait for its copy; no staging folder is left."""
    import hashlib
    import io
    import tarfile
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in (("tree/course_lib/__init__.py", b""), ("data/README.md", b"data"), ("source.ipynb", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    archive = buffer.getvalue()
    bundle = Bundle(hashlib.sha256(archive).hexdigest(), "code", archive)
    with ThreadPoolExecutor(4) as pool:
        copies = list(pool.map(lambda _: _unpacked(bundle, 2 * 1024**3), range(4)))
    assert sorted(unpacked for _, unpacked in copies) == [False, False, False, True]
    folder = copies[0][0]
    assert {c for c, _ in copies} == {folder} and (folder / "ready").read_text() == bundle.digest
    assert list((folder / "tree" / "course_lib").rglob("*.pyc")) and (folder / "kernels").is_dir()
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted([bundle.digest, f"{bundle.digest}.lock"])
