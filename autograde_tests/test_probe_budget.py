"""The notebook's time budget covers the probes too. Each probe round had a whole cell's time limit
of its own, outside the budget: a submission whose functions stall only when the grader's probes
call them (they can tell, from the execute request) kept a grading worker busy for up to a cell's
limit per round, and a cell's judge may need several rounds, whatever the budget. Real nbgrader, a real
sandboxed kernel."""
from __future__ import annotations

import re

import nbformat

from course_lib.grading.autograde import Settings, autograde
from course_lib.grading.course import is_solution, read_notebook
from course_lib.grading.release import release

from grading_fixtures import EXAMPLES, course_for

STALL = '''import time as _time

_stalled = set()


def _stall_when_probed():
    """When the grader's probe is the caller, sleep once per probe round, just under the limit."""
    parent = get_ipython().kernel.get_parent()
    if "course_lib_probe" in parent.get("content", {}) and parent["header"]["msg_id"] not in _stalled:
        _stalled.add(parent["header"]["msg_id"])
        _time.sleep(18)
'''


def test_probes_stalling_past_the_time_limit_stop_at_the_notebooks_budget(tmp_path):
    course = course_for("layers", tmp_path / "build")
    release(course, "layers")
    nb = read_notebook(EXAMPLES / "layers" / "reference.ipynb")
    for cell in nb.cells:
        if is_solution(cell):
            cell.source = re.sub(r"^(\s*)(def \w+\(.*\):)$", r"\1\2\n\1    _stall_when_probed()", cell.source, flags=re.M)
    nb.cells.insert(1, nbformat.v4.new_code_cell(STALL))
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    nbformat.write(nb, str(submitted / "staller.ipynb"))
    budget = 10
    [result] = autograde(course, "layers", submitted, out=tmp_path / "out",
                         settings=Settings(jobs=1, cell_timeout=20, budget=budget), progress=False)
    assert result.seconds <= budget + 4, result.seconds
    assert any("time budget" in note for note in result.notes), (result.seconds, result.notes, [(c.grade_id, c.message[:80]) for c in result.cells])
