"""The sandbox's processes: its own pid namespace (killing its "parent" kills nothing of the
grader), limits (a fork bomb fails inside), and nothing of it alive after the run (programs
started in the background, a loop ignoring SIGINT and SIGTERM, a kernel closing its sockets)."""
from __future__ import annotations

import pytest

from sandbox_helpers import MARK, live_processes, outside_uids


def test_no_process_of_the_run_outlives_it(attack):
    """Neither the programs started in the background nor the fork bomb's processes (both
    marked), nor any process of the attack kernels' uids (other runs of the suite may be
    grading at the same time, under uids of their own)."""
    import os

    assert attack.printed("atk_survivors").get("popen") == "started"  # it really started them
    uids = outside_uids(attack.out)
    if os.geteuid() == 0:
        assert len(uids) >= 2, uids  # one per grading worker
    leftovers = [p for p in live_processes() if MARK in p[2] or (os.geteuid() == 0 and p[1] in uids)]
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
