"""No classmate's score depends on another's submission: the victims graded in the attack run
keep their exact scores, the earlier run's files stay byte-identical, each attacker gets 0 in
its result and in the gradebook; and a worker that dies (possible only without the sandbox)
costs only the submission that killed it."""
from __future__ import annotations

import json
import shutil

import pytest

from nbgrader.api import Gradebook

from course_lib.grading.autograde import Settings, autograde
from course_lib.grading.course import Course, REPO_ROOT
from course_lib.grading.release import release

from sandbox_helpers import EXAMPLES, HERE, attack_notebook


def test_victims_keep_their_exact_scores_and_attackers_get_nothing(attack):
    expected = json.loads((EXAMPLES / "expected.json").read_text())
    for student, example in (("reference", "reference"), ("mistake_cce_no_clip", "mistake_cce_no_clip"),
                             ("prior_reference", "reference"), ("prior_mistake", "mistake_softmax_no_max")):
        got = {c.grade_id: c.score for c in attack.by_student[student].cells}
        assert got == expected[example]["scores"], student
        assert attack.by_student[student].sandboxed is True
    assert [r.score for r in attack.first] == [attack.by_student[r.student].score for r in attack.first]
    with Gradebook(attack.course.db_url) as gb:
        for result in attack.results:
            for cell in result.cells:
                grade = gb.find_grade(cell.grade_id, "tiny", "tiny", result.student)
                assert grade.auto_score == cell.score, (result.student, cell.grade_id)
            if result.student.startswith("atk_"):
                assert result.score == 0, result.student


def test_a_worker_killed_by_a_submission_costs_only_that_submission(tmp_path, capsys):
    """Without the sandbox a kernel can kill its grading worker; the pool's other submissions
    are graded again in pools of their own and keep their scores."""
    course = Course(root=REPO_ROOT, source=HERE / "fixture_course", build=tmp_path / "build", judges=HERE / "fixture_judges")
    release(course, "tiny")
    folder = tmp_path / "submitted"
    folder.mkdir()
    for student in ("reference", "mistake_cce_no_clip"):
        shutil.copy(EXAMPLES / f"{student}.ipynb", folder / f"{student}.ipynb")
    (folder / "killer.ipynb").write_text(json.dumps(attack_notebook("import os\nos.kill(os.getppid(), 9)")))
    results = autograde(course, "tiny", folder, out=tmp_path / "out", progress=False,
                        settings=Settings(jobs=2, cell_timeout=5, budget=20, sandbox=False))
    by = {r.student: r for r in results}
    expected = json.loads((EXAMPLES / "expected.json").read_text())
    assert by["reference"].score == 6
    assert by["mistake_cce_no_clip"].score == pytest.approx(sum(expected["mistake_cce_no_clip"]["scores"].values()))
    assert by["killer"].status.value == "error" and "crashed twice" in by["killer"].notes[0]
    assert all(r.sandboxed is False and any("WITHOUT the OS sandbox" in n for n in r.notes) for r in results)
    assert "WITHOUT the OS sandbox" in capsys.readouterr().err
    assert "WITHOUT the OS sandbox" in (tmp_path / "out" / "summary" / "summary.txt").read_text()
