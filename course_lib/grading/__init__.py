"""The grading pipeline: the `?`-blank student release, the student bundle, a hardened
nbgrader autograde, feedback, reports and the student's ``validate``.

Modules: ``blanks`` (markers to blanks), ``release`` (nbgrader preprocessor and release
step), ``bundle`` (student folder and zip), ``submissions`` (finding submissions),
``restore`` (rebuilding a submission from the source), ``scan`` (forbidden access),
``sandbox`` (memory-capped kernel launcher), ``execute`` (running a notebook with
timeouts), ``scoring``, ``feedback``, ``autograde`` (parallel, resumable runs),
``report`` (CSV, table, histograms), ``validate`` and ``cli``.
Nothing here holds solutions or hidden tests: it reads them from ``notebooks/`` at run time.
"""
