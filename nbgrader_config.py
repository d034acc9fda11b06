"""nbgrader configuration of the course (read by plain `nbgrader` commands run from here).

notebooks/ is the source directory; everything nbgrader writes goes under build/nbgrader/
(git-ignored), nbgrader's exchange (where release_assignment puts the release, students fetch and
submit, and release_feedback puts the feedback) under build/exchange/. The release uses course_lib's BlankSolutions, which turns `# BLANK:` markers
into the lecture's `?` blanks; `nbgrader generate_feedback` uses RedactHiddenTests, which keeps
the hidden tests and their tracebacks out of the feedback (a failure shows its message only).
"""
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ComputeChecksums,
    GetGrades,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    SaveCells,
)

from course_lib.grading.feedback_redaction import RedactHiddenTests
from course_lib.grading.release import BlankSolutions

c = get_config()  # noqa: F821 (provided by nbgrader's config loader)

_root = os.path.dirname(os.path.abspath(__file__))
_build = os.path.join(_root, "build", "nbgrader")
os.makedirs(_build, exist_ok=True)  # sqlite needs the gradebook's folder

c.CourseDirectory.root = _root
c.CourseDirectory.course_id = "course_lib"  # course_lib.grading.course.COURSE_ID
c.CourseDirectory.source_directory = "notebooks"
c.CourseDirectory.release_directory = "build/nbgrader/release"
c.CourseDirectory.submitted_directory = "build/nbgrader/submitted"
c.CourseDirectory.autograded_directory = "build/nbgrader/autograded"
c.CourseDirectory.feedback_directory = "build/nbgrader/feedback"
c.CourseDirectory.solution_directory = "build/nbgrader/solution"
c.CourseDirectory.source_with_tests_directory = "build/nbgrader/source_with_tests"
# The gradebook: $COURSE_LIB_GRADEBOOK (a database URL, as `course-lib-grade --db` takes), else
# the sqlite file under build/; the formgrader and plain nbgrader then read what the grader writes.
c.CourseDirectory.db_url = os.environ.get("COURSE_LIB_GRADEBOOK") or "sqlite:///" + os.path.join(_build, "gradebook.db")
# The exchange inside the course tree, not the system folder /usr/local/share/nbgrader/exchange
# (made here so that the formgrader finds it before the first release; `nbgrader
# release_assignment` then opens it to the students as nbgrader does: 0777 with the sticky bit).
c.Exchange.root = os.path.join(_root, "build", "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
c.Exchange.path_includes_course = False  # students fetch into ./<assignment>/
# The late policy of course.toml (deadline, penalty per day) for plain `nbgrader autograde` too.
c.AssignLatePenalties.plugin_class = "course_lib.grading.late.CoursePenalty"
c.CoursePenalty.policy_file = os.path.join(_root, "course.toml")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    BlankSolutions,
    ClearOutput,
    CheckCellMetadata,
    ComputeChecksums,
    SaveCells,
    ClearHiddenTests,
    ClearMarkScheme,
    ComputeChecksums,
    CheckCellMetadata,
]

# nbgrader's own feedback (GetGrades, CSSHTMLHeaderPreprocessor) shows the hidden tests and the
# tracebacks through them: remove both after the grades are read.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    RedactHiddenTests,
    CSSHTMLHeaderPreprocessor,
]

# Plain `nbgrader autograde` (the benchmark's peer): a per-cell limit that fits the course.
c.Execute.timeout = 20
c.Execute.interrupt_on_timeout = True
