"""Run every source notebook top to bottom in a fresh kernel and report its time against the
course's 30 s budget, and against the peer measured in the same run: a fresh kernel running an
empty notebook (kernel start-up and shutdown, which no notebook can beat).

    python benchmarks/notebook_times.py                 # every notebook, best of 1
    python benchmarks/notebook_times.py layers --repeat 3 --blas-threads 1
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BUDGET_SECONDS = 30.0


def run(nb: nbformat.NotebookNode, folder: Path, env: dict[str, str]) -> float:
    """Seconds to start a kernel, run ``nb`` in ``folder`` and shut the kernel down."""
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                            extra_arguments=["--HistoryManager.enabled=False"])
    start = time.perf_counter()
    client.execute(env=env)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="topics (default: every folder of notebooks/)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook; the best is reported")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="OPENBLAS/OMP threads in the kernel (default: the library's own choice)")
    args = parser.parse_args(argv)

    env = dict(os.environ, MPLBACKEND="Agg")
    if args.blas_threads:
        env.update({name: str(args.blas_threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    topics = args.notebooks or sorted(p.name for p in NOTEBOOKS.iterdir() if (p / f"{p.name}.ipynb").is_file())

    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    baseline = min(run(empty, NOTEBOOKS, env) for _ in range(args.repeat))
    print(f"{'notebook':<18} {'seconds':>8} {'budget':>7} {'beyond kernel start':>20}")
    print(f"{'(empty notebook)':<18} {baseline:8.2f} {'':>7} {'':>20}")
    over = []
    for topic in topics:
        path = NOTEBOOKS / topic / f"{topic}.ipynb"
        seconds = min(run(nbformat.read(path, as_version=4), path.parent, env) for _ in range(args.repeat))
        share = seconds / BUDGET_SECONDS
        print(f"{topic:<18} {seconds:8.2f} {share:6.0%} {seconds - baseline:19.2f}s")
        if seconds > BUDGET_SECONDS:
            over.append(topic)
    print(f"budget {BUDGET_SECONDS:.0f} s per notebook: " + (f"over: {', '.join(over)}" if over else "all within"))
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
