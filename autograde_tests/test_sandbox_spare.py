"""The next submission's kernel started while the current one runs (grading/spare.py), and a
worker's first one as the worker starts (``pipeline.warm_worker``): each submission still gets a
fresh sandboxed kernel of its own, none is wasted or left behind, and a kernel started for
another sandbox, or one that died while it waited, is never used."""
from __future__ import annotations

import copy
import os
import re
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

import course_lib.grading.execute as execute
import course_lib.grading.spare as spare_module
from course_lib.grading.autograde import prepare_sandbox
from course_lib.grading.course import REPO_ROOT, grade_id
from course_lib.grading.execute import Sandbox
from course_lib.grading.judge import load_judge
from course_lib.grading.pipeline import grade_submission, release_files, warm_worker
from course_lib.grading.records import CellLimits, Task
from course_lib.grading.sandbox import SandboxLimits, SandboxMounts
from course_lib.grading.spare import spare_kernel

from grading_fixtures import EXAMPLES

# A student who leaves something behind in the preloaded numpy, and looks for what a classmate
# graded before in the same process left there: a kernel that ran two submissions would show it.
POISON = ("\nimport numpy as _np\n"
          "print('CLASSMATE-WAS-HERE' if getattr(_np, '_left_behind', None) else 'FRESH-KERNEL', flush=True)\n"
          "_np._left_behind = True\n")


@pytest.fixture
def starts(monkeypatch):
    """Every kernel started, as (who, StartedKernel): "run" as usual, "spare" ahead."""
    started = []
    real = execute.start_sandboxed_kernel

    def recording(who):
        def start(*args, **kwargs):
            kernel = real(*args, **kwargs)
            started.append((who, kernel))
            return kernel
        return start

    monkeypatch.setattr(execute, "start_sandboxed_kernel", recording("run"))
    monkeypatch.setattr(spare_module, "start_sandboxed_kernel", recording("spare"))
    yield started
    spare_kernel().close()


def _tasks(tiny_run, tmp_path, prestart: list[bool], memory: int = 3 * 1024**3) -> list[Task]:
    nb = nbformat.read(str(EXAMPLES / "tiny" / "reference.ipynb"), as_version=4)
    poisoned = copy.deepcopy(nb)
    next(c for c in poisoned.cells if grade_id(c) == "cce").source += POISON
    path = tmp_path / "poisoned.ipynb"
    nbformat.write(poisoned, str(path))
    tree, kernels = prepare_sandbox(tmp_path / "out", memory)
    course = tiny_run.course
    return [Task(student=f"student{i}", assignment="tiny", path=str(path), source=str(course.source_notebook("tiny")),
                 release=str(course.release_notebook("tiny")), judge=str(course.judge("tiny")), out=str(tmp_path / "out"),
                 tree=str(tree), kernels=str(kernels), data=str(REPO_ROOT / "data"), key=f"spare-{i}",
                 limits=CellLimits(cell_timeout=20, budget=60), memory=memory, prestart=ahead)
            for i, ahead in enumerate(prestart)]


def _printed(tmp_path, student: str) -> str:
    nb = nbformat.read(str(tmp_path / "out" / "autograded" / student / "tiny.ipynb"), as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_each_submission_gets_its_own_kernel_started_while_the_one_before_ran(tiny_run, tmp_path, starts):
    from sandbox_helpers import require_bwrap

    require_bwrap()
    results = [grade_submission(task) for task in _tasks(tiny_run, tmp_path, [True, True, False])]
    assert [r.score for r in results] == [6, 6, 6], [r.notes for r in results]
    # Three kernels for three submissions: the first submission starts the second's ahead, then
    # its own as usual; the second starts the third's; the third, the last, none.
    assert [who for who, _ in starts] == ["spare", "run", "spare"]
    for student in ("student0", "student1", "student2"):
        printed = _printed(tmp_path, student)
        assert "FRESH-KERNEL" in printed and "CLASSMATE-WAS-HERE" not in printed, (student, printed)
    # Nothing waits or is left: no spare after the last submission, every socket folder removed.
    assert spare_kernel().kernel is None
    assert not any(kernel.scratch.exists() for _, kernel in starts)
    if os.geteuid() == 0:  # two kernels of one process alive at once never share an outside uid
        uids = [re.search(r"course_lib sandbox: uid (\d+)", (tmp_path / "out" / "logs" / f"student{i}.log").read_text())
                for i in range(3)]
        assert all(uids), "a submission's log lacks its kernel's uid line"
        uids = [int(m.group(1)) for m in uids]
        assert uids[0] != uids[1] and uids[1] != uids[2], uids


def test_a_kernel_started_for_another_sandbox_or_dead_is_never_used(tiny_run, tmp_path, starts):
    from sandbox_helpers import require_bwrap

    require_bwrap()
    task, = _tasks(tiny_run, tmp_path, [False])
    # Started ahead with other limits: closed, and the submission gets a kernel of its own.
    other = Sandbox(SandboxMounts(task.tree, task.data), SandboxLimits(memory=2 * 1024**3))
    spare_kernel().start(Path(task.kernels), other, release_files(task), slot=1)
    stale = spare_kernel().kernel
    assert stale is not None
    assert grade_submission(task).score == 6
    assert [who for who, _ in starts] == ["spare", "run"]
    assert not stale.scratch.exists()
    # Started for this sandbox but dead by the time the submission comes: not used either.
    starts.clear()
    mine = Sandbox(SandboxMounts(task.tree, task.data), SandboxLimits(memory=task.memory))
    spare_kernel().start(Path(task.kernels), mine, release_files(task), slot=1)
    dead = spare_kernel().kernel
    dead.km.provisioner.process.kill()
    dead.km.provisioner.process.wait()
    assert grade_submission(task).score == 6
    assert [who for who, _ in starts] == ["spare", "run"]
    assert not dead.scratch.exists()


def test_a_worker_starts_its_first_kernel_as_it_starts_and_its_first_submission_runs_in_it(tiny_run, tmp_path, starts):
    from sandbox_helpers import require_bwrap

    require_bwrap()
    task, = _tasks(tiny_run, tmp_path, [False])
    warm_worker(task, kernel=False)  # a run without kernels ahead starts none at the worker's start either
    assert starts == []
    warm_worker(task)
    assert [who for who, _ in starts] == ["spare"]
    first = starts[0][1]
    assert spare_kernel().kernel is first and first.slot == 0
    result = grade_submission(task)
    assert result.score == 6, result.notes
    assert [who for who, _ in starts] == ["spare"], "the first submission started a kernel of its own"
    assert spare_kernel().kernel is None and not first.scratch.exists()
    assert "FRESH-KERNEL" in _printed(tmp_path, "student0")


def test_a_worker_start_builds_what_the_mnist_judge_keeps_for_every_submission(tiny_run, tmp_path):
    task, = _tasks(tiny_run, tmp_path, [False])
    judge_path = REPO_ROOT / "course_lib" / "judges" / "mnist_softmax.py"
    warm = load_judge(judge_path).warm
    assert warm is not None
    warm.cache_clear()
    warm_worker(replace(task, judge=str(judge_path), sandbox=False), kernel=False)
    assert warm.cache_info().currsize == 1  # the selection problem and its reference tables, built
