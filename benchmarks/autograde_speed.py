"""Autograde speed: submissions of every graded notebook (softmax_toy, layers, mnist_softmax,
mlp_backprop) graded by course_lib's pipeline with 1 and 2 workers, with and without the
sandbox, and by plain `nbgrader autograde` (one process per student), in the same run. Prints
seconds per submission, what a submission costs beyond an empty notebook's kernel round trip
(start, one empty cell, shutdown, through the same sandbox), and the ratios, with and without
each worker starting its next submission's kernel ahead (grading/spare.py); with --main-job,
the README's first command (`course-lib-grade demo`, fresh build folder) timed as well.

Targets (issue 15): every graded notebook <= 1.5 s per submission beyond the kernel round trip;
>= 1.7x from 2 workers; the main job <= 2 minutes on a quiet 2-core machine.
Issue 11: <= 0.3 s of sandbox overhead per submission (1-worker runs with and without it
alternate, the order swapped each repeat, so that a shared machine's load falls on both).

    .venv/bin/python benchmarks/autograde_speed.py [--n 16] [--assignments layers,mlp_backprop]
                                                   [--repeats 1] [--skip-plain] [--main-job]
    .venv/bin/python benchmarks/autograde_speed.py --kernel-pairs 12   # the sandbox's cost alone
    .venv/bin/python benchmarks/autograde_speed.py --main-job --n 0    # only the main job

--kernel-pairs N runs one small notebook (numpy, matplotlib, course_lib, a plot) N times with
and N times without the sandbox, alternating, and prints the overhead per kernel: the median
of the pairs' differences and fastest against fastest (steadier than whole runs on a loaded
machine).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
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

ROOT = Path(__file__).resolve().parent.parent

from course_lib.grading.autograde import Settings, autograde  # noqa: E402
from course_lib.grading.course import Course, tool_env  # noqa: E402
from course_lib.grading.release import release  # noqa: E402

GRADED = ("softmax_toy", "layers", "mnist_softmax", "mlp_backprop")
EXAMPLES = ROOT / "autograde_tests" / "examples"


def make_submissions(assignment: str, folder: Path, count: int) -> list[str]:
    """``count`` students cycling through the assignment's shipped examples a class hands in (the
    reference, the untouched release, the typical mistakes), in nbgrader's layout. The
    adversarial ones are left out: they measure time limits and crashes, not throughput, and
    plain nbgrader stops on the one that is not JSON."""
    examples = sorted(p for p in (EXAMPLES / assignment).glob("*.ipynb") if not p.stem.startswith("adv_"))
    students = []
    for index in range(count):
        source = examples[index % len(examples)]
        student = f"s{index:03d}_{source.stem}"[:40]
        target = folder / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        students.append(student)
    return students


def cpu_jiffies() -> tuple[int, int]:
    """(busy, all) CPU time of the whole machine so far, in clock ticks (/proc/stat)."""
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # idle and iowait are not busy


def ours(course: Course, assignment: str, submitted: Path, out: Path, jobs: int, sandbox: bool = True,
         prestart: bool = True, busy: dict | None = None) -> tuple[float, list]:
    """Seconds of one run of the pipeline; ``busy[jobs]`` gets how many of the machine's cores
    were busy on average during it (everything on the machine counts: run it quiet)."""
    start, (busy0, all0) = time.perf_counter(), cpu_jiffies()
    results = autograde(course, assignment, submitted, out=out, settings=Settings(jobs=jobs, sandbox=sandbox, prestart=prestart),
                        progress=False)
    busy1, all1 = cpu_jiffies()
    if busy is not None:
        busy[jobs] = (busy1 - busy0) / max(1, all1 - all0) * (os.cpu_count() or 1)
    return time.perf_counter() - start, results


def plain_nbgrader(course: Course, assignment: str, submitted: Path, autograded: Path, students: list[str]) -> float:
    """`nbgrader autograde ASSIGNMENT --student=<id>` once per student (project config)."""
    start = time.perf_counter()
    for student in students:
        command = [sys.executable, "-m", "nbgrader", "autograde", assignment, f"--student={student}", "--force",
                   *(a for a in course.nbgrader_args() if not a.startswith(("--CourseDirectory.submitted_directory=",
                                                                            "--CourseDirectory.autograded_directory="))),
                   f"--CourseDirectory.submitted_directory={submitted}",
                   f"--CourseDirectory.autograded_directory={autograded}"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=tool_env())
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader autograde failed for {student}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


PAIR_CELL = "import numpy as np\nimport matplotlib.pyplot as plt\nfrom course_lib import one_hot\nplt.plot(np.arange(3)); plt.show()"


def kernel_times(tmp: Path, count: int, code: str) -> dict[bool, list[float]]:
    """Seconds of ``count`` runs of a one-cell notebook through the grader's own kernel runner,
    with and without the sandbox, alternating (the order swapped each time)."""
    from course_lib.grading.autograde import prepare_sandbox
    from course_lib.grading.course import REPO_ROOT
    from course_lib.grading.execute import ExecutionLimits, Sandbox, run_graded_notebook
    from course_lib.grading.sandbox import SandboxMounts, kernel_env

    out = tmp / f"kernels-{abs(hash(code))}"
    tree, kernels = prepare_sandbox(out, Settings().memory)
    data = str(REPO_ROOT / "data")
    times: dict[bool, list[float]] = {True: [], False: []}
    for index in range(count):
        for sandboxed in ((True, False) if index % 2 == 0 else (False, True)):
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
            work = out / f"work-{index}-{sandboxed}"
            work.mkdir()
            env = dict(kernel_env(str(tree), data, str(work)), PATH="/usr/local/bin:/usr/bin:/bin")
            start = time.perf_counter()
            run = run_graded_notebook(nb, set(), work, kernels, env, ExecutionLimits(cell_timeout=60), out / "log.txt",
                                      sandbox=Sandbox(SandboxMounts(str(tree), data)) if sandboxed else None)
            times[sandboxed].append(time.perf_counter() - start)
            assert run.status == {0: "ok"}, (run, nb.cells[0].outputs)
    return times


def kernel_pairs(count: int) -> None:
    """The sandbox's own cost per kernel: PAIR_CELL run with and without it, alternating."""
    with tempfile.TemporaryDirectory(prefix="sandbox-pairs-") as tmp:
        times = kernel_times(Path(tmp), count, PAIR_CELL)
    pairs = [a - b for a, b in zip(times[True], times[False])]
    for sandboxed in (True, False):
        print(f"{'sandboxed' if sandboxed else '--no-sandbox':13s} s per kernel: fastest {min(times[sandboxed]):.2f}, "
              f"median {statistics.median(times[sandboxed]):.2f}")
    print(f"sandbox overhead per kernel: {statistics.median(pairs):.2f} s (median of {count} pairs), "
          f"{min(times[True]) - min(times[False]):.2f} s (fastest against fastest); target <= 0.3 s")


def bench_assignment(course: Course, assignment: str, tmp: Path, args, trip: dict[bool, float]) -> dict:
    """One assignment's figures: seconds per submission for each way of grading it."""
    release(course, assignment)
    submitted = tmp / "submitted" / assignment
    students = make_submissions(assignment, submitted, args.n)
    sandboxed, bare, results = [], [], None
    # The sandbox's cost: 1-worker runs with and without it, neither starting kernels ahead.
    for repeat in range(max(1, args.repeats)):
        for sandbox in ((True, False) if repeat % 2 == 0 else (False, True)):
            seconds, got = ours(course, assignment, submitted, tmp / f"{assignment}-1w-{repeat}-{sandbox}", 1, sandbox=sandbox,
                                prestart=False)
            (sandboxed if sandbox else bare).append(seconds / args.n)
            results = results or got
            assert [r.score for r in got] == [r.score for r in results], f"{assignment}: the sandbox changed a score"
    timed, busy = {}, {}
    for jobs in (1, 2):  # the default: each worker starts its next submission's kernel ahead
        seconds, got = ours(course, assignment, submitted, tmp / f"{assignment}-{jobs}w-ahead", jobs, busy=busy)
        assert [r.score for r in got] == [r.score for r in results], f"{assignment}: {jobs} worker(s), kernels ahead, disagree"
        timed[jobs] = seconds / args.n
    seconds, got = ours(course, assignment, submitted, tmp / f"{assignment}-2w", 2, prestart=False)
    assert [r.score for r in got] == [r.score for r in results], f"{assignment}: 1 and 2 workers disagree"
    figures = {"1 worker": timed[1], "2 workers": timed[2],
               "1 worker, nothing ahead": statistics.median(sandboxed), "2 workers, nothing ahead": seconds / args.n,
               "1 worker, --no-sandbox": statistics.median(bare),
               "sandbox pairs": [a - b for a, b in zip(sandboxed, bare)],
               "cores busy, 1 worker": busy[1], "cores busy, 2 workers": busy[2],
               "judge": sum(r.judge_seconds for r in results) / args.n,
               "kernel": sum(r.seconds for r in results) / args.n}
    if not args.skip_plain:
        figures["plain nbgrader"] = plain_nbgrader(course, assignment, submitted, tmp / f"{assignment}-plain", students) / args.n
    figures["beyond"] = figures["1 worker"] - trip[True]
    return figures


def main_job(tmp: Path) -> float:
    """Seconds of `course-lib-grade demo` (2 workers, the default) into a fresh build folder,
    as the README's first command runs it after the install."""
    build = tmp / "main-job-build"
    code = ("import sys; from argparse import Namespace; from pathlib import Path\n"
            "from course_lib.grading.cli import demo\nfrom course_lib.grading.course import Course\n"
            "sys.exit(demo(Course(build=Path(sys.argv[1])), Namespace(jobs=2, cell_timeout=20.0, budget=120.0, "
            "no_sandbox=False, run_demos=False, cluster=None)))")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(build)], cwd=ROOT, capture_output=True, text=True, env=tool_env())
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"course-lib-grade demo failed:\n{done.stderr[-2000:]}")
    for line in done.stdout.splitlines():
        if " submissions in " in line:
            print(f"  {line.strip()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16, help="submissions per assignment (default 16; 0: none)")
    parser.add_argument("--assignments", default=",".join(GRADED), help=f"comma-separated (default {','.join(GRADED)})")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of 1-worker runs with and without the sandbox (default 1)")
    parser.add_argument("--skip-plain", action="store_true", help="skip plain nbgrader (the slow peer)")
    parser.add_argument("--main-job", action="store_true", help="also time the README's first command (course-lib-grade demo)")
    parser.add_argument("--kernel-pairs", type=int, default=0, metavar="N", help="only the sandbox's cost per kernel, N pairs")
    args = parser.parse_args()
    if args.kernel_pairs:
        kernel_pairs(args.kernel_pairs)
        return
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="autograde-bench-") as tmp:
        tmp = Path(tmp)
        course = Course(build=tmp / "build")
        figures = {}
        if args.n > 0:
            trips = kernel_times(tmp, 5, "pass")
            trip = {sandboxed: statistics.median(times) for sandboxed, times in trips.items()}
            print(f"empty notebook's kernel round trip (median of 5): {trip[True]:.2f} s sandboxed, "
                  f"{trip[False]:.2f} s without the sandbox")
            for assignment in args.assignments.split(","):
                figures[assignment] = bench_assignment(course, assignment, tmp, args, trip)
                f = figures[assignment]
                print(f"{assignment}: {args.n} submissions, 1 worker {f['1 worker']:.2f} s each, "
                      f"{f['beyond']:.2f} s beyond the round trip")
        rows = ["1 worker", "2 workers", "1 worker, nothing ahead", "2 workers, nothing ahead",
                "1 worker, --no-sandbox"] + ([] if args.skip_plain else ["plain nbgrader"])
        if figures:
            width = max(14, *(len(a) + 1 for a in figures))
            print(f"\nseconds per submission ({args.n} each)\n{'':24s}" + "".join(f"{a:>{width}s}" for a in figures))
            for row in rows:
                print(f"{row:24s}" + "".join(f"{f[row]:{width}.2f}" for f in figures.values()))
            print(f"{'beyond the round trip':24s}" + "".join(f"{f['beyond']:{width}.2f}" for f in figures.values())
                  + "   (target <= 1.5)")
            print(f"{'2-worker speed-up':24s}" + "".join(f"{f['1 worker'] / f['2 workers']:{width - 1}.2f}x" for f in figures.values())
                  + "   (target >= 1.7x)")
            # One worker already keeps more than one core busy (its next kernel starts while it
            # grades; the grader writes while the kernel runs): on a 2-core machine the second
            # worker can add at most cores / (cores busy with one worker).
            for row in ("cores busy, 1 worker", "cores busy, 2 workers"):
                print(f"{row:24s}" + "".join(f"{f[row]:{width}.2f}" for f in figures.values()))
            print(f"{'speed-up ceiling':24s}" + "".join(f"{(os.cpu_count() or 1) / f['cores busy, 1 worker']:{width - 1}.2f}x"
                                                      for f in figures.values()) + "   (cores / cores busy with 1 worker)")
            for jobs in ("1 worker", "2 workers"):
                print(f"{'ahead gain, ' + jobs:24s}" + "".join(f"{f[jobs + ', nothing ahead'] / f[jobs]:{width - 1}.2f}x"
                                                             for f in figures.values()))
            print(f"{'sandbox overhead':24s}" + "".join(f"{statistics.median(f['sandbox pairs']):{width}.2f}" for f in figures.values())
                  + "   (median of the pairs; target <= 0.3)")
            print(f"{'probe + judge share':24s}" + "".join(f"{f['judge'] / f['kernel']:{width}.0%}" for f in figures.values()))
            if not args.skip_plain:
                print(f"{'plain / ours 2 workers':24s}" + "".join(f"{f['plain nbgrader'] / f['2 workers']:{width - 1}.2f}x" for f in figures.values()))
        if args.main_job:
            print("\nthe README's first command after the install (course-lib-grade demo, fresh build folder, 2 workers):")
            seconds = main_job(tmp)
            print(f"main job: {seconds:.0f} s (target <= 120 s on a quiet 2-core machine); load average now "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
