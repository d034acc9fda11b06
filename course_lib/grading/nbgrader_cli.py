"""``python -m course_lib.grading.nbgrader_cli ARGS``: nbgrader's own command line (the same
commands, options and output as ``python -m nbgrader ARGS``), started through
``course_lib.grading`` so that it skips the slow optional import its package notes, and
reading the alembic revision of a new gradebook in this process: nbgrader runs the ``alembic``
command in a subprocess for it (a second Python start, 2 to 8 s of a release).

``--each A,B,C ARGS`` runs the command once per assignment in this one process, ``{}`` in
ARGS standing for the assignment: a release of the course's six notebooks started Python and
imported nbgrader (3 s) six times. Each run ends with a line ``EACH_MARK <assignment> <exit
code>`` on stderr, so the caller can tell which one failed; the process exits non-zero if any
did."""
import course_lib.grading  # noqa: F401  (marks rfc3987_syntax absent before nbgrader imports jsonschema)

EACH_MARK = "course_lib.nbgrader_cli:"


def run_each(assignments: list[str], args: list[str]) -> int:
    """nbgrader's command ``args`` once per assignment (``{}`` replaced), each with fresh app
    instances; the number of runs that failed."""
    import sys

    from nbgrader.apps.nbgraderapp import NbGraderApp
    from traitlets.config import SingletonConfigurable

    failed = 0
    for assignment in assignments:
        # nbgrader's apps are singletons: clear every one a previous run made
        for cls in [NbGraderApp, *_subclasses(SingletonConfigurable)]:
            cls.clear_instance()
        try:
            NbGraderApp.launch_instance(argv=[a.replace("{}", assignment) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        failed += code != 0
        sys.stdout.flush()
        print(f"{EACH_MARK} {assignment} {code}", file=sys.stderr, flush=True)
    return failed


def _subclasses(cls) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


if __name__ == "__main__":
    import sys

    import nbgrader.api
    from nbgrader.apps.nbgraderapp import main

    from course_lib.grading.gradebook import alembic_head

    nbgrader.api.get_alembic_version = alembic_head
    if sys.argv[1:2] == ["--each"]:
        sys.exit(1 if run_each(sys.argv[2].split(","), sys.argv[3:]) else 0)
    main()
