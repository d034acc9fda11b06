"""A probe's reply is bounded in bytes (``Limits.probe_reply``), and what it stands for must be
bounded too: ``encode`` gives every array it meets a key of its own, so ``decode`` refuses a tree
that names one array twice. The attack (``attacks/layers_reply_amplification.ipynb``) rewrites the
kernel's probe so that each reply names one 1 MB array 2,000 times, under 3 MB on the wire: on the
code before this rule the grading worker's memory peaked at 8 GB (a few hundred thousand names fit
in the limit, enough for the kernel's OOM killer to end the grader); now it is refused as
unreadable and costs the cells it answers."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from course_lib import probe_codec
from course_lib.grading.course import REPO_ROOT

from grading_fixtures import EXAMPLES

ATTACK = REPO_ROOT / "autograde_tests" / "attacks" / "layers_reply_amplification.ipynb"

GRADE = """
import json, resource, shutil, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import course_lib.grading  # noqa: F401
from course_lib.grading.autograde import autograde
from course_lib.grading.release import release
from grading_fixtures import course_for, settings_for

if __name__ == "__main__":
    tmp = Path(sys.argv[1])
    course = course_for("layers", tmp / "build")
    release(course, "layers")
    (tmp / "submitted").mkdir()
    shutil.copy({attack!r}, tmp / "submitted" / "amplifier.ipynb")
    shutil.copy({reference!r}, tmp / "submitted" / "reference.ipynb")
    results = autograde(course, "layers", tmp / "submitted", out=tmp / "out", settings=settings_for("layers"),
                        progress=False)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({{"peak": peak, "results": {{r.student: [r.status.value, r.score, {{c.grade_id: c.score for c in r.cells}}]
                                                for r in results}}}}))
"""


def test_a_reply_that_names_one_array_twice_is_refused():
    arrays = {"a0": np.zeros(131072)}
    header = {"value": {"$list": [{"$array": "a0"}] * 2000}}
    with pytest.raises(probe_codec.CodecError, match="named twice"):
        probe_codec.decode(header["value"], arrays)
    assert probe_codec.decode({"$list": [{"$array": "a0"}]}, arrays)[0].shape == (131072,)
    with pytest.raises(probe_codec.CodecError, match="one number"):
        probe_codec.decode({"$float": "a0"}, arrays)
    with pytest.raises(probe_codec.CodecError):
        probe_codec.unpack(probe_codec.pack({"probe": "x"}, {"a\u00b2": np.zeros(2)}), 1 << 20)
    deep = {"$list": []}
    for _ in range(100_000):
        deep = {"$list": [deep]}
    with pytest.raises(probe_codec.CodecError, match="deeply"):
        probe_codec.decode(deep, {})


def test_an_amplifying_kernel_costs_its_cells_not_the_graders_memory(tmp_path):
    code = GRADE.format(tests=str(REPO_ROOT / "autograde_tests"), attack=str(ATTACK),
                        reference=str(EXAMPLES / "layers" / "reference.ipynb"))
    script = tmp_path / "grade.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    status, score, cells = report["results"]["amplifier"]
    assert status == "graded" and score < report["results"]["reference"][1], report
    assert report["peak"] < 2 * 1024**3, f"a grading process peaked at {report['peak'] / 1024**3:.1f} GB"
