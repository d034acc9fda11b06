"""The sandbox's filesystem: the instructor's files are absent (reads find nothing), what is
mounted is read-only (tampering changes nothing), and nothing is written outside the working
folder. Every attack here worked against the kernel guarded by the audit hook alone."""
from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from course_lib.grading.course import REPO_ROOT

from sandbox_helpers import MARK, site_packages, tree_hash

from grading_fixtures import hidden_lines


def test_reads_of_the_instructors_files_find_nothing(attack):
    got = attack.printed("atk_read")
    for name in ("open", "dir_fd", "link", "gradebook", "submissions", "solutions", "parent_mem"):
        assert got[name].startswith("failed: "), (name, got[name])
    # The repository is not there: at most the mount point of the grader's venv (read-only),
    # when the venv lives inside the repository (.venv here, .ci-venv in CI).
    venv = Path(sys.prefix).resolve()
    inside = [venv.relative_to(REPO_ROOT.resolve()).parts[0]] if venv.is_relative_to(REPO_ROOT.resolve()) else None
    assert got["repo"] == (str(inside) if inside else "failed: FileNotFoundError"), got["repo"]
    printed = str(got)  # (the autograded notebook itself holds the restored hidden tests)
    for line in hidden_lines(attack.course.source_notebook("tiny")):
        assert line not in printed, line


def test_tampering_changes_nothing_of_the_instructors(attack):
    got = attack.printed("atk_tamper")
    assert got and all(v.startswith("failed: ") for v in got.values()), got
    after = {name: tree_hash(path) if path.exists() else "missing" for name, path in attack.watched.items()}
    assert after == attack.before
    with sqlite3.connect(attack.course.gradebook) as db:
        assert db.execute("select name from sqlite_master where type = 'trigger'").fetchall() == []


def test_nothing_is_written_outside_the_working_folder(attack):
    got = attack.printed("atk_write")
    assert got["work"] == "done", got  # the submission's own folder works
    for name in ("data", "data_inside", "tmp", "pth", "home"):
        assert got[name].startswith("failed: "), (name, got[name])
    assert not list(site_packages().glob(f"*{MARK}*"))
    assert not [p for p in os.listdir("/tmp") if MARK in p]
    assert not [p for p in os.listdir(os.path.expanduser("~")) if MARK in p]
    assert not list((attack.paths["data"]).glob(f"*{MARK}*"))
    assert not list(attack.out.rglob(f"*{MARK}*"))
