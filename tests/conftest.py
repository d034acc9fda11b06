"""Shared fixtures: executing course notebooks in a real kernel."""
from __future__ import annotations

import os
import time
from pathlib import Path

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def execute_notebook(path: Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook top to bottom in a fresh ``python3`` kernel from its own folder.

    The kernel gets one BLAS thread: pytest runs two workers on two cores, and two
    kernels each spinning two BLAS threads make small products many times slower.
    Returns the executed notebook and the wall time in seconds; raises
    nbclient's CellExecutionError naming the failing cell."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=["--HistoryManager.enabled=False"],
    )
    start = time.perf_counter()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    client.execute(env=env)
    return nb, time.perf_counter() - start


@pytest.fixture
def run_notebook(record_property):
    """Execute a notebook (path relative to notebooks/), record and print its run time."""

    def run(relative: str, timeout: int = 300):
        nb, seconds = execute_notebook(NOTEBOOKS / relative, timeout)
        record_property(f"seconds:{relative}", round(seconds, 2))
        print(f"\n{relative}: ran in {seconds:.1f} s")
        return nb, seconds

    return run
