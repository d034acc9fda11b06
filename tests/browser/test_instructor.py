"""An instructor in JupyterLab: example submissions of the layers assignment are graded by the
pipeline (its gradebook), then the formgrader, opened from nbgrader's menu, lists the assignment
and every graded submission with the score the pipeline gave it."""
from __future__ import annotations

import shutil

import pytest

from .labtools import ROOT, expect

pytestmark = pytest.mark.browser

EXAMPLES = ROOT / "autograde_tests" / "examples" / "layers"
# A class in small: full marks, nothing, partial credit of several kinds, a file that is not a
# notebook, a restored test cell and a kernel that exits. (Every example's score is asserted by
# autograde_tests; what is tested here is that the formgrader shows the pipeline's scores.)
STUDENTS = ("reference", "untouched", "real_student", "mistake_cce_no_clip", "family_dense_outer",
            "adv_invalid_json", "adv_deleted_test_cell", "adv_os_exit")


@pytest.fixture(scope="module")
def graded(layers_course):
    """The STUDENTS' layers examples collected into the temporary course as nbgrader collects
    submissions (``submitted/<student>/layers/layers.ipynb``), then graded by the pipeline
    into the course's gradebook; returns the pipeline's results by student."""
    from course_lib.grading.autograde import Settings, autograde

    examples = [EXAMPLES / f"{student}.ipynb" for student in STUDENTS]
    missing = [path.name for path in examples if not path.is_file()]
    if missing:
        pytest.fail(f"example submissions missing from {EXAMPLES}: {missing}")
    submitted = layers_course.course.nbgrader_dir / "submitted"
    for example in examples:
        folder = submitted / example.stem / "layers"
        folder.mkdir(parents=True)
        shutil.copy(example, folder / "layers.ipynb")
    results = autograde(layers_course.course, "layers", submitted, settings=Settings(jobs=2), progress=False)
    return {result.student: result for result in results}


@pytest.fixture(scope="module")
def instructor_server(layers_course, graded, lab_server_factory):
    """JupyterLab started in the course folder, so that nbgrader reads its nbgrader_config.py."""
    server = lab_server_factory(layers_course.root, "instructor")
    yield server
    server.stop()


def score_text(value: float) -> str:
    """A score as the formgrader prints it (rounded to 2 decimals, no trailing zeros)."""
    return f"{round(value, 2):g}"


def open_formgrader(page, server, steps):
    """JupyterLab, then Nbgrader > Formgrader; returns the formgrader's frame."""
    with steps("open JupyterLab as the instructor"):
        page.goto(server.url("/lab?reset"))
        menu = page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")
        expect(menu).to_be_visible()
    with steps("open the formgrader from the Nbgrader menu"):
        menu.click()
        page.locator(".lm-Menu-itemLabel", has_text="Formgrader").first.click()
        frame = page.frame_locator("#formgrader iframe")
        expect(frame.locator("h1", has_text="Manage Assignments")).to_be_visible()
    return frame


def open_submissions(frame, steps, count: int):
    """From Manage Assignments: the layers row, then its submissions; returns the rows."""
    with steps("see the layers assignment"):
        row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text="layers"))
        expect(row).to_have_count(1)
        expect(row.locator("td.num-submissions")).to_have_text(str(count))
    with steps("open its submissions"):
        row.locator("td.num-submissions a").click()
        expect(frame.locator("h1", has_text="Manage Submissions")).to_be_visible()
        rows = frame.locator("#main-table tr", has=frame.locator("td.student-id"))
        expect(rows).to_have_count(count)
    return rows


def read_rows(rows) -> dict[str, tuple[str, str]]:
    """Student id -> (status, score) as the table shows them."""
    shown = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        shown[row.locator("td.student-id").inner_text().strip()] = (
            row.locator("td.status").inner_text().strip(), row.locator("td.score").inner_text().strip())
    return shown


def test_formgrader_lists_the_assignment_and_its_submissions(instructor_server, graded, page, steps):
    assert graded["reference"].score == graded["reference"].max_score > 0, "the reference lost points"
    assert graded["untouched"].score == 0, "the untouched release got points"
    frame = open_formgrader(page, instructor_server, steps)
    rows = open_submissions(frame, steps, len(graded))
    with steps("every collected example is listed"):
        assert set(read_rows(rows)) == set(graded)


def test_formgrader_shows_the_pipeline_scores(instructor_server, graded, page, steps):
    frame = open_formgrader(page, instructor_server, steps)
    rows = open_submissions(frame, steps, len(graded))
    unreadable = {student for student, r in graded.items() if r.status.value == "invalid"}
    with steps("every readable submission is graded with the pipeline's score"):
        # A file that is not a notebook has nothing to show: it is left for the instructor, without a score.
        expect(rows.locator("td.status", has_text="needs autograding")).to_have_count(len(unreadable))
        shown = read_rows(rows)
        expected = {student: ("needs autograding", "") if student in unreadable else
                    ("graded", f"{score_text(r.score)} / {score_text(r.max_score)}")
                    for student, r in graded.items()}
        assert shown == expected
