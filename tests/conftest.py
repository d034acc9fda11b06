"""Shared fixtures: executing course notebooks in a real kernel."""
from __future__ import annotations

import matplotlib
import pytest

from nbtools import NOTEBOOKS, execute_notebook

matplotlib.use("Agg")


@pytest.fixture
def run_notebook(record_property):
    """Execute a notebook (path relative to notebooks/), record and print its run time."""

    def run(relative: str, timeout: int = 300):
        nb, seconds = execute_notebook(NOTEBOOKS / relative, timeout)
        record_property(f"seconds:{relative}", round(seconds, 2))
        print(f"\n{relative}: ran in {seconds:.1f} s")
        return nb, seconds

    return run
