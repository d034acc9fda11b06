"""The grading pipeline: the `?`-blank student release, the student bundle, the autograde of
submissions in an OS sandbox with verdicts decided by the grader, feedback, reports and the
student's ``validate``.

Grading one submission (``pipeline``): ``read`` (bounded by ``bounds``) -> ``restore`` ->
``execute`` in the ``sandbox`` (the kernel started by ``kernel_main``; the ``course_lib.probe``
answers after each graded cell) -> ``judge`` (with ``standins``, the assignment's
``course_lib/judges/<assignment>.py``) -> ``record``; typed records in ``records``.
Around it: ``blanks``, ``release``, ``bundle``, ``submissions``, ``scan`` (notes for the
instructor), ``messages``, ``feedback``, ``report``, ``autograde`` (parallel, resumable runs),
``validate`` and ``cli``. Nothing here holds solutions or hidden tests.
"""

import sys as _sys

# jsonschema (imported by nbformat and nbgrader) imports the optional ``rfc3987_syntax`` when it
# is installed (jupyter-events pulls it in) only to check the "iri" string format, which no
# notebook schema uses and nbformat never asks for; that import builds some thirty Earley
# parsers, 1.5 to 4 s of CPU in every grader process, pool worker and nbgrader command.
# Marked absent before anything here imports jsonschema, jsonschema simply skips that format.
_sys.modules.setdefault("rfc3987_syntax", None)
