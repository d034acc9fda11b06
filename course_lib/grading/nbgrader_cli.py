"""``python -m course_lib.grading.nbgrader_cli ARGS``: nbgrader's own command line, started
through ``course_lib.grading`` so that it skips the slow optional import its package notes
(the same commands, options and output as ``python -m nbgrader ARGS``)."""
import course_lib.grading  # noqa: F401  (marks rfc3987_syntax absent before nbgrader imports jsonschema)
from nbgrader.apps.nbgraderapp import main

if __name__ == "__main__":
    main()
