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
