"""One-command autograde of a folder of submissions: parallel (one sandbox kernel per
submission), resumable (a result file per submission, keyed by the submission's and the
assignment's content), writing nbgrader's gradebook, feedback HTML, a CSV and a summary.

A broken submission (invalid JSON, a kernel that dies, runs over time or memory) gets its own
zero scores and never stops the others nor touches their gradebook rows.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

from course_lib.grading.course import REPO_ROOT, Course, grade_id, is_grade, is_solution, nbgrader_meta, read_notebook, use_tool_env
from course_lib.grading.sandbox import DEFAULT_MEMORY, copy_student_package, kernel_env, require_sandbox, write_kernelspec
from course_lib.grading.submissions import Submission, find_submissions

PIPELINE_VERSION = "3"


@dataclass(frozen=True)
class Settings:
    """Limits of one run; ``jobs`` submissions are graded at once."""

    jobs: int = os.cpu_count() or 1
    cell_timeout: float = 20.0
    budget: float = 120.0
    memory: int = DEFAULT_MEMORY
    sandbox: bool = True  # False (--no-sandbox): the kernels run as the grader's own user, unisolated


NO_SANDBOX_NOTE = "graded WITHOUT the OS sandbox (--no-sandbox): the submission ran as the grader's own user"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _sha(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def graded_cells(nb) -> list[tuple[str, float]]:
    return [(grade_id(c), float(nbgrader_meta(c).get("points", 0))) for c in nb.cells if is_grade(c) and not is_solution(c)]


def _zero_result(task: dict, status: str, message: str) -> dict:
    source = read_notebook(Path(task["source"]))
    cells = [{"grade_id": g, "points": p, "score": 0.0, "status": "failed", "message": message} for g, p in graded_cells(source)]
    return {"student": task["student"], "assignment": task["assignment"], "status": status, "cells": cells,
            "score": 0.0, "max_score": sum(p for _, p in graded_cells(source)), "flags": [], "notes": [message] + ([] if task.get("sandbox", True) else [NO_SANDBOX_NOTE]),
            "seconds": 0.0, "retried": None, "key": task["key"], "sandbox": task.get("sandbox", True)}


def grade_submission(task: dict) -> dict:
    """Grade one submission (runs in a worker process); writes and returns its result."""
    from course_lib.grading.bounds import oversized_cells, oversized_notebook
    from course_lib.grading.execute import ExecutionLimits, KernelStartError, Sandbox, run_graded_notebook
    from course_lib.grading.sandbox import SandboxLimits, SandboxMounts
    from course_lib.grading.feedback import feedback_html
    from course_lib.grading.restore import rebuild
    from course_lib.grading.scan import scan_cell
    from course_lib.grading.scoring import score_cells
    import nbformat

    out = Path(task["out"])
    student, assignment = task["student"], task["assignment"]
    release_nb = read_notebook(Path(task["release"]))
    rebuilt = None
    # Sizes first, before anything parses or scans the submission (bounded time and memory).
    too_big = oversized_notebook(Path(task["path"]))
    try:
        student_nb = None if too_big else read_notebook(Path(task["path"]))
    except ValueError as error:
        student_nb, result = None, _zero_result(task, "invalid", f"the submission could not be read: {error}")
    too_big = too_big or (oversized_cells(student_nb) if student_nb is not None else None)
    if too_big:
        result = _zero_result(task, "too big", too_big)
    elif student_nb is not None:
        source_nb = read_notebook(Path(task["source"]))
        rebuilt = rebuild(student_nb, source_nb, release_nb)
        flags = [f for i in sorted(rebuilt.student_cells) if rebuilt.nb.cells[i].cell_type == "code"
                 for f in scan_cell(i, rebuilt.nb.cells[i].source)]
        graded = {i for i, c in enumerate(rebuilt.nb.cells) if is_grade(c) and not is_solution(c)}
        limits = ExecutionLimits(task["cell_timeout"], task["budget"])
        with tempfile.TemporaryDirectory(prefix=f"grade-{student}-") as workdir:
            work = Path(workdir)
            for extra in Path(task["release"]).parent.iterdir():
                if extra.suffix != ".ipynb" and extra.is_file():
                    shutil.copy(extra, work / extra.name)
            # Sandboxed, the kernel sees the student tree, the data (both read-only) and a private
            # copy of this working folder, nothing else of the instructor's; without the sandbox
            # it runs here, as the grader's user, with the same environment on host paths.
            env = dict(kernel_env(task["tree"], task["data"], str(work)), PATH=os.environ.get("PATH", ""))
            sandbox = None
            if task.get("sandbox", True):
                sandbox = Sandbox(SandboxMounts(task["tree"], task["data"]), SandboxLimits(memory=task.get("memory", DEFAULT_MEMORY)))
            log = out / "logs" / f"{student}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            try:
                execution = run_graded_notebook(rebuilt.nb, graded, work, Path(task["kernels"]), env, limits, log,
                                                task.get("ports"), sandbox)
            except KernelStartError as error:
                result = _zero_result(task, "error", str(error))
            else:
                scores = score_cells(rebuilt, execution, flags)
                result = {
                    "student": student, "assignment": assignment, "status": "graded",
                    "cells": [s.as_dict() for s in scores],
                    "score": sum(s.score for s in scores), "max_score": sum(s.points for s in scores),
                    "flags": [f.describe() for f in flags],
                    "notes": rebuilt.notes + ([execution.stopped] if execution.stopped else []),
                    "seconds": round(execution.seconds, 3), "retried": execution.retried, "key": task["key"],
                    "sandbox": sandbox is not None,
                }
    if not task.get("sandbox", True) and NO_SANDBOX_NOTE not in result["notes"]:
        result["notes"].append(NO_SANDBOX_NOTE)
    if rebuilt is not None:
        nb_path = out / "autograded" / student / f"{assignment}.ipynb"
        nb_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(rebuilt.nb, str(nb_path))
        if task.get("nbgrader_autograded"):
            # nbgrader's own place, autograded/<student>/<assignment>/, where the formgrader looks.
            nbgrader_path = Path(task["nbgrader_autograded"]) / student / assignment / f"{assignment}.ipynb"
            nbgrader_path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(rebuilt.nb, str(nbgrader_path))
            stamp = Path(task["path"]).parent / "timestamp.txt"
            if stamp.is_file():
                shutil.copy(stamp, nbgrader_path.parent / "timestamp.txt")
    _atomic_write(out / "feedback" / f"{student}.html", feedback_html(result, rebuilt.nb if rebuilt else None, release_nb))
    _atomic_write(out / "results" / f"{student}.json", json.dumps(result, indent=1))
    return result


def _safe_grade(task: dict) -> dict:
    try:
        return grade_submission(task)
    except Exception:
        result = _zero_result(task, "error", "the grader failed on this submission: " + traceback.format_exc(limit=3)[-300:])
        _atomic_write(Path(task["out"]) / "results" / f"{task['student']}.json", json.dumps(result, indent=1))
        return result


def _grade_in_pool(tasks: list[dict], jobs: int, results: dict, gb, bar) -> list[dict]:
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
            results[task["student"]] = result
            write_gradebook(gb, result)
            bar.update(1)
    return broken


def prepare_sandbox(out: Path, memory: int) -> tuple[Path, Path]:
    """The student's course_lib tree (no solutions) and the sandbox kernelspec folder."""
    tree = out / "_sandbox" / "tree"
    copy_student_package(REPO_ROOT / "course_lib", tree)
    kernels = write_kernelspec(out / "_sandbox" / "kernels", memory)
    return tree, kernels


def open_gradebook(db_url: str):
    """nbgrader's gradebook (opened once per run: opening it runs alembic)."""
    from nbgrader.api import Gradebook

    return Gradebook(db_url)


def write_gradebook(gb, result: dict) -> None:
    """Write one result's scores into nbgrader's gradebook ``gb`` (idempotent)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb.update_or_create_student(result["student"])
        gb.update_or_create_submission(result["assignment"], result["student"])
        notebook = gb.find_submission_notebook(result["assignment"], result["assignment"], result["student"])
        notebook.flagged = bool(result["flags"]) or result["status"] != "graded"
        for cell in result["cells"]:
            grade = gb.find_grade(cell["grade_id"], result["assignment"], result["assignment"], result["student"])
            grade.auto_score = cell["score"]
            # Every graded cell is scored here: like nbgrader's own autograde, nothing is left for a human.
            grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()


def autograde(
    course: Course,
    assignment: str,
    submissions: Path | list[Submission],
    out: Path | None = None,
    settings: Settings = Settings(),
    progress: bool = True,
    ports: dict[str, list[int]] | None = None,
) -> list[dict]:
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
    source, release = course.source_notebook(assignment), course.release_notebook(assignment)
    tree, kernels = prepare_sandbox(out, settings.memory)
    common = _sha(source.read_bytes(), release.read_bytes(), PIPELINE_VERSION.encode(),
                  json.dumps(asdict(settings) | {"jobs": 0}).encode())
    data_dir = os.environ.get("COURSE_LIB_DATA", str(REPO_ROOT / "data"))
    tasks, results = [], {}
    for sub in submissions:
        key = _sha(common.encode(), sub.path.read_bytes())
        task = {"student": sub.student, "assignment": assignment, "path": str(sub.path), "source": str(source),
                "release": str(release), "out": str(out), "tree": str(tree), "kernels": str(kernels),
                "data": data_dir, "cell_timeout": settings.cell_timeout, "budget": settings.budget, "key": key,
                "ports": (ports or {}).get(sub.student),
                "nbgrader_autograded": str(course.nbgrader_dir / "autograded"),
                "sandbox": settings.sandbox, "memory": settings.memory}
        cached = out / "results" / f"{sub.student}.json"
        if cached.is_file():
            try:
                previous = json.loads(cached.read_text())
            except ValueError:
                previous = {}
            if previous.get("key") == key and previous.get("status") in ("graded", "invalid", "too big"):
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
        while pending:
            broken = []
            for group in ([[t] for t in pending] if alone else [pending]):
                broken += _grade_in_pool(group, settings.jobs, results, gb, bar)
            if alone:
                for task in broken:
                    result = _zero_result(task, "error", "the grader's worker crashed twice on this submission")
                    _atomic_write(out / "results" / f"{task['student']}.json", json.dumps(result, indent=1))
                    results[task["student"]] = result
                    write_gradebook(gb, result)
                    bar.update(1)
                broken = []
            pending, alone = broken, True
    bar.close()
    ordered = [results[s.student] for s in submissions]
    write_reports(out, assignment, ordered)
    return ordered
