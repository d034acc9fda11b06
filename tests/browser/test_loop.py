"""The whole course loop in JupyterLab, through the exchange inside the course tree: the
instructor releases from the formgrader; a student fetches in the Assignments tab, fills a
blank (with a mistake), validates, saves and submits; the instructor collects from the
formgrader and autogrades with the pipeline; the formgrader shows the student's name, their
submission time and the pipeline's score; the feedback is released and the student fetches it
in the Assignments tab and reads the named mistake. Two servers: the instructor's in the course
folder, the student's in their own folder (with the nbgrader_config.py of
``course-lib-grade exchange student-config``)."""
from __future__ import annotations

import html
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from .labtools import ROOT, cell, expect, open_notebook, save_notebook, set_cell_source

pytestmark = pytest.mark.browser

FIXTURE = ROOT / "autograde_tests" / "fixture_course"
FIXTURE_JUDGES = ROOT / "autograde_tests" / "fixture_judges"
STUDENT = "alice"
# A typical mistake in the `tiny` fixture's cce blank: the sum over the batch, not the mean.
CCE_SUM = "return -np.sum(y * np.log(np.clip(yhat, EPS, 1.0)))"


@pytest.fixture
def loop_course(tmp_path, lab_server_factory):
    """A course folder with the fixture notebook `tiny` generated (the `?` release) and a roster;
    returns (course, instructor server, student folder, student server)."""
    from course_lib.grading import exchange
    from course_lib.grading.course import Course
    from course_lib.grading.gradebook_io import import_roster
    from course_lib.grading.release import release

    root = tmp_path / "course"
    shutil.copytree(FIXTURE / "tiny", root / "notebooks" / "tiny")
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    course = Course(root=root, source=root / "notebooks", build=root / "build", judges=FIXTURE_JUDGES,
                    policy_file=root / "course.toml")
    release(course, "tiny")
    roster = tmp_path / "roster.csv"
    roster.write_text(f"id,first,last,email\n{STUDENT},Ada,Lovelace,ada@uni.edu\n")
    import_roster(course.db_url, roster)
    home = tmp_path / "home" / STUDENT
    home.mkdir(parents=True)
    (home / "nbgrader_config.py").write_text(exchange.student_config(course, STUDENT))
    with ThreadPoolExecutor(2) as pool:  # both servers start at once (each waits for its API)
        instructor, student = pool.map(lambda args: lab_server_factory(*args),
                                       [(root, "loop-instructor"), (home, "loop-student")])
    yield course, instructor, home, student
    instructor.stop()
    student.stop()


def formgrader(page, server):
    """The formgrader's frame, opened from the Nbgrader menu."""
    page.goto(server.url("/lab?reset"))
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Formgrader").first.click()
    frame = page.frame_locator("#formgrader iframe")
    expect(frame.locator("h1", has_text="Manage Assignments")).to_be_visible()
    # the exchange is the course's (build/exchange/), there from the start: no warning about it
    expect(frame.locator("#warning-exchange")).to_have_count(0)
    return frame


def assignments_tab(page, server=None):
    """The student's Assignments tab (Nbgrader > Assignment List), in JupyterLab loaded anew
    when ``server`` is given, else in the open one, refreshed."""
    if server is not None:
        page.goto(server.url("/lab?reset"))
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
    expect(page.locator("#released_assignments_list")).to_be_visible()
    if server is None:
        page.locator("#refresh_assignments_list").click()


def manage_assignments(frame):
    """The formgrader's Manage Assignments page again, from its own navigation (no reload of JupyterLab)."""
    frame.locator("a", has_text="Manage Assignments").first.click()
    expect(frame.locator("#main-table tr", has=frame.locator("td.name", has_text="tiny"))).to_have_count(1)


def formgrader_action(frame, column: str, success: str) -> None:
    """Press the tiny row's button in ``column`` (release, collect) and close the success dialog."""
    row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text="tiny"))
    row.locator(f"td.{column} a").click()
    dialog = frame.locator("#success-modal")
    expect(dialog).to_be_visible(timeout=120_000)
    expect(dialog).to_contain_text(success)
    dialog.locator("button", has_text="OK").first.click()
    expect(dialog).to_be_hidden()


def test_the_course_loop_in_jupyterlab(loop_course, browser, steps, page):
    from course_lib.grading.autograde import Settings, run_autograde
    from course_lib.grading.exchange import release_feedback

    course, instructor, home, student = loop_course
    with steps("the instructor releases tiny from the formgrader"):
        frame = formgrader(page, instructor)
        formgrader_action(frame, "release", "Successfully released 'tiny'")
        assert (course.exchange / "course_lib" / "outbound" / "tiny" / "tiny.ipynb").is_file()

    student_page = page.context.new_page()
    with steps("the student sees tiny in the Assignments tab"):
        steps.page = student_page
        assignments_tab(student_page, student)
        expect(student_page.locator("#released_assignments_list_error")).to_be_hidden()
        released = student_page.locator("#released_assignments_list .list_item", has_text="tiny")
        expect(released).to_have_count(1)
    with steps("the student fetches it"):
        released.locator("button", has_text="Fetch").click()
        fetched = student_page.locator("#fetched_assignments_list .list_item", has_text="tiny").first
        expect(fetched).to_be_visible()
        assert (home / "tiny" / "tiny.ipynb").is_file()
    with steps("the student fills the cce blank (with the sum, not the mean)"):
        panel = open_notebook(student_page, student, "tiny/tiny.ipynb")
        index = 2  # the cce cell of the fixture
        filled = cell(panel, index).locator(".cm-content").inner_text().replace("return(?)", CCE_SUM)
        set_cell_source(student_page, panel, index, filled)
        save_notebook(student_page, panel)
        assert CCE_SUM in (home / "tiny" / "tiny.ipynb").read_text()
    with steps("the student validates: the verdict names the failing cce"):
        student_page.locator(".validate-button").first.click()
        verdict = student_page.locator(".jp-Dialog #validation-message")
        verdict.wait_for(state="visible", timeout=120_000)
        text = verdict.inner_text()
        assert "The following cell failed:" in text and "cce on the 2-sample example" in text, text
        student_page.locator(".jp-Dialog .jp-mod-accept").click()
    with steps("the student submits in the Assignments tab"):
        assignments_tab(student_page)
        fetched = student_page.locator("#fetched_assignments_list .list_item", has_text="tiny").first
        fetched.locator("button", has_text="Submit").click()
        expect(student_page.locator("#submitted_assignments_list .list_item", has_text="tiny").first).to_be_visible()

    with steps("the instructor collects from the formgrader"):
        steps.page = page
        manage_assignments(frame)
        formgrader_action(frame, "collect", "Successfully collected submissions of 'tiny'")
        stamp = (course.submitted / STUDENT / "tiny" / "timestamp.txt").read_text().strip()
    with steps("the instructor autogrades the collected submissions with the pipeline"):
        run = run_autograde(course, "tiny", course.submitted, settings=Settings(jobs=1), progress=False)
        result = run.results[0]
        failed = [v for c in result.cells for v in c.checks if not v.passed]
        named = next(v for v in failed if v.name == "the 2-sample example")  # the judge's check of the mean
        assert "the mean over samples" in named.message, named.message
    with steps("the formgrader shows the name, the submission time and the pipeline's score"):
        manage_assignments(frame)
        row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text="tiny"))
        row.locator("td.num-submissions a").click()
        submission = frame.locator("#main-table tr", has=frame.locator("td.student-id", has_text=STUDENT))
        expect(submission.locator("td.student-name")).to_have_text("Lovelace, Ada")
        expect(submission.locator("td.timestamp")).to_contain_text(stamp[:16])  # e.g. 2026-11-30 10:41
        expect(submission.locator("td.score")).to_have_text(f"{round(result.score, 2):g} / {result.max_score:g}")
        expect(submission.locator("td.status")).to_have_text("graded")

    with steps("the feedback is released; the student fetches it in the Assignments tab"):
        assert release_feedback(course, "tiny").released == [STUDENT]
        steps.page = student_page
        assignments_tab(student_page)
        expect(student_page.locator("#submitted_assignments_list", has_text="feedback available to fetch")).to_be_visible()
        submitted = student_page.locator("#submitted_assignments_list .list_item", has_text="tiny").first
        submitted.locator("button", has_text="Fetch Feedback").click()
        expect(student_page.locator("#submitted_assignments_list", has_text="view feedback")).to_be_visible()
        pages = list((home / "tiny" / "feedback").glob("*/tiny.html"))
        assert len(pages) == 1, pages
    with steps("the student reads the named mistake in the feedback"):
        student_page.goto(student.url(f"/files/{pages[0].relative_to(home).as_posix()}"))
        body = student_page.locator("body")
        expect(body).to_contain_text(f"tiny: feedback for {STUDENT}")
        shown = body.inner_text()
        assert f"\u2718 {named.name}: " in shown
        assert re.sub(r"\s+", " ", html.unescape(named.message))[:60] in re.sub(r"\s+", " ", shown)
    steps.page = page
