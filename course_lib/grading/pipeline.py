"""Grading one submission, as a pipeline of named stages:

1. **read** (``read``): the submitted notebook, bounded in size before anything parses it;
2. **restore** (``restore``, ``demos``): the student's answer cells in the release's notebook,
   edited or deleted test cells put back (without the hidden tests); the course's demo-only
   cells that nothing graded needs are left out of the run;
3. **run in the sandbox** (``execute``, ``sandbox``): the notebook in its own kernel; after each
   graded cell the probe calls the student's code on the judge's inputs and sends back data;
4. **judge** (``judge``, the assignment's ``course_lib/judges/<assignment>.py``): named checks
   in the grader's own process decide the points of every graded cell from that data;
5. **record** (``record``): result, feedback, graded notebook and gradebook, written by the grader.

Nothing the kernel prints, raises or writes makes a check pass; the source scan's flags are
notes for the instructor.
"""
from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from course_lib.grading.course import grade_id, is_grade, is_solution, nbgrader_meta, read_notebook
from course_lib.grading.records import CellResult, CheckVerdict, Result, Status, Task


NO_SANDBOX_NOTE = "graded WITHOUT the OS sandbox (--no-sandbox): the submission ran as the grader's own user"


def graded_cells(nb) -> list[tuple[str, float]]:
    """(grade_id, points) of every graded test cell, in order."""
    return [(grade_id(c), float(nbgrader_meta(c).get("points", 0))) for c in nb.cells if is_grade(c) and not is_solution(c)]


def zero_result(task: Task, status: Status, message: str) -> Result:
    """Every graded cell at 0 with ``message`` (an unreadable or ungradable submission)."""
    from course_lib.grading.judge import load_judge

    source = read_notebook(Path(task.source))
    judge = load_judge(Path(task.judge))
    cells = [CellResult.from_verdicts(g, p, [CheckVerdict(c.name, c.weight, False, "not_run", message)
                                             for c in (judge.cells[g].checks if g in judge.cells else (None,))]
                                      if g in judge.cells else [CheckVerdict("grading", 1.0, False, "not_run", message)])
             for g, p in graded_cells(source)]
    notes = [message] + ([] if task.sandbox else [NO_SANDBOX_NOTE])
    return Result(task.student, task.assignment, status, cells, notes=notes, key=task.key, sandboxed=task.sandbox)


def _probe_runner(prober, limits):
    """``probe(request, nonce)`` for the judge: runs the request in the kernel through
    ``prober`` and parses the reply (bounded, no pickle)."""
    from course_lib import probe_codec
    from course_lib.grading.execute import ProbeFailed
    from course_lib.grading.judge import ProbeError

    def probe(request: bytes, nonce: str):
        code = "__import__('course_lib.probe', fromlist=['run']).run(globals())"
        try:
            text = prober(code, base64.b64encode(request).decode("ascii"))
        except ProbeFailed as error:
            raise ProbeError(str(error)) from None
        try:
            header, arrays = probe_codec.unpack(base64.b64decode(text, validate=True), limits.probe_reply)
        except (ValueError, probe_codec.CodecError) as error:
            raise ProbeError(f"what came back from your code could not be read ({str(error)[:120]})") from None
        if header.get("probe") != nonce or not isinstance(header.get("results"), dict):
            raise ProbeError("what came back from your code was not the reply to the tests' call")
        return header, arrays

    return probe


def release_files(task: Task) -> list[Path]:
    """The files beside the release notebook: every kernel's working folder gets a copy."""
    return sorted(f for f in Path(task.release).parent.iterdir() if f.suffix != ".ipynb" and f.is_file())


def task_sandbox(task: Task):
    """The sandbox of ``task``'s kernel: the student tree, the data and MNIST decoded once per
    machine (``mnist_cache``), all read-only, and the run's limits. The same for every
    submission of a run."""
    from course_lib.grading.execute import Sandbox
    from course_lib.grading.sandbox import SandboxLimits, SandboxMounts
    from course_lib.mnist_cache import machine_cache

    return Sandbox(SandboxMounts(task.tree, task.data, machine_cache(task.data)), SandboxLimits(memory=task.memory))


def warm_worker(task: Task, kernel: bool = True) -> None:
    """A pool worker's start, before its first submission (``task``, or any of its run): the
    kernel that submission will take starts now (if ``kernel``), in uid slot 0, while this
    process loads the judge and the judge builds what it keeps for every submission
    (``AssignmentJudge.warm``); otherwise the first submission would wait for each in turn."""
    from course_lib.grading.judge import load_judge
    from course_lib.grading.spare import spare_kernel

    if kernel and task.sandbox:
        spare_kernel().start(Path(task.kernels), task_sandbox(task), release_files(task), slot=0)
    judge = load_judge(Path(task.judge))
    if judge.warm is not None:
        judge.warm()


def with_late_policy(task: Task, result: Result) -> Result:
    """``result`` with the submission's time and the late policy's penalty (a note says it)."""
    from datetime import datetime

    from course_lib.grading.late import LatePolicy, apply

    result = replace(result, submitted_at=task.submitted_at)
    if task.late_policy is None:
        return result
    if task.submitted_at is None:
        return replace(result, notes=result.notes + ["no submission time (timestamp.txt): the late policy was not applied"])
    deadline, per_day = task.late_policy
    late = apply(LatePolicy(datetime.fromisoformat(deadline), per_day), datetime.fromisoformat(task.submitted_at),
                 result.score, result.max_score)
    if late is None:
        return result
    return replace(result, late_days=late.days, late_penalty=late.points, notes=result.notes + [late.text(result.max_score)])


def grade_submission(task: Task) -> Result:
    """Grade one submission (runs in a worker process); writes and returns its result."""
    from course_lib.grading.cell_errors import defining_cells, explain_missing
    from course_lib.grading.demos import skip_demo_cells
    from course_lib.grading.execute import MESSAGE_LIMIT, ExecutionLimits, KernelStartError, run_graded_notebook
    from course_lib.grading.judge import judge_cell, load_judge
    from course_lib.grading.read import Unreadable, read_submission
    from course_lib.grading.record import write_result
    from course_lib.grading.restore import rebuild
    from course_lib.grading.sandbox import kernel_env
    from course_lib.grading.scan import scan_cell
    from course_lib.grading.spare import spare_kernel
    from course_lib.mnist_cache import machine_cache

    release_nb = read_notebook(Path(task.release))
    try:
        student_nb = read_submission(Path(task.path))
    except Unreadable as error:
        result = with_late_policy(task, zero_result(task, error.status, str(error)))
        write_result(task, result, None, release_nb)
        return result
    source_nb = read_notebook(Path(task.source))
    judge = load_judge(Path(task.judge))
    rebuilt = rebuild(student_nb, source_nb, release_nb)
    nb = rebuilt.nb
    skipped = frozenset(skip_demo_cells(nb, source_nb) if task.skip_demos else ())
    flags = [f.describe() for i in sorted(rebuilt.student_cells) if nb.cells[i].cell_type == "code"
             for f in scan_cell(i, nb.cells[i].source)]
    graded = {i for i, c in enumerate(nb.cells) if is_grade(c) and not is_solution(c)}
    verdicts: dict[int, list[CheckVerdict]] = {}
    judging = [0.0]  # seconds spent probing and judging

    def after_graded(index: int, prober) -> None:
        cell_judge = judge.cells.get(grade_id(nb.cells[index]))
        if cell_judge is not None:
            start = time.perf_counter()
            verdicts[index] = judge_cell(cell_judge, judge.reference, _probe_runner(prober, task.limits) if prober else None)
            judging[0] += time.perf_counter() - start

    limits = ExecutionLimits(task.limits.cell_timeout, task.limits.budget)
    out = Path(task.out)
    notes = list(rebuilt.notes)
    status = Status.GRADED
    with tempfile.TemporaryDirectory(prefix=f"grade-{task.student}-") as workdir:
        work = Path(workdir)
        extras = release_files(task)
        for extra in extras:
            shutil.copy(extra, work / extra.name)
        # Sandboxed, the kernel sees the student tree, the data (both read-only) and a private
        # copy of this working folder, nothing else of the instructor's; without the sandbox
        # it runs here, as the grader's user, with the same environment on host paths.
        decoded = machine_cache(task.data)  # MNIST decoded once per machine, mapped by the kernels
        env = dict(kernel_env(task.tree, task.data, str(work), decoded), PATH=os.environ.get("PATH", ""))
        sandbox = task_sandbox(task) if task.sandbox else None
        log = out / "logs" / f"{task.student}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        seconds, retried = 0.0, None
        # This process's kernel started ahead for this submission, if any; and, when more
        # submissions are coming, the next one's, started now, while this one runs.
        spare = spare_kernel() if sandbox is not None else None
        started = spare.take() if spare is not None else None
        slot = started.slot if started is not None else 0
        if spare is not None and task.prestart:
            spare.start(Path(task.kernels), sandbox, extras, slot=1 - slot)
        try:
            execution = run_graded_notebook(nb, graded, work, Path(task.kernels), env, limits, log,
                                            list(task.ports) if task.ports else None, sandbox, after_graded=after_graded,
                                            started=started, slot=slot, skip=skipped)
        except KernelStartError as error:
            status = Status.ERROR
            notes.append(str(error))
        else:
            seconds, retried = round(execution.seconds, 3), execution.retried
            # The student's own cells only: a locked cell of the course that runs long on a loaded
            # machine says nothing about the submission.
            notes += [f"cell {i} did not finish within the time limit"
                      for i, state in sorted(execution.status.items()) if state == "timeout" and i in rebuilt.student_cells]
            notes += [f"cell {i} sent a message over the {MESSAGE_LIMIT // 1024**2} MB limit: it was dropped unread with "
                      f"the rest of that cell's output" for i in execution.cut]
            if execution.stopped:
                notes.append(execution.stopped)
            if execution.leftovers:
                notes.append(f"{execution.leftovers} process(es) of the submission outlived its kernel and were killed")
    cells = []
    defined = defining_cells(source_nb)
    for index, cell in enumerate(nb.cells):
        if index not in graded:
            continue
        gid, points = grade_id(cell), float(nbgrader_meta(cell).get("points", 0))
        cell_verdicts = verdicts.get(index)
        if cell_verdicts is None:
            cell_judge = judge.cells.get(gid)
            why = notes[-1] if status is Status.ERROR and notes else "the notebook stopped before this test"
            cell_verdicts = ([CheckVerdict(c.name, c.weight, False, "not_run", why) for c in cell_judge.checks]
                             if cell_judge else [CheckVerdict("judge", 1.0, False, "not_run", f"no judge for {gid}")])
        cells.append(CellResult.from_verdicts(gid, points, explain_missing(cell_verdicts, nb, defined)))
    if not task.sandbox:
        notes.append(NO_SANDBOX_NOTE)
    result = Result(task.student, task.assignment, status, cells, flags, notes, seconds, retried, task.key,
                    sandboxed=task.sandbox, judge_seconds=round(judging[0], 3))
    result = with_late_policy(task, result)
    write_result(task, result, nb, release_nb)
    return result
