"""Everything the grader reads back is bounded: outputs of any kind (a 100 MB display, a 5 MB
one), a 1 GB write (the working folder's size), and the submission itself (a 30 MB answer
cell, a 4 MB one) before anything parses or scans it."""
from __future__ import annotations

import json
import resource
import time

import pytest

from course_lib.grading.autograde import prepare_sandbox
from course_lib.grading.pipeline import grade_submission
from course_lib.grading.records import CellLimits, Task
from course_lib.grading.bounds import CELL_SOURCE_LIMIT, NOTEBOOK_BYTES_LIMIT
from course_lib.grading.course import REPO_ROOT
from course_lib.grading.execute import NOTEBOOK_OUTPUT_LIMIT
from course_lib.grading.sandbox import SandboxLimits

from sandbox_helpers import attack_notebook


def test_a_huge_display_output_is_refused_before_it_is_read(attack):
    """ZMQ drops the kernel's output channel on a message over MESSAGE_LIMIT bytes without
    reading it: the grader keeps nothing of it (nor, then, of that kernel's later output)."""
    result = attack.by_student["atk_display"]
    assert result.status.value == "graded" and result.score == 0 and result.seconds < 40
    page = (attack.out / "autograded" / "atk_display" / "tiny.ipynb").read_text()
    assert len(page) < NOTEBOOK_OUTPUT_LIMIT + 100_000
    assert "yyyyyyyyyy" * 100 not in page and "zzzzzzzzzz" * 100 not in page


def test_a_1_gb_write_stops_at_the_working_folders_size(attack):
    got = attack.printed("atk_big_write")
    assert int(got["written"]) <= SandboxLimits().work_size
    assert any(k.startswith("error") for k in got)


@pytest.mark.parametrize("megabytes", [30, 4])
def test_a_huge_answer_cell_gets_zero_in_bounded_time_and_memory(attack, tmp_path, megabytes):
    nb = attack_notebook("x = 1\n" + "# " + "a" * (megabytes * 1024**2) + "\n")
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps(nb))
    tree, kernels = prepare_sandbox(tmp_path / "out", 2 * 1024**3)
    task = Task(student="big", assignment="tiny", path=str(path), source=str(attack.course.source_notebook("tiny")),
                release=str(attack.course.release_notebook("tiny")), judge=str(attack.course.judge("tiny")),
                out=str(tmp_path / "out"), tree=str(tree), kernels=str(kernels), data=str(REPO_ROOT / "data"),
                key="big", limits=CellLimits(cell_timeout=5, budget=20))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    result = grade_submission(task)
    assert time.monotonic() - start < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 300 * 1024  # KiB
    assert result.status.value == "too big" and result.score == 0
    limit = f"{NOTEBOOK_BYTES_LIMIT / 1024**2:.0f} MB" if megabytes * 1024**2 > NOTEBOOK_BYTES_LIMIT else str(CELL_SOURCE_LIMIT)
    assert "too big to grade" in result.notes[0] and limit in result.notes[0]
