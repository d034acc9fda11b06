"""The release step: plain nbgrader with the project's config and the BlankSolutions preprocessor."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from course_lib.grading.blanks import fails_loudly
from course_lib.grading.course import REPO_ROOT, is_solution, tool_env
from course_lib.grading.release import check_release



def test_release_turns_markers_into_loud_blanks(tiny_run):
    released = nbformat.read(str(tiny_run.course.release_notebook("tiny")), as_version=4)
    answers = {c.metadata.nbgrader.grade_id: c.source for c in released.cells if is_solution(c)}
    assert answers["cce"].rstrip().endswith("    return(?)")
    assert "    shifted = ?\n    e = np.exp(?)\n    return(?)" in answers["softmax"]
    assert "raise NotImplementedError()" in answers["mean_accuracy"]
    for name in ("cce", "softmax"):
        assert fails_loudly(answers[name]), name
    assert check_release(tiny_run.course.release_notebook("tiny")) == []
    text = tiny_run.course.release_notebook("tiny").read_text()
    for secret in ("np.clip(yhat, EPS", "HIDDEN", "expected_cce_hidden", "np.argmax(yhat, axis=0) =="):
        assert secret not in text


@pytest.mark.skipif(not (REPO_ROOT / "notebooks" / "layers" / "layers.ipynb").is_file(), reason="layers notebook not there")
def test_plain_nbgrader_generate_assignment_works_from_the_repo_root(tmp_path):
    """`nbgrader generate_assignment layers` with only the project's nbgrader_config.py
    (outputs redirected to tmp_path so the test leaves the repository alone)."""
    command = [sys.executable, "-m", "nbgrader", "generate_assignment", "layers", "--force",
               f"--CourseDirectory.release_directory={tmp_path / 'release'}",
               f"--CourseDirectory.db_url=sqlite:///{tmp_path / 'gradebook.db'}"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=tool_env())
    assert done.returncode == 0, done.stderr
    released = tmp_path / "release" / "layers" / "layers.ipynb"
    assert check_release(released) == []
    nb = nbformat.read(str(released), as_version=4)
    assert any("?" in c.source for c in nb.cells if is_solution(c))


@pytest.mark.skipif(not (REPO_ROOT / "notebooks" / "layers" / "layers.ipynb").is_file(), reason="layers notebook not there")
def test_one_process_releases_exactly_what_plain_nbgrader_releases_one_by_one(tmp_path):
    """``release_all`` runs nbgrader once for every assignment (one Python start and nbgrader
    import, not one each); the released notebooks are byte for byte those of plain
    ``nbgrader generate_assignment``, run once per assignment."""
    from course_lib.grading.course import Course
    from course_lib.grading.release import release_all

    assignments = ["softmax_toy", "layers", "symbolic_loss"]
    course = Course(build=tmp_path / "batch")
    folders = release_all(course, assignments)
    assert [f.name for f in folders] == assignments
    for assignment in assignments:
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force", "--create",
                   f"--CourseDirectory.release_directory={tmp_path / 'plain'}",
                   f"--CourseDirectory.db_url=sqlite:///{tmp_path / 'plain.db'}"]
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=tool_env())
        assert done.returncode == 0, done.stderr
        plain = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain" / assignment).rglob("*") if p.is_file())
        batch = sorted(p.relative_to(folders[0].parent) for p in (folders[0].parent / assignment).rglob("*") if p.is_file())
        assert plain == batch
        for name in plain:
            assert (tmp_path / "plain" / name).read_bytes() == (folders[0].parent / name).read_bytes(), name


def test_one_process_release_names_the_assignment_that_failed(tmp_path):
    """A source notebook nbgrader refuses (here: two cells with one grade id) fails the release
    and the error names that assignment, not the others released in the same process."""
    from course_lib.grading.course import Course
    from course_lib.grading.release import release_all

    source = tmp_path / "source"
    for name in ("good", "broken"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        if name == "broken":
            meta = {"grade": True, "grade_id": "same", "locked": True, "points": 1, "schema_version": 3, "solution": False}
            nb.cells = [nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": meta}) for _ in range(2)]
        (source / name).mkdir(parents=True)
        nbformat.write(nb, str(source / name / f"{name}.ipynb"))
    course = Course(root=tmp_path, source=source, build=tmp_path / "build")
    with pytest.raises(RuntimeError, match=r"generate_assignment broken failed"):
        release_all(course, ["good", "broken"])
    assert (course.release_notebook("good")).is_file()
