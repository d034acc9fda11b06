"""Session fixtures: one real autograde run per assignment over all its shipped examples."""
from __future__ import annotations

import pytest

from grading_fixtures import grade_examples


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``graded(assignment)``: the (cached) run over the assignment's examples; the fixture
    `tiny` as a flat folder, the course's notebooks in nbgrader's submitted/ layout."""
    runs = {}

    def get(assignment: str):
        if assignment not in runs:
            runs[assignment] = grade_examples(tmp_path_factory, assignment, nbgrader_layout=assignment != "tiny")
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
