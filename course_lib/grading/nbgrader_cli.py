"""``python -m course_lib.grading.nbgrader_cli ARGS``: nbgrader's own command line (the same
commands, options and output as ``python -m nbgrader ARGS``), started through
``course_lib.grading`` so that it skips the slow optional import its package notes, and
reading the alembic revision of a new gradebook in this process: nbgrader runs the ``alembic``
command in a subprocess for it (a second Python start, 2 to 8 s of a release)."""
import course_lib.grading  # noqa: F401  (marks rfc3987_syntax absent before nbgrader imports jsonschema)

if __name__ == "__main__":
    import nbgrader.api
    from nbgrader.apps.nbgraderapp import main

    from course_lib.grading.gradebook import alembic_head

    nbgrader.api.get_alembic_version = alembic_head
    main()
