"""course-lib-train on a shared machine: quiet, then next to CPU-bound neighbours, with the BLAS
library's default thread count and with the threads sized to the CPUs the process may really use.

Each run is ``course-lib-train --no-progress --epochs 8 --threads {default,auto}`` in a fresh
process; its training time is the "softmax regression ... in X s" it prints. The neighbours are
Python busy loops this script starts before a run and stops after it (each also stops by itself
after --neighbour-seconds). Prints every time and the ratio of each run to the quiet run of the
same threading (target: <= 2x for the sized threads next to one neighbour).

    python benchmarks/shared_machine.py
    python benchmarks/shared_machine.py --neighbours 1 --repeats 1
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUSY_LOOP = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"
TRAIN = "import sys\nfrom course_lib.cli import train_main\nsys.exit(train_main(sys.argv[1:]))\n"


def start_neighbours(count: int, seconds: float) -> list[subprocess.Popen]:
    """``count`` CPU-bound processes that stop by themselves after ``seconds``."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(seconds)]) for _ in range(count)]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
    for process in processes:
        process.wait()


def train_once(threads: str, epochs: int, timeout: float) -> dict:
    """One course-lib-train run: its training seconds, accuracy and the thread line it printed."""
    start = time.perf_counter()
    try:
        run = subprocess.run([sys.executable, "-c", TRAIN, "--no-progress", "--epochs", str(epochs),
                              "--threads", threads], capture_output=True, text=True, timeout=timeout,
                             cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        return {"seconds": float("inf"), "process_s": timeout, "threads": "?", "accuracy": float("nan")}
    if run.returncode != 0:
        raise RuntimeError(f"course-lib-train failed:\n{run.stderr}")
    found = re.search(r"softmax regression: test accuracy ([\d.]+)% in ([\d.]+) s", run.stdout)
    thread_line = next((l for l in run.stdout.splitlines() if l.startswith("BLAS threads:")), "?")
    return {"seconds": float(found.group(2)), "accuracy": float(found.group(1)),
            "process_s": time.perf_counter() - start, "threads": thread_line.removeprefix("BLAS threads: ")}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--neighbours", type=int, nargs="+", default=[1, 2], help="neighbour counts to try")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case; the median is kept")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a run counts as > timeout")
    parser.add_argument("--neighbour-seconds", type=float, default=300.0, help="a neighbour's own time limit")
    args = parser.parse_args(argv)

    with open("/proc/loadavg") as f:
        print(f"load average before: {' '.join(f.read().split()[:3])} (other jobs on the machine count too)")
    cases = [0, *args.neighbours]
    results: dict[tuple[int, str], dict] = {}
    for neighbours in cases:
        for threads in ("default", "auto"):
            processes = start_neighbours(neighbours, args.neighbour_seconds)
            try:
                time.sleep(0.5 if neighbours else 0)  # let the neighbours reach the run queue
                runs = [train_once(threads, args.epochs, args.timeout) for _ in range(args.repeats)]
            finally:
                stop(processes)
            seconds = statistics.median(r["seconds"] for r in runs)
            results[neighbours, threads] = {"seconds": seconds, "runs": runs}
            shown = ", ".join("timeout" if r["seconds"] == float("inf") else f"{r['seconds']:.2f}" for r in runs)
            shown_median = f"> {args.timeout:.0f}" if seconds == float("inf") else f"{seconds:.2f}"
            print(f"{neighbours} neighbour(s), --threads {threads:7s}: {shown_median:>7s} s (runs: {shown}; "
                  f"accuracy {runs[0]['accuracy']:.2f}%; threads {runs[0]['threads']})", flush=True)

    print("\nratios to the quiet run: of the same threading / of the sized threading (target <= 2x for auto)")
    best_quiet = results[0, "auto"]["seconds"]
    for neighbours in args.neighbours:
        for threads in ("default", "auto"):
            seconds = results[neighbours, threads]["seconds"]
            print(f"  {neighbours} neighbour(s), --threads {threads:7s}: {seconds / results[0, threads]['seconds']:6.2f}x"
                  f" / {seconds / best_quiet:6.2f}x")
        sized, default = results[neighbours, "auto"]["seconds"], results[neighbours, "default"]["seconds"]
        print(f"  {neighbours} neighbour(s): default threading takes {default / sized:.1f}x the sized one")
    print(f"  quiet: default threading takes {results[0, 'default']['seconds'] / best_quiet:.2f}x the sized one")

if __name__ == "__main__":
    main()
