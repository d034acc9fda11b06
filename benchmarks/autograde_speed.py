"""Autograde speed: 40 submissions of the layers assignment graded by course_lib's
pipeline with 1 and 2 workers, and by plain `nbgrader autograde` (one process per student),
in the same run. Prints seconds per submission, the overhead beyond the notebook's own run
time, and the ratios.

With and without the grading sandbox (issue 11: <= 0.3 s of sandbox overhead per submission):
1-worker runs with and without it alternate (--repeats pairs, the order swapped each time) so
that a shared machine's load falls on both; each pair's difference is printed, and the median.
And the time the probes and the judge take (issue 12).
Target (issue 5): <= 1.5 s per submission amortised beyond the notebook's own run time,
>= 1.7x from 2 workers.

    .venv/bin/python benchmarks/autograde_speed.py [--n 40] [--repeats 2] [--skip-plain]
    .venv/bin/python benchmarks/autograde_speed.py --kernel-pairs 12   # the sandbox's cost alone

--kernel-pairs N runs one small notebook (numpy, matplotlib, course_lib, a plot) N times with
and N times without the sandbox, alternating, and prints the overhead per kernel: the median
of the pairs' differences and fastest against fastest (steadier than whole runs on a loaded
machine).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

from course_lib.grading.autograde import Settings, autograde  # noqa: E402
from course_lib.grading.course import Course, tool_env  # noqa: E402
from course_lib.grading.release import release  # noqa: E402

ASSIGNMENT = "layers"
EXAMPLES = ROOT / "autograde_tests" / "examples" / ASSIGNMENT


def notebook_run_time(path: Path, repeats: int = 2) -> float:
    """Best wall time of running the notebook top to bottom in a fresh python3 kernel."""
    best = float("inf")
    for _ in range(repeats):
        nb = nbformat.read(str(path), as_version=4)
        client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        best = min(best, time.perf_counter() - start)
    return best


def make_submissions(folder: Path, count: int) -> list[str]:
    """``count`` students cycling through the shipped examples a class hands in (the reference,
    the untouched release, the typical mistakes), in nbgrader's layout. The adversarial ones are
    left out: they measure time limits and crashes, not throughput, and plain nbgrader stops on
    the one that is not JSON."""
    examples = sorted(p for p in EXAMPLES.glob("*.ipynb") if not p.stem.startswith("adv_"))
    students = []
    for index in range(count):
        source = examples[index % len(examples)]
        student = f"s{index:03d}_{source.stem}"[:40]
        target = folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        students.append(student)
    return students


def ours(course: Course, submitted: Path, out: Path, jobs: int, sandbox: bool = True) -> tuple[float, list]:
    start = time.perf_counter()
    results = autograde(course, ASSIGNMENT, submitted, out=out, settings=Settings(jobs=jobs, sandbox=sandbox), progress=False)
    return time.perf_counter() - start, results


def plain_nbgrader(course: Course, submitted: Path, autograded: Path, students: list[str]) -> float:
    """`nbgrader autograde layers --student=<id>` once per student (project config)."""
    start = time.perf_counter()
    for student in students:
        command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, f"--student={student}", "--force",
                   *(a for a in course.nbgrader_args() if not a.startswith(("--CourseDirectory.submitted_directory=",
                                                                            "--CourseDirectory.autograded_directory="))),
                   f"--CourseDirectory.submitted_directory={submitted}",
                   f"--CourseDirectory.autograded_directory={autograded}"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=tool_env())
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader autograde failed for {student}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


PAIR_CELL = "import numpy as np\nimport matplotlib.pyplot as plt\nfrom course_lib import one_hot\nplt.plot(np.arange(3)); plt.show()"


def kernel_pairs(count: int) -> None:
    """The sandbox's own cost per kernel: PAIR_CELL run with and without it, alternating."""
    from course_lib.grading.autograde import prepare_sandbox
    from course_lib.grading.course import REPO_ROOT
    from course_lib.grading.execute import ExecutionLimits, Sandbox, run_graded_notebook
    from course_lib.grading.sandbox import SandboxMounts, kernel_env

    with tempfile.TemporaryDirectory(prefix="sandbox-pairs-") as tmp:
        tmp = Path(tmp)
        tree, kernels = prepare_sandbox(tmp / "out", Settings().memory)
        data = str(REPO_ROOT / "data")
        times: dict[bool, list[float]] = {True: [], False: []}
        for index in range(count):
            for sandboxed in ((True, False) if index % 2 == 0 else (False, True)):
                nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PAIR_CELL)])
                work = tmp / f"work-{index}-{sandboxed}"
                work.mkdir()
                env = dict(kernel_env(str(tree), data, str(work)), PATH="/usr/local/bin:/usr/bin:/bin")
                start = time.perf_counter()
                run = run_graded_notebook(nb, set(), work, kernels, env, ExecutionLimits(cell_timeout=60), tmp / "log.txt",
                                          sandbox=Sandbox(SandboxMounts(str(tree), data)) if sandboxed else None)
                times[sandboxed].append(time.perf_counter() - start)
                assert run.status == {0: "ok"}, (run, nb.cells[0].outputs)
        pairs = [a - b for a, b in zip(times[True], times[False])]
        for sandboxed in (True, False):
            print(f"{'sandboxed' if sandboxed else '--no-sandbox':13s} s per kernel: fastest {min(times[sandboxed]):.2f}, "
                  f"median {statistics.median(times[sandboxed]):.2f}")
        print(f"sandbox overhead per kernel: {statistics.median(pairs):.2f} s (median of {count} pairs), "
              f"{min(times[True]) - min(times[False]):.2f} s (fastest against fastest); target <= 0.3 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("--repeats", type=int, default=2, help="pairs of 1-worker runs with and without the sandbox (default 2)")
    parser.add_argument("--skip-plain", action="store_true", help="skip plain nbgrader (the slow peer)")
    parser.add_argument("--kernel-pairs", type=int, default=0, metavar="N", help="only the sandbox's cost per kernel, N pairs")
    args = parser.parse_args()
    if args.kernel_pairs:
        kernel_pairs(args.kernel_pairs)
        return
    with tempfile.TemporaryDirectory(prefix="autograde-bench-") as tmp:
        tmp = Path(tmp)
        course = Course(build=tmp / "build")
        release(course, ASSIGNMENT)
        submitted = tmp / "submitted"
        students = make_submissions(submitted, args.n)
        own = notebook_run_time(course.source_notebook(ASSIGNMENT))
        print(f"{ASSIGNMENT}: {args.n} submissions; the notebook alone runs in {own:.2f} s (best of 2 runs in a fresh python3 kernel, kernel start included)")
        rows = []
        sandboxed, bare, results = [], [], None
        for repeat in range(max(1, args.repeats)):
            for sandbox in ((True, False) if repeat % 2 == 0 else (False, True)):
                seconds, got = ours(course, submitted, tmp / f"ours1-{repeat}-{sandbox}", 1, sandbox=sandbox)
                (sandboxed if sandbox else bare).append(seconds)
                if results is None:
                    results = got
                assert [r.score for r in got] == [r.score for r in results], "the sandbox changed a score"
        t1, t0 = statistics.median(sandboxed), statistics.median(bare)
        rows.append(("course_lib autograde, 1 worker", t1))
        t2, results2 = ours(course, submitted, tmp / "ours2", 2)
        rows.append(("course_lib autograde, 2 workers", t2))
        assert [r.score for r in results] == [r.score for r in results2], "the two runs disagree"
        rows.append(("course_lib autograde, 1 worker, --no-sandbox", t0))
        tp = None
        if not args.skip_plain:
            tp = plain_nbgrader(course, submitted, tmp / "autograded_plain", students)
            rows.append(("plain nbgrader autograde (1 process per student)", tp))
        print(f"\n{'':50s} {'total s':>8s} {'s/subm':>7s} {'beyond own run':>15s}")
        for name, seconds in rows:
            per = seconds / args.n
            print(f"{name:50s} {seconds:8.1f} {per:7.2f} {per - own:15.2f}")
        pairs = [(a - b) / args.n for a, b in zip(sandboxed, bare)]
        print(f"\n1-worker runs (median of {len(sandboxed)}): sandboxed {', '.join(f'{t:.1f}' for t in sandboxed)} s, "
              f"--no-sandbox {', '.join(f'{t:.1f}' for t in bare)} s")
        print(f"sandbox overhead, 1 worker: {statistics.median(pairs):.2f} s per submission, median of the pairs "
              f"({', '.join(f'{d:.2f}' for d in pairs)}); ratio sandboxed / --no-sandbox {t1 / t0:.3f} (target <= 0.3 s)")
        print(f"speed-up from 2 workers: {t1 / t2:.2f}x (target >= 1.7x)")
        judging = sum(r.judge_seconds for r in results) / args.n
        kernel = sum(r.seconds for r in results) / args.n
        print(f"probe and judge, 1 worker: {judging:.2f} s of the {kernel:.2f} s a submission's kernel runs "
              f"({judging / kernel:.0%}); the graded cells run as released, so the hidden tests' own time is gone")
        print(f"overhead beyond the notebook's own run time, 1 worker: {t1 / args.n - own:.2f} s per submission (target <= 1.5 s)")
        if tp is not None:
            print(f"plain nbgrader / course_lib 1 worker: {tp / t1:.2f}x;  plain nbgrader / course_lib 2 workers: {tp / t2:.2f}x")


if __name__ == "__main__":
    main()
