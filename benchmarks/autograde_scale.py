"""Autograde at scale: generated submissions of the layers assignment (each graded blank the
reference answer or one of the shipped typical mistakes, mixed at random), graded in the same
run by the local pool with 1 and 2 workers and by a Dask ``LocalCluster`` of 2 workers
(``--cluster local:2``); then every result written into an sqlite and a PostgreSQL gradebook
(a server this script starts on loopback, as the tests do).

Prints seconds per submission, the 2-worker speed-up, the cluster's overhead per task against
the 2-worker pool with its breakdown by cause (grading/cluster.py's ClusterTimings), and the
gradebook write time per submission: the run's ``GradebookWriter`` against nbgrader's own
``Gradebook`` calls (the peer, on the same database server). docs/scaling.md plans a MOOC
from these figures.

    .venv/bin/python benchmarks/autograde_scale.py [--n 300] [--skip-one-worker] [--skip-postgres]
"""
from __future__ import annotations

import argparse
import copy
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The grading package first: it marks jsonschema's slow optional import absent (see
# course_lib/grading/__init__.py) before nbformat loads jsonschema. The pool's workers re-import
# this script, so without this order each would pay that import, which the grader's own
# command never does.
import course_lib.grading  # noqa: F401, I001
import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "autograde_tests"))

from course_lib.grading.autograde import Settings, run_autograde  # noqa: E402
from course_lib.grading.course import Course, grade_id, is_solution, use_tool_env  # noqa: E402
from course_lib.grading.gradebook import GradebookWriter, open_gradebook  # noqa: E402
from course_lib.grading.release import release  # noqa: E402

ASSIGNMENT = "layers"
EXAMPLES = ROOT / "autograde_tests" / "examples" / ASSIGNMENT


def answer_variants() -> tuple[nbformat.NotebookNode, dict[str, list[str]]]:
    """The reference submission and, per answer cell, the sources the shipped mistakes use."""
    reference = nbformat.read(str(EXAMPLES / "reference.ipynb"), as_version=4)
    answers = {grade_id(c): c.source for c in reference.cells if is_solution(c)}
    variants: dict[str, list[str]] = {gid: [] for gid in answers}
    for path in sorted(EXAMPLES.glob("mistake_*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            gid = grade_id(cell)
            if gid in answers and cell.source != answers[gid] and cell.source not in variants[gid]:
                variants[gid].append(cell.source)
    return reference, variants


def generate(folder: Path, count: int, rng: np.random.Generator, right: float = 0.6) -> None:
    """``count`` submissions in nbgrader's submitted/<student>/<assignment>/ layout: each answer
    cell right with probability ``right``, else one of its shipped mistakes."""
    reference, variants = answer_variants()
    for number in range(count):
        nb = copy.deepcopy(reference)
        for cell in nb.cells:
            options = variants.get(grade_id(cell)) if is_solution(cell) else None
            if options and rng.random() > right:
                cell.source = options[int(rng.integers(len(options)))]
        target = folder / f"student{number:04d}" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))


def grade(course: Course, submissions: Path, out: Path, settings: Settings):
    start = time.perf_counter()
    run = run_autograde(course, ASSIGNMENT, submissions, out=out, settings=settings, progress=False)
    return time.perf_counter() - start, run


def nbgrader_api_write(gb, result) -> None:
    """The peer: one result written through nbgrader's own ``Gradebook`` calls (a commit each)."""
    gb.update_or_create_student(result.student)
    gb.update_or_create_submission(result.assignment, result.student)
    notebook = gb.find_submission_notebook(result.assignment, result.assignment, result.student)
    notebook.flagged = bool(result.flags) or result.status.value != "graded"
    for cell in result.cells:
        grade = gb.find_grade(cell.grade_id, result.assignment, result.assignment, result.student)
        grade.auto_score = cell.score
        grade.needs_manual_grade = grade.manual_score is not None
    gb.db.commit()


def gradebook_writes(url: str, course: Course, results: list, peer: bool = False) -> float:
    """Mean seconds to write one result into the gradebook at ``url`` (structure from the release)
    through a run's ``GradebookWriter``, or with ``peer`` through nbgrader's own calls."""
    import warnings

    warnings.simplefilter("ignore")
    with open_gradebook(url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT)
        source = course.source_notebook(ASSIGNMENT)
        nb = nbformat.read(str(source), as_version=4)
        gb.update_or_create_notebook(ASSIGNMENT, ASSIGNMENT)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                gb.update_or_create_grade_cell(meta["grade_id"], ASSIGNMENT, ASSIGNMENT,
                                               max_score=float(meta.get("points", 0)), cell_type=cell.cell_type)
        writer = GradebookWriter(gb)
        timings = []
        for result in results:
            start = time.perf_counter()
            nbgrader_api_write(gb, result) if peer else writer.write(result)
            timings.append(time.perf_counter() - start)
    return statistics.mean(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="generated submissions (default 300)")
    parser.add_argument("--skip-one-worker", action="store_true", help="leave out the 1-worker pool (the slowest run)")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--no-sandbox", action="store_true", help="grade without bubblewrap (say so when quoting figures)")
    args = parser.parse_args()
    use_tool_env()
    base = Settings(jobs=2, cell_timeout=45, budget=300, sandbox=not args.no_sandbox)
    runs = [("pool, 2 workers", base), ("cluster local:2", Settings(**{**base.__dict__, "cluster": "local:2"}))]
    if not args.skip_one_worker:
        runs.insert(0, ("pool, 1 worker", Settings(**{**base.__dict__, "jobs": 1})))
    with tempfile.TemporaryDirectory(prefix="autograde-scale-") as tmp:
        tmp = Path(tmp)
        submissions = tmp / "submitted"
        generate(submissions, args.n, np.random.default_rng(2026))
        print(f"{args.n} generated submissions of {ASSIGNMENT}; sandbox {'off' if args.no_sandbox else 'on'}")
        seconds, kernel, results, timings = {}, {}, None, None
        for name, settings in runs:
            course = Course(build=tmp / f"build-{len(seconds)}")
            release(course, ASSIGNMENT)
            elapsed, run = grade(course, submissions, tmp / f"out-{len(seconds)}", settings)
            results_here, seconds[name] = run.results, elapsed
            kernel[name] = statistics.mean(r.seconds for r in results_here)
            if run.cluster is not None:
                timings = run.cluster
            scores = sorted(r.score for r in results_here)
            if results is not None:
                assert scores == sorted(r.score for r in results), f"{name}: other scores than the first run"
            results = results_here
            print(f"{name:18s} {elapsed:8.1f} s  {elapsed / args.n:6.2f} s/submission  (kernel {kernel[name]:.2f} s each)")
        pool2, cluster = seconds["pool, 2 workers"], seconds["cluster local:2"]
        if "pool, 1 worker" in seconds:
            print(f"2 workers vs 1:   {seconds['pool, 1 worker'] / pool2:.2f}x")
        print(f"cluster overhead: {(cluster - pool2) / args.n:+.3f} s per task against the 2-worker pool "
              f"({cluster / pool2:.2f}x its time)")
        if timings is not None:
            print(f"cluster, per task ({timings.tasks} tasks, {timings.slots} slots; grading on the worker "
                  f"{timings.grade / timings.tasks:.2f} s, the kernel {kernel['cluster local:2']:.2f} s):")
            for cause, value in timings.per_task().items():
                print(f"  {cause:26s} {value:+.3f} s")
            print(f"  (start {timings.start:.1f} s, bundle {timings.bundle:.1f} s, unpack {timings.unpack:.1f} s in all)")
        print(f"mean score {statistics.mean(r.score for r in results):.2f} / {results[0].max_score:g}; "
              f"full marks {sum(r.score == r.max_score for r in results)} of {len(results)}")
        course = Course(build=tmp / "build-gradebooks")
        release(course, ASSIGNMENT)
        sqlite = gradebook_writes(f"sqlite:///{tmp / 'bench.db'}", course, results)
        peer = gradebook_writes(f"sqlite:///{tmp / 'peer.db'}", course, results, peer=True)
        print(f"gradebook write, sqlite:     {sqlite * 1000:7.1f} ms per submission "
              f"(nbgrader's own calls {peer * 1000:.1f} ms: {peer / sqlite:.1f}x)")
        if not args.skip_postgres:
            from servers import postgres_server

            with postgres_server() as url:
                postgres = gradebook_writes(url, course, results)
            with postgres_server() as url:
                postgres_peer = gradebook_writes(url, course, results, peer=True)
            print(f"gradebook write, PostgreSQL: {postgres * 1000:7.1f} ms per submission ({postgres / sqlite:.2f}x sqlite; "
                  f"nbgrader's own calls {postgres_peer * 1000:.1f} ms: {postgres_peer / postgres:.1f}x)")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
