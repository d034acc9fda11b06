"""nbgrader's exchange inside the course tree (``build/exchange/``, ``Course.exchange``): the
instructor's side of the loop, each step a thin call of nbgrader's own ``NbGraderAPI`` (the
formgrader's backend, which runs nbgrader's exchange apps).

    release_assignment   the student release into the exchange's outbound/ (nbgrader release_assignment)
    (students)           nbgrader fetch_assignment, submit (the Assignments tab does the same)
    collect              the latest submissions into submitted/<student>/<assignment>/, with
                         nbgrader's timestamp.txt (nbgrader collect --update)
    (instructor)         course-lib-grade autograde ASSIGNMENT (reads submitted/)
    release_feedback     the pipeline's feedback page of each collected, graded submission where
                         nbgrader's generate_feedback puts it, then nbgrader release_feedback
    (students)           nbgrader fetch_feedback

``student_config`` is the nbgrader_config.py a student's Jupyter needs to reach this exchange.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.grading.course import COURSE_ID, Course, use_tool_env


class ExchangeError(RuntimeError):
    """An nbgrader exchange step failed; carries nbgrader's own log."""


def nbgrader_config(course: Course):
    """nbgrader's configuration of ``course``'s folders, gradebook and exchange (what the
    project's nbgrader_config.py sets for the repository's course)."""
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.source_directory = str(course.source)
    config.CourseDirectory.release_directory = str(course.release)
    config.CourseDirectory.submitted_directory = str(course.submitted)
    config.CourseDirectory.autograded_directory = str(course.nbgrader_dir / "autograded")
    config.CourseDirectory.feedback_directory = str(course.feedback)
    config.CourseDirectory.db_url = course.db_url
    config.Exchange.root = str(course.exchange)
    config.Exchange.path_includes_course = False
    config.ExchangeReleaseAssignment.force = True  # a release made again replaces the one in the exchange
    return config


def run_step(course: Course, step: str, assignment: str, **options) -> str:
    """One of ``NbGraderAPI``'s steps (``release_assignment``, ``collect``, ``release_feedback``)
    on ``course``; returns nbgrader's log, raises ExchangeError with it on failure."""
    import logging

    from nbgrader.apps.api import NbGraderAPI

    use_tool_env()  # the gradebook's migrations call alembic
    api = NbGraderAPI(config=nbgrader_config(course))
    api.log.setLevel(logging.INFO)
    outcome = getattr(api, step)(assignment, **options)
    log = outcome.get("log", "")
    if not outcome.get("success"):
        raise ExchangeError(f"nbgrader {step} {assignment} failed:\n{log[-3000:]}{outcome.get('error', '')[-2000:]}")
    return log


def release_assignment(course: Course, assignment: str) -> Path:
    """Put the (generated) student release of ``assignment`` into the exchange; returns its folder."""
    course.release_notebook(assignment)  # says to run `release` first when it is not generated
    run_step(course, "release_assignment", assignment)
    return course.exchange / COURSE_ID / "outbound" / assignment


@dataclass(frozen=True)
class Collected:
    student: str
    timestamp: str  # nbgrader's timestamp.txt


def collected(course: Course, assignment: str) -> list[Collected]:
    """The submissions of ``assignment`` in submitted/, with their nbgrader time."""
    rows = []
    for folder in sorted(course.submitted.glob(f"*/{assignment}")):
        stamp = folder / "timestamp.txt"
        rows.append(Collected(folder.parent.name, stamp.read_text().strip() if stamp.is_file() else ""))
    return rows


def collect(course: Course, assignment: str) -> list[Collected]:
    """Collect every student's latest submission from the exchange (a newer one replaces an
    older one already collected); returns what submitted/ holds then."""
    if not (course.exchange / COURSE_ID / "inbound").is_dir():
        raise ExchangeError(f"no exchange at {course.exchange}: release the assignment into it first "
                            f"(course-lib-grade exchange release {assignment})")
    run_step(course, "collect", assignment, update=True)
    return collected(course, assignment)


@dataclass
class FeedbackRelease:
    released: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # student -> why no feedback was released


def place_feedback(course: Course, assignment: str, out: Path | None = None) -> FeedbackRelease:
    """nbgrader's generate_feedback step with the pipeline's pages: for each collected
    submission graded as collected, its feedback page as ``feedback/<student>/<assignment>/
    <notebook>.html`` with the submission's timestamp.txt and submission_secret.txt (which
    nbgrader's release and fetch of feedback key on). Every other student is skipped with why."""
    from course_lib.grading.autograde import submission_time
    from course_lib.grading.record import read_result
    from course_lib.grading.submissions import scan_submissions

    out = Path(out) if out is not None else course.build / "grading" / assignment
    report = FeedbackRelease()
    if not course.submitted.is_dir():
        return report
    scan = scan_submissions(course.submitted, assignment) if any(course.submitted.glob(f"*/{assignment}/*.ipynb")) else None
    submissions = {s.student: s for s in scan.submissions} if scan else {}
    for entry in collected(course, assignment):
        student = entry.student
        submission = submissions.get(student)
        result = read_result(out, student)
        page = out / "feedback" / f"{student}.html"
        secret = course.submitted / student / assignment / "submission_secret.txt"
        if submission is None:
            report.skipped[student] = "the collected submission holds no notebook"
        elif result is None or not page.is_file():
            report.skipped[student] = f"not graded yet (no result in {out}): run course-lib-grade autograde {assignment}"
        elif result.submitted_at != submission_time(submission):
            report.skipped[student] = (f"the graded submission ({result.submitted_at}) is not the collected one "
                                       f"({submission_time(submission)}): run autograde again")
        elif not secret.is_file():
            report.skipped[student] = "no submission_secret.txt: the submission did not come through the exchange"
        else:
            target = course.feedback / student / assignment
            target.mkdir(parents=True, exist_ok=True)
            for old in target.glob("*.html"):
                old.unlink()
            shutil.copyfile(page, target / f"{submission.path.stem}.html")
            shutil.copyfile(submission.path.parent / "timestamp.txt", target / "timestamp.txt")
            shutil.copyfile(secret, target / "submission_secret.txt")
            report.released.append(student)
    return report


def release_feedback(course: Course, assignment: str, out: Path | None = None) -> FeedbackRelease:
    """Place the pipeline's feedback pages (``place_feedback``) and release them into the
    exchange, where each student's ``nbgrader fetch_feedback`` finds their own."""
    report = place_feedback(course, assignment, out)
    if report.released:
        run_step(course, "release_feedback", assignment)
    return report


def student_config(course: Course, student: str | None = None) -> str:
    """The nbgrader_config.py of a student's Jupyter (their home or the folder they start
    JupyterLab in): this course's exchange; ``student`` sets the student id where students
    share one system user (otherwise nbgrader takes the user name)."""
    lines = ['"""nbgrader for a student of course_lib: the course\'s exchange."""',
             "c = get_config()  # noqa: F821",
             f"c.CourseDirectory.course_id = {COURSE_ID!r}",
             f"c.Exchange.root = {str(course.exchange.resolve())!r}",
             "c.Exchange.path_includes_course = False"]
    if student:
        lines.append(f"c.CourseDirectory.student_id = {student!r}")
    return "\n".join(lines) + "\n"
