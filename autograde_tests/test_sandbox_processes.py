"""The sandbox's processes: its own pid namespace (killing its "parent" kills nothing of the
grader), limits (a fork bomb fails inside), and nothing of it alive after the run (programs
started in the background, a loop ignoring SIGINT and SIGTERM, a kernel closing its sockets)."""
from __future__ import annotations

import pytest

from sandbox_helpers import MARK, live_processes


def test_no_process_of_the_run_outlives_it(attack):
    from course_lib.grading.sandbox import UID_BASE

    assert attack.printed("atk_survivors").get("popen") == "started"  # it really started them
    leftovers = [p for p in live_processes() if MARK in p[2] or p[1] >= UID_BASE]
    assert leftovers == []


def test_killing_the_parent_kills_nothing_of_the_grader(attack):
    assert attack.printed("atk_kill") == {"ppid": "sent", "init": "sent"}  # sent, inside the sandbox
    assert attack.by_student["atk_kill"].status.value == "graded"
    assert attack.by_student["reference"].score == 6


@pytest.mark.parametrize("student, note", [
    ("atk_fork_bomb", ""),
    ("atk_ignore_signals", "ignored the interrupt"),
    ("atk_close_sockets", "ignored the interrupt"),
])
def test_fork_bombs_and_deaf_kernels_cost_only_their_submission(attack, student, note):
    result = attack.by_student[student]
    assert result.status.value == "graded" and result.score == 0
    assert note in " ".join(result.notes + [v.message for c in result.cells for v in c.checks])
    assert result.seconds < 40  # the notebook's budget, not the cells' 600 s sleeps
