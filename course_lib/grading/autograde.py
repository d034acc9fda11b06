"""One-command autograde of a folder of submissions: parallel (one sandbox kernel per
submission), resumable (a result file per submission, keyed by the submission's and the
assignment's content), writing nbgrader's gradebook, feedback HTML, a CSV and a summary.

A broken submission (invalid JSON, a kernel that dies, runs over time or memory) gets its own
zero scores and never stops the others nor touches their gradebook rows. Nothing is silent:
every name of the folder that is not a gradable submission is a report row (``submissions``),
the reports cover every student the gradebook holds a submission of, outputs of students
not graded in this run move to ``out/stale/``, and the run counts the results it reused.

Crash safety: every file is written atomically and a result file last, after its notebook
and feedback; the gradebook rows are written from the results (idempotent), so a run killed
at any moment and run again ends as an uninterrupted run would.
"""
from __future__ import annotations

import compileall
import hashlib
import json
import os
import shutil
import signal
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from course_lib.grading.course import REPO_ROOT, Course, read_notebook, use_tool_env
from course_lib.grading.gradebook import GradebookWriter, open_gradebook, set_duedate
from course_lib.grading.leftovers import remove_leftovers
from course_lib.grading.pipeline import (NO_SANDBOX_NOTE, grade_submission, graded_cells, warm_worker, with_late_policy,
                                         zero_result)
from course_lib.grading.record import atomic_write, read_result, result_path
from course_lib.grading.records import CellLimits, CellResult, CellStatus, Result, Status, Task
from course_lib.grading.sandbox import DEFAULT_MEMORY, copy_student_package, require_sandbox, write_kernelspec
from course_lib.grading.submissions import Entry, Submission, scan_submissions

KILL_AT = "COURSE_LIB_KILL_AT"
# Outputs kept per graded student of the run; those of other students move to out/stale/.
PER_STUDENT = (("results", ".json"), ("feedback", ".html"), ("logs", ".log"), ("autograded", ""))


class KillSwitch:
    """The crash-safety tests' hook: ``COURSE_LIB_KILL_AT=<point>:<n>`` kills the grader with
    SIGKILL the n-th time it passes ``point`` (``recorded``: a result's gradebook row written;
    ``gradebook``: inside a gradebook write; ``reports``: between scores.csv and the summary)."""

    def __init__(self, spec: str | None):
        point, _, count = (spec or "").partition(":")
        self.point, self.count, self.seen = point, int(count or 1), 0

    def at(self, point: str) -> None:
        if point == self.point:
            self.seen += 1
            if self.seen == self.count:
                os.kill(os.getpid(), signal.SIGKILL)


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
    prestart: bool = True  # each worker starts its next submission's kernel while it grades one (grading/spare.py)

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
        result = with_late_policy(task, zero_result(task, Status.ERROR, "the grader failed on this submission: "
                                                    + traceback.format_exc(limit=3)[-300:]))
        atomic_write(result_path(Path(task.out), task.student), json.dumps(result.to_dict(), indent=1))
        return result


def _start_worker(grader: int, task: Task, prestart: bool) -> None:
    """A worker's initializer: tie it to the grader, then warm it for the run ``task`` belongs
    to (its first kernel starting when ``prestart``, the judge's data; ``pipeline.warm_worker``).
    Warming is only a head start: if it fails, the first submission starts its own kernel and
    says why."""
    _die_with_grader(grader)
    try:
        warm_worker(task, kernel=prestart)
    except Exception:  # noqa: BLE001 - an initializer that raises would break the whole pool
        pass


def _die_with_grader(grader: int) -> None:
    """Tie this worker to the grader: it dies with the grader, even one killed by SIGKILL
    (an orphaned worker would otherwise wait forever for its next submission)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != grader:  # the grader died before the line above
        os._exit(1)


def _grade_in_pool(tasks: list[Task], jobs: int, results: dict, writer: GradebookWriter, bar, kill: KillSwitch,
                   prestart: bool = True) -> list[Task]:
    """Grade ``tasks`` in one pool of ``jobs`` workers, each starting its first kernel as it
    starts when ``prestart``; returns the tasks of a broken pool."""
    broken = []
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))), mp_context=get_context("spawn"),
                             initializer=_start_worker, initargs=(os.getpid(), tasks[0], prestart)) as pool:
        futures = {pool.submit(_safe_grade, task): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                broken.append(task)
                continue
            results[task.student] = result
            writer.write(result, kill)
            kill.at("recorded")
            bar.update(1)
    return broken


def prepare_sandbox(out: Path, memory: int, kernelspec: bool = True) -> tuple[Path, Path]:
    """The student's course_lib tree (no solutions, no judges) and the sandbox kernelspec folder
    (left unwritten with ``kernelspec=False``: a cluster's workers write their own)."""
    tree = out / "_sandbox" / "tree"
    copy_student_package(REPO_ROOT / "course_lib", tree)
    # Compiled once here: the sandbox mounts the tree read-only, where no kernel could cache it.
    compileall.compile_dir(str(tree), quiet=1)
    kernels = out / "_sandbox" / "kernels"
    if kernelspec:
        write_kernelspec(kernels, memory)
    return tree, kernels


@dataclass
class Run:
    """One autograde run: ``results`` of the graded submissions; ``rows`` of the reports (those
    results, every name of the folder that is not a gradable submission, and every student the
    gradebook holds a submission of that is not in the folder)."""

    assignment: str
    out: Path
    results: list[Result]
    rows: list[Result]
    reused: int = 0
    ignored: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    cluster: object | None = None  # grading/cluster.py's ClusterTimings of a --cluster run

    @property
    def graded(self) -> int:
        return len(self.results) - self.reused


def row_result(assignment: str, cells: list[tuple[str, float]], student: str, status: Status, reason: str) -> Result:
    """A report row of 0 points for a student with no gradable submission."""
    return Result(student, assignment, status, [CellResult(g, p, 0.0, CellStatus.NOT_RUN, reason) for g, p in cells],
                  notes=[reason])


def _gradebook_rows(gb, assignment: str, graded: set[str], entries: list[Entry], cells,
                    max_score: float) -> list[Result]:
    """The rows of ``entries`` and of the students not graded in this run that the gradebook
    holds a submission of ``assignment`` of, or that are on its roster (``course-lib-grade
    roster``); a row says when the gradebook keeps an earlier score."""
    from nbgrader.api import MissingEntry

    from course_lib.grading.gradebook_io import roster_students

    try:
        earlier = {s.student.id: s.score for s in gb.assignment_submissions(assignment)}
    except MissingEntry:
        earlier = {}
    keeps = "the gradebook keeps {:g}/" + f"{max_score:g} from an earlier run"
    rows = {e.student: row_result(assignment, cells, e.student, e.status, e.reason if e.student not in earlier
                                  else f"{e.reason}; {keeps.format(earlier[e.student])}") for e in entries}
    for student, score in earlier.items():
        if student not in graded and student not in rows:
            rows[student] = row_result(assignment, cells, student, Status.MISSING,
                                       f"no submission in this folder; {keeps.format(score)}")
    for student in roster_students(gb):
        if student not in graded and student not in rows:
            rows[student] = row_result(assignment, cells, student, Status.MISSING, "no submission (a student of the roster)")
    return list(rows.values())


def _remove_partial_writes(out: Path, formgrader: Path, assignment: str) -> None:
    """Remove the temporary files of atomic writes a killed run left (``<name>.<pid>.tmp``)."""
    found = [p for p in out.rglob("*.tmp") if "_sandbox" not in p.relative_to(out).parts]
    found += list(formgrader.glob(f"*/{assignment}/*.tmp")) if formgrader.is_dir() else []
    for path in found:
        if path.name.rsplit(".", 2)[-2].isdigit():
            path.unlink(missing_ok=True)


def _move_stale(out: Path, keep: set[str]) -> list[str]:
    """Move the outputs of students not in ``keep`` to ``out/stale/`` (idempotent); returns them."""
    moved = set()
    for folder, suffix in PER_STUDENT:
        for path in sorted((out / folder).glob(f"*{suffix}")) if (out / folder).is_dir() else []:
            student = path.name[: len(path.name) - len(suffix)] if suffix else path.name
            if student in keep:
                continue
            target = out / "stale" / folder / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(path, target)
            moved.add(student)
    return sorted(moved)


def submission_time(sub: Submission) -> str | None:
    """The submission's nbgrader time (its timestamp.txt) as ISO UTC, or None."""
    from nbgrader.utils import parse_utc

    from course_lib.grading.late import as_utc

    if sub.timestamp is None:
        return None
    try:
        return as_utc(parse_utc(sub.timestamp)).isoformat()
    except (ValueError, OverflowError):
        return None


def _check_gradebook(course: Course, assignment: str) -> None:
    """The gradebook must exist and know ``assignment`` (the release writes both)."""
    from nbgrader.api import MissingEntry

    release_it = f"run `course-lib-grade release {assignment}` with this gradebook first"
    path = course.gradebook_file_in_use
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"the gradebook {path} does not exist: {release_it}")
    with open_gradebook(course.db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"the gradebook {course.gradebook_label} does not know assignment {assignment!r}: {release_it}") from None


def autograde(
    course: Course,
    assignment: str,
    submissions: Path | list[Submission],
    out: Path | None = None,
    settings: Settings = Settings(),
    progress: bool = True,
    ports: dict[str, list[int]] | None = None,
) -> list[Result]:
    """Grade every submission of ``assignment``; returns the results sorted by student (the
    whole run, with the report rows, is ``run_autograde``)."""
    return run_autograde(course, assignment, submissions, out, settings, progress, ports).results


def run_autograde(
    course: Course,
    assignment: str,
    submissions: Path | list[Submission],
    out: Path | None = None,
    settings: Settings = Settings(),
    progress: bool = True,
    ports: dict[str, list[int]] | None = None,
) -> Run:
    """Grade every submission of ``assignment`` in ``submissions`` (a folder or a list).

    ``out`` (default ``build/grading/<assignment>``; relative to the current folder) receives
    results/, feedback/, autograded/, stale/, scores.csv and the summary; the scores also go to
    the course's gradebook. A folder with no gradable submission raises ``NoSubmissions``
    before anything is written."""
    from tqdm import tqdm

    from course_lib.grading.report import write_reports

    use_tool_env()
    if settings.sandbox:
        require_sandbox()  # SandboxUnavailable says what is missing and how to install it
        left = remove_leftovers()
        if left:
            graders = sorted({leftover.grader for leftover in left})
            print(f"ended {len(left)} sandbox processes left by grading processes that are gone "
                  f"(pids {', '.join(map(str, graders))})", file=sys.stderr)
    else:
        print(f"WARNING: {NO_SANDBOX_NOTE}; it could read and change the instructor's files. "
              "Every result of this run is marked.", file=sys.stderr)
    entries: list[Entry] = []
    not_graded: dict[str, list[str]] = {}
    ignored: list[str] = []
    if not isinstance(submissions, list):
        scan = scan_submissions(Path(submissions), assignment)
        submissions, entries, not_graded, ignored = scan.submissions, scan.entries, scan.not_graded, scan.ignored
    source, release, judge = course.source_notebook(assignment), course.release_notebook(assignment), course.judge(assignment)
    _check_gradebook(course, assignment)
    # Absolute: the kernels' PYTHONPATH and the sandbox's mounts are made of it.
    out = Path(out).resolve() if out is not None else course.build.resolve() / "grading" / assignment
    out.mkdir(parents=True, exist_ok=True)
    _remove_partial_writes(out, course.nbgrader_dir / "autograded", assignment)
    kill = KillSwitch(os.environ.get(KILL_AT))
    # With --cluster the kernels start on the workers, each with its own kernelspec and font list.
    tree, kernels = prepare_sandbox(out, settings.memory, kernelspec=not settings.cluster)
    policy = course.late_policy(assignment)
    late_policy = (policy.deadline.isoformat(), policy.per_day) if policy else None
    common = _sha(source.read_bytes(), release.read_bytes(), judge.read_bytes(), _pipeline_code(),
                  json.dumps(asdict(settings) | {"jobs": 0, "cluster": None, "prestart": None, "late": late_policy}).encode())
    data_dir = os.environ.get("COURSE_LIB_DATA", str(REPO_ROOT / "data"))
    tasks, results, timings = [], {}, None
    for sub in submissions:
        submitted_at = submission_time(sub)
        key = _sha(common.encode(), sub.path.read_bytes(), str(submitted_at).encode())
        task = Task(student=sub.student, assignment=assignment, path=str(Path(sub.path).resolve()), source=str(source),
                    release=str(release), judge=str(judge), out=str(out), tree=str(tree), kernels=str(kernels),
                    data=data_dir, key=key, limits=settings.limits,
                    ports=tuple((ports or {}).get(sub.student) or ()) or None,
                    nbgrader_autograded=str(course.nbgrader_dir.resolve() / "autograded"),
                    sandbox=settings.sandbox, memory=settings.memory, skip_demos=settings.skip_demos,
                    submitted_at=submitted_at, late_policy=late_policy)
        previous = read_result(out, sub.student)
        if previous is not None and previous.key == key and previous.status in (Status.GRADED, Status.INVALID, Status.TOO_BIG):
            results[sub.student] = previous
            continue
        tasks.append(task)
    reused = len(results)
    if not settings.cluster:
        # Each pool worker starts its next submission's kernel while it grades one, except for
        # the last submissions, which no other follows.
        tasks = [replace(task, prestart=settings.prestart and index < len(tasks) - settings.jobs)
                 for index, task in enumerate(tasks)]
    bar = tqdm(total=len(submissions), desc=f"autograde {assignment}", unit="nb", disable=not progress)
    bar.update(len(results))
    cells = graded_cells(read_notebook(source))
    with open_gradebook(course.db_url) as gb:
        set_duedate(gb, assignment, policy)
        writer = GradebookWriter(gb)  # one connection and one read of the assignment's cells for the run
        for result in results.values():
            writer.write(result, kill)
        # A broken pool (a worker that died) breaks every future of it: those submissions are
        # graded again, each in a pool of its own, so only the one that kills its worker again
        # gets the zero, never a classmate graded alongside it.
        pending, alone = list(tasks), False
        if settings.cluster and pending:
            from course_lib.grading.cluster import grade_on_cluster

            def arrived(task: Task, result: Result) -> None:
                results[task.student] = result
                writer.write(result)
                bar.update(1)

            timings = grade_on_cluster(settings.cluster, pending, hashlib.sha256(_pipeline_code()).hexdigest(), arrived)
            pending = []
        while pending:
            broken = []
            for group in ([[replace(t, prestart=False)] for t in pending] if alone else [pending]):
                broken += _grade_in_pool(group, settings.jobs, results, writer, bar, kill, settings.prestart)
            if alone:
                for task in broken:
                    result = zero_result(task, Status.ERROR, "the grader's worker crashed twice on this submission")
                    atomic_write(result_path(out, task.student), json.dumps(result.to_dict(), indent=1))
                    results[task.student] = result
                    writer.write(result, kill)
                    kill.at("recorded")
                    bar.update(1)
                broken = []
            pending, alone = broken, True
        others = _gradebook_rows(gb, assignment, set(results), entries, cells, sum(points for _, points in cells))
    bar.close()
    ordered = [results[s.student] for s in submissions]
    rows = [replace(r, notes=r.notes + [f"not graded: {', '.join(not_graded[r.student])}"]) if r.student in not_graded else r
            for r in ordered]
    rows += others
    rows.sort(key=lambda r: r.student)
    stale = _move_stale(out, set(results))
    run = Run(assignment, out, ordered, rows, reused, ignored, stale, timings)
    write_reports(out, assignment, rows, run=run, kill=kill)
    return run
