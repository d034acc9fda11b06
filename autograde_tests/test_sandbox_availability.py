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


def test_the_demo_shows_the_workflow_without_bubblewrap_and_says_so(no_bwrap, tmp_path, capsys, monkeypatch):
    """The README's first command works on a fresh machine: the demo grades the project's own
    examples without the sandbox, warning that real submissions need it."""
    from course_lib.grading import cli

    graded = []
    monkeypatch.setattr(cli, "_release_all", lambda course, names: ["layers"])
    monkeypatch.setattr("course_lib.grading.bundle.build_bundle", lambda course, names: (tmp_path, tmp_path / "x.zip"))
    monkeypatch.setattr(cli, "_grade", lambda course, assignment, folder, args, out=None: graded.append((assignment, args.no_sandbox)))
    assert main(["demo"]) == 0
    assert graded and all(no_sandbox for _, no_sandbox in graded)
    err = capsys.readouterr().err
    assert "bubblewrap" in err and "refuses" in err

