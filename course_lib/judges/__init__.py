"""The instructor's judges, one module per assignment (``JUDGE``): the named, weighted checks
of every graded cell, run in the grader's process. Like ``course_lib.solutions``, never part of
the student bundle nor of the grading sandbox."""
