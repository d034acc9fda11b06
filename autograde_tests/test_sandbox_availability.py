"""Where bubblewrap cannot run, autograde refuses and says what is missing and how to install
it; --no-sandbox is the instructor's explicit way around, warned about on every run."""
from __future__ import annotations

import pytest

from course_lib.grading import sandbox
from course_lib.grading.autograde import autograde
from course_lib.grading.cli import main
from course_lib.grading.course import Course


@pytest.fixture
def no_bwrap(monkeypatch):
    real = sandbox.shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name, **kw: None if name == "bwrap" else real(name, **kw))
    sandbox.sandbox_problem.cache_clear()
    yield
    sandbox.sandbox_problem.cache_clear()


def test_autograde_refuses_without_bubblewrap_and_says_how_to_install_it(no_bwrap, tmp_path):
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap.*--no-sandbox"):
        autograde(Course(build=tmp_path), "tiny", tmp_path, out=tmp_path / "out", progress=False)


def test_the_cli_reports_the_missing_sandbox(no_bwrap, tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    assert main(["autograde", "layers", str(tmp_path / "subs"), "--out", str(tmp_path / "out")]) == 2
    assert "bubblewrap" in capsys.readouterr().err
