"""Session fixtures: one real autograde run per assignment over all its shipped examples,
shared by the test workers of one pytest session."""
from __future__ import annotations

import contextlib
import fcntl
import os
import pickle

import pytest

from grading_fixtures import grade_examples


@contextlib.contextmanager
def _locked(path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``graded(assignment)``: the run over the assignment's examples (the fixture `tiny` as a
    flat folder, the course's notebooks in nbgrader's submitted/ layout). Graded once per pytest
    session: the first xdist worker to ask grades under a file lock, the others wait and read
    its run. Tests read it and never change it (a test that regrades works on a copy)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist every worker's temporary folder sits in the session's own folder.
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "graded-examples"
    shared.mkdir(exist_ok=True)
    runs = {}

    def get(assignment: str):
        if assignment not in runs:
            saved = shared / f"{assignment}.pickle"
            with _locked(shared / f"{assignment}.lock"):
                if saved.is_file():
                    runs[assignment] = pickle.loads(saved.read_bytes())
                else:
                    runs[assignment] = grade_examples(tmp_path_factory, assignment, nbgrader_layout=assignment != "tiny",
                                                      build=shared / f"build_{assignment}")
                    saved.write_bytes(pickle.dumps(runs[assignment]))
        return runs[assignment]

    return get


@pytest.fixture(scope="session")
def tiny_run(graded):
    return graded("tiny")


@pytest.fixture(scope="session")
def layers_run(graded):
    return graded("layers")


@pytest.fixture(scope="session")
def attack(tmp_path_factory):
    """One real autograde run (sandboxed, 2 workers) of the attack notebooks of
    sandbox_helpers.py, graded alongside innocent classmates and after an earlier run."""
    from sandbox_helpers import attack_run, require_bwrap

    require_bwrap()
    return attack_run(tmp_path_factory.mktemp("attack"))
