"""``course-lib-grade``: the instructor's and the student's grading commands.

  release [ASSIGNMENT ...]       student release with `?` blanks (nbgrader generate_assignment)
  bundle [ASSIGNMENT ...]        release + the student folder and zip under build/student/
  autograde ASSIGNMENT [FOLDER]  grade a folder (default: the collected build/nbgrader/submitted/) of submissions (nbgrader layout or <student>.ipynb);
                                 every other name of the folder is a row (missing, not a notebook,
                                 bad id); a folder with no submission is an error (exit 2);
                                 --cluster tcp://HOST:PORT | local:N fans out on Dask,
                                 --db URL writes a PostgreSQL (or any nbgrader) gradebook
  roster CSV                     students (id,first,last,email) into the gradebook: names in the
                                 formgrader, roster students without a submission reported missing
  export [--out DIR]             the gradebook as CSVs for Canvas and Moodle, and per graded cell
  exchange release ASSIGNMENT    the student release into nbgrader's exchange (build/exchange/)
  exchange collect ASSIGNMENT    the students' latest submissions into build/nbgrader/submitted/
  exchange release-feedback ASSIGNMENT
                                 each graded submission's feedback page into the exchange
  exchange student-config [STUDENT]
                                 the nbgrader_config.py a student's Jupyter needs for the exchange
  validate NOTEBOOK              run a notebook; exit 1 if any test fails
  demo                           the whole workflow on the shipped example submissions
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from course_lib.grading.course import REPO_ROOT, Course

EXAMPLES = REPO_ROOT / "autograde_tests" / "examples"
FIXTURE = REPO_ROOT / "autograde_tests" / "fixture_course"
FIXTURE_JUDGES = REPO_ROOT / "autograde_tests" / "fixture_judges"


def _settings(args):
    from course_lib.grading.autograde import Settings

    return Settings(jobs=args.jobs, cell_timeout=args.cell_timeout, budget=args.budget, sandbox=not args.no_sandbox,
                    skip_demos=not getattr(args, "run_demos", False), cluster=getattr(args, "cluster", None))


def _add_limits(parser):
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: the core count)")
    parser.add_argument("--cell-timeout", type=float, default=20.0, help="seconds per cell (default 20)")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per notebook (default 120)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the kernels WITHOUT the OS sandbox (bubblewrap), as your own user: a submission can then "
                             "read and change your files; warns on every run and marks every result")
    parser.add_argument("--run-demos", action="store_true",
                        help="also run the notebook's demo-only cells, which no graded cell needs (skipped by default)")


def _add_cluster(parser):
    parser.add_argument("--cluster", default=None, metavar="ADDRESS",
                        help="grade on a Dask cluster: tcp://HOST:PORT of a running scheduler, or local:N for N local "
                             "worker processes (needs the cluster extra; each worker grades in the same sandbox)")


def _release_all(course: Course, assignments: list[str]) -> list[str]:
    from course_lib.grading.release import release_all

    assignments = assignments or course.assignments()
    for assignment, folder in zip(assignments, release_all(course, assignments)):
        print(f"released {assignment}: {folder}")
    return assignments


def _grade(course: Course, assignment: str, folder: Path, args, out: Path | None = None) -> None:
    from course_lib.grading.autograde import run_autograde
    from course_lib.grading.report import NO_SUBMISSION, grade_table, reused_text

    start = time.perf_counter()
    run = run_autograde(course, assignment, folder, out=out, settings=_settings(args))
    seconds = time.perf_counter() - start
    without = sum(r.status in NO_SUBMISSION for r in run.rows)
    print(f"\n{assignment}: {len(run.results)} submissions in {seconds:.1f} s ({args.jobs} workers): "
          f"{run.graded} graded, {reused_text(run.reused)} (unchanged submission and grader)"
          + (f"; {without} students without a gradable submission" if without else "") + "\n")
    print(grade_table(run.rows))
    if run.ignored:
        print(f"\nignored (hidden names): {', '.join(run.ignored)}")
    if run.stale:
        print(f"\noutputs of {len(run.stale)} students not graded in this run moved to {run.out / 'stale'}: {', '.join(run.stale)}")
    print(f"\n  scores CSV : {run.out / 'scores.csv'}")
    print(f"  feedback   : {run.out / 'feedback'}/<student>.html")
    print(f"  summary    : {run.out / 'summary'} (summary.txt, hist_<test>.png)")
    print(f"  gradebook  : {course.gradebook_label}\n")


def _require_gradebook(course: Course) -> None:
    path = course.gradebook_file_in_use
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"the gradebook {path} does not exist: run `course-lib-grade release` first")


def _course(args) -> Course:
    """The project's course, with the gradebook of ``--db`` or ``--gradebook`` if given."""
    gradebook, db = getattr(args, "gradebook", None), getattr(args, "db", None)
    if gradebook is not None and db is not None:
        raise ValueError("give the gradebook as --db URL or as --gradebook FILE, not both")
    course = dataclasses.replace(Course(), gradebook_file=gradebook.resolve() if gradebook else None, db=db)
    path = course.gradebook_file_in_use
    if args.command == "release" and path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-lib-grade", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    gradebook_help = "nbgrader's gradebook as an sqlite file (default: build/nbgrader/gradebook.db)"
    db_help = ("nbgrader's gradebook as a database URL, e.g. postgresql+psycopg://user@host:5432/course "
               "(default: $COURSE_LIB_GRADEBOOK, else the sqlite file)")
    p = commands.add_parser("release", help="student release with ? blanks")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--gradebook", type=Path, default=None, help=gradebook_help)
    p.add_argument("--db", default=None, metavar="URL", help=db_help)
    p = commands.add_parser("bundle", help="release and write the student folder and zip")
    p.add_argument("assignments", nargs="*")
    p = commands.add_parser("autograde", help="grade a folder of submissions")
    p.add_argument("assignment")
    p.add_argument("submissions", type=Path, nargs="?", default=None,
                   help="the submissions folder (default: what `exchange collect` collected, build/nbgrader/submitted)")
    p.add_argument("--out", type=Path, default=None,
                   help="where results, feedback, scores.csv and the summary go (default: build/grading/ASSIGNMENT)")
    p.add_argument("--gradebook", type=Path, default=None, help=gradebook_help)
    p.add_argument("--db", default=None, metavar="URL", help=db_help)
    _add_limits(p)
    _add_cluster(p)
    p = commands.add_parser("roster", help="import the students (CSV of id,first,last,email) into the gradebook")
    p.add_argument("csv", type=Path)
    p.add_argument("--gradebook", type=Path, default=None, help=gradebook_help)
    p.add_argument("--db", default=None, metavar="URL", help=db_help)
    p = commands.add_parser("export", help="the gradebook as CSVs for Canvas and Moodle, and per graded cell")
    p.add_argument("--out", type=Path, default=None, help="folder of the CSVs (default: build/grading/export)")
    p.add_argument("--gradebook", type=Path, default=None, help=gradebook_help)
    p.add_argument("--db", default=None, metavar="URL", help=db_help)
    p = commands.add_parser("exchange", help="nbgrader's exchange: release, collect, release feedback")
    p.add_argument("step", choices=["release", "collect", "release-feedback", "student-config"])
    p.add_argument("name", nargs="?", default=None, help="the assignment (the student's id for student-config)")
    p.add_argument("--out", type=Path, default=None,
                   help="release-feedback: autograde's output folder (default: build/grading/ASSIGNMENT)")
    p.add_argument("--gradebook", type=Path, default=None, help=gradebook_help)
    p.add_argument("--db", default=None, metavar="URL", help=db_help)
    p = commands.add_parser("validate", help="run a notebook; exit 1 if any test fails")
    p.add_argument("notebook", type=Path)
    p = commands.add_parser("demo", help="release, bundle and autograde the shipped examples")
    _add_limits(p)
    args = parser.parse_args(argv)
    course = _course(args)
    try:
        if args.command == "release":
            _release_all(course, args.assignments)
        elif args.command == "bundle":
            from course_lib.grading.bundle import build_bundle

            folder, archive = build_bundle(course, _release_all(course, args.assignments))
            print(f"student bundle: {folder}\n            zip: {archive}")
        elif args.command == "autograde":
            _grade(course, args.assignment, args.submissions or course.submitted, args, args.out)
        elif args.command == "roster":
            from course_lib.grading.gradebook_io import import_roster

            _require_gradebook(course)
            print(f"{import_roster(course.db_url, args.csv)} students imported into {course.gradebook_label}")
        elif args.command == "export":
            from course_lib.grading.gradebook_io import export_grades

            _require_gradebook(course)
            for path in export_grades(course.db_url, args.out or course.build / "grading" / "export"):
                print(path)
        elif args.command == "exchange":
            return _exchange(course, args)
        elif args.command == "validate":
            from course_lib.grading.validate import main as validate_main

            return validate_main(str(args.notebook))
        elif args.command == "demo":
            return demo(course, args)
    except (FileNotFoundError, ValueError, RuntimeError) as error:  # GradebookError, ClusterError included
        print(f"course-lib-grade: {error}", file=sys.stderr)
        return 2
    return 0


def _exchange(course: Course, args) -> int:
    from course_lib.grading import exchange

    if args.step == "student-config":
        print(exchange.student_config(course, args.name), end="")
        return 0
    if not args.name:
        raise ValueError(f"exchange {args.step} needs the assignment: course-lib-grade exchange {args.step} ASSIGNMENT")
    if args.step == "release":
        print(f"released {args.name} into the exchange: {exchange.release_assignment(course, args.name)}")
    elif args.step == "collect":
        rows = exchange.collect(course, args.name)
        print(f"{len(rows)} submissions of {args.name} in {course.submitted}:")
        for row in rows:
            print(f"  {row.student}  submitted {row.timestamp or '(no timestamp.txt)'}")
    else:
        report = exchange.release_feedback(course, args.name, args.out)
        print(f"feedback of {args.name} released to {len(report.released)} students: {', '.join(report.released) or '-'}")
        for student, why in sorted(report.skipped.items()):
            print(f"  not released to {student}: {why}")
    return 0


def demo(course: Course, args) -> int:
    """Release every assignment, write the student bundle, autograde the shipped examples."""
    from course_lib.grading.bundle import build_bundle
    from course_lib.grading.sandbox import sandbox_problem

    problem = None if args.no_sandbox else sandbox_problem()
    if problem:
        # The demo grades the project's own examples: without the sandbox it still shows the
        # workflow, and says loudly that real submissions need the sandbox (autograde refuses).
        print(f"WARNING: {problem}\nThe demo grades its own examples without the sandbox; `autograde` refuses to grade "
              f"real submissions that way.", file=sys.stderr)
        args.no_sandbox = True
    assignments = _release_all(course, [])
    folder, archive = build_bundle(course, assignments)
    print(f"student bundle: {folder}\n            zip: {archive}")
    for assignment in assignments:
        if (EXAMPLES / assignment).is_dir():
            _grade(course, assignment, _demo_submissions(course, assignment, adversarial=False), args)
    if (EXAMPLES / "tiny").is_dir():
        fixture = Course(root=REPO_ROOT, source=FIXTURE, build=course.build / "fixture", judges=FIXTURE_JUDGES)
        _release_all(fixture, ["tiny"])
        # The fixture's cells run in milliseconds: its examples (and their expected scores) use
        # 5 s a cell and 30 s a notebook, so the time-limit attacks end sooner.
        limits = argparse.Namespace(**{**vars(args), "cell_timeout": min(args.cell_timeout, 5.0), "budget": min(args.budget, 30.0)})
        print("the adversarial examples (on the pipeline's fixture notebook `tiny`; the same attacks on `layers` are "
              "graded by the tests):")
        _grade(fixture, "tiny", _demo_submissions(fixture, "tiny"), limits)
    return 0


def _demo_submissions(course: Course, assignment: str, adversarial: bool = True) -> Path:
    """The shipped example notebooks of ``assignment`` as a folder of submissions (without
    the examples' expected.json, and without the ``adv_`` attacks unless ``adversarial``)
    under the build folder."""
    import shutil

    folder = course.build / "demo_submissions" / assignment
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for path in sorted((EXAMPLES / assignment).glob("*.ipynb")):
        if adversarial or not path.name.startswith("adv_"):
            shutil.copy2(path, folder / path.name)
    return folder


if __name__ == "__main__":
    sys.exit(main())
