"""One-command autograde of a folder of submissions: parallel (one sandbox kernel per
submission), resumable (a result file per submission, keyed by the submission's and the
assignment's content), writing nbgrader's gradebook, feedback HTML, a CSV and a summary.

A broken submission (invalid JSON, a kernel that dies, runs over time or memory) gets its own
zero scores and never stops the others nor touches their gradebook rows.
"""
from __future__ import annotations

import compileall
import hashlib
import json
import os
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

from course_lib.grading.course import REPO_ROOT, Course, use_tool_env
from course_lib.grading.pipeline import grade_submission, zero_result
from course_lib.grading.gradebook import open_gradebook, write_gradebook
from course_lib.grading.record import atomic_write, read_result, result_path
from course_lib.grading.records import CellLimits, Result, Status, Task
from course_lib.grading.pipeline import NO_SANDBOX_NOTE
from course_lib.grading.sandbox import DEFAULT_MEMORY, copy_student_package, require_sandbox, write_kernelspec
from course_lib.grading.submissions import Submission, find_submissions


@dataclass(frozen=True)
class Settings:
    """Limits of one run; ``jobs`` submissions are graded at once."""

    jobs: int = os.cpu_count() or 1
    cell_timeout: float = 20.0
    budget: float = 120.0
    memory: int = DEFAULT_MEMORY
    sandbox: bool = True  # False (--no-sandbox): the kernels run as the grader's own user, unisolated
    skip_demos: bool = True  # False: run the course's demo-only cells too (grading/demos.py)
    cluster: str | None = None  # a Dask scheduler (tcp://host:port) or local:N: one task per submission (grading/cluster.py)

    @property
    def limits(self) -> CellLimits:
        return CellLimits(cell_timeout=self.cell_timeout, budget=self.budget)


def _sha(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _pipeline_code() -> bytes:
    """The grader's own code that decides a result (the resume cache keys on it)."""
    package = Path(__file__).resolve().parents[1]
    files = (sorted(package.glob("grading/*.py")) + sorted(package.glob("checks/*.py")) + sorted(package.glob("solutions/*.py"))
             + [package / "probe.py", package / "probe_codec.py"])
    return b"".join(f.read_bytes() for f in files if f.is_file())


def _safe_grade(task: Task) -> Result:
    try:
        return grade_submission(task)
    except Exception:
        result = zero_result(task, Status.ERROR, "the grader failed on this submission: " + traceback.format_exc(limit=3)[-300:])
        atomic_write(result_path(Path(task.out), task.student), json.dumps(result.to_dict(), indent=1))
        return result


def _grade_in_pool(tasks: list[Task], jobs: int, results: dict, gb, bar) -> list[Task]:
    """Grade ``tasks`` in one pool of ``jobs`` workers; returns the tasks of a broken pool."""
    broken = []
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))), mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_safe_grade, task): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                broken.append(task)
                continue
            results[task.student] = result
            write_gradebook(gb, result)
            bar.update(1)
    return broken


def prepare_sandbox(out: Path, memory: int) -> tuple[Path, Path]:
    """The student's course_lib tree (no solutions, no judges) and the sandbox kernelspec folder."""
    tree = out / "_sandbox" / "tree"
    copy_student_package(REPO_ROOT / "course_lib", tree)
    # Compiled once here: the sandbox mounts the tree read-only, where no kernel could cache it.
    compileall.compile_dir(str(tree), quiet=1)
    kernels = write_kernelspec(out / "_sandbox" / "kernels", memory)
    return tree, kernels


def autograde(
    course: Course,
    assignment: str,
    submissions: Path | list[Submission],
    out: Path | None = None,
    settings: Settings = Settings(),
    progress: bool = True,
    ports: dict[str, list[int]] | None = None,
) -> list[Result]:
    """Grade every submission of ``assignment``; returns the results sorted by student.

    ``out`` (default ``build/grading/<assignment>``) receives results/, feedback/,
    autograded/, scores.csv and the summary; the scores also go to the gradebook."""
    from tqdm import tqdm

    from course_lib.grading.report import write_reports

    use_tool_env()
    if settings.sandbox:
        require_sandbox()  # SandboxUnavailable says what is missing and how to install it
    else:
        print(f"WARNING: {NO_SANDBOX_NOTE}; it could read and change the instructor's files. "
              "Every result of this run is marked.", file=sys.stderr)
    out = Path(out) if out is not None else course.build / "grading" / assignment
    out.mkdir(parents=True, exist_ok=True)
    if not isinstance(submissions, list):
        submissions = find_submissions(Path(submissions), assignment)
    source, release, judge = course.source_notebook(assignment), course.release_notebook(assignment), course.judge(assignment)
    tree, kernels = prepare_sandbox(out, settings.memory)
    common = _sha(source.read_bytes(), release.read_bytes(), judge.read_bytes(), _pipeline_code(),
                  json.dumps(asdict(settings) | {"jobs": 0, "cluster": None}).encode())
    data_dir = os.environ.get("COURSE_LIB_DATA", str(REPO_ROOT / "data"))
    tasks, results = [], {}
    for sub in submissions:
        key = _sha(common.encode(), sub.path.read_bytes())
        task = Task(student=sub.student, assignment=assignment, path=str(sub.path), source=str(source),
                    release=str(release), judge=str(judge), out=str(out), tree=str(tree), kernels=str(kernels),
                    data=data_dir, key=key, limits=settings.limits,
                    ports=tuple((ports or {}).get(sub.student) or ()) or None,
                    nbgrader_autograded=str(course.nbgrader_dir / "autograded"),
                    sandbox=settings.sandbox, memory=settings.memory, skip_demos=settings.skip_demos)
        previous = read_result(out, sub.student)
        if previous is not None and previous.key == key and previous.status in (Status.GRADED, Status.INVALID, Status.TOO_BIG):
            results[sub.student] = previous
            continue
        tasks.append(task)
    bar = tqdm(total=len(submissions), desc=f"autograde {assignment}", unit="nb", disable=not progress)
    bar.update(len(results))
    with open_gradebook(course.db_url) as gb:
        for result in results.values():
            write_gradebook(gb, result)
        # A broken pool (a worker that died) breaks every future of it: those submissions are
        # graded again, each in a pool of its own, so only the one that kills its worker again
        # gets the zero, never a classmate graded alongside it.
        pending, alone = list(tasks), False
        if settings.cluster and pending:
            from course_lib.grading.cluster import grade_on_cluster

            def arrived(task: Task, result: Result) -> None:
                results[task.student] = result
                write_gradebook(gb, result)
                bar.update(1)

            grade_on_cluster(settings.cluster, pending, hashlib.sha256(_pipeline_code()).hexdigest(), arrived)
            pending = []
        while pending:
            broken = []
            for group in ([[t] for t in pending] if alone else [pending]):
                broken += _grade_in_pool(group, settings.jobs, results, gb, bar)
            if alone:
                for task in broken:
                    result = zero_result(task, Status.ERROR, "the grader's worker crashed twice on this submission")
                    atomic_write(result_path(out, task.student), json.dumps(result.to_dict(), indent=1))
                    results[task.student] = result
                    write_gradebook(gb, result)
                    bar.update(1)
                broken = []
            pending, alone = broken, True
    bar.close()
    ordered = [results[s.student] for s in submissions]
    write_reports(out, assignment, ordered)
    return ordered
