"""``course-lib-grade validate``, the student's own run of a notebook: what it prints is the
test cells' verdicts alone, never the kernel process's own warnings."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "autograde_tests" / "examples"


def test_validate_prints_the_verdicts_and_no_kernel_warnings(tmp_path):
    target = tmp_path / "tiny.ipynb"
    target.write_bytes((EXAMPLES / "tiny" / "mistake_cce_mean_over_entries.ipynb").read_bytes())
    done = subprocess.run([sys.executable, "-m", "course_lib.grading.cli", "validate", str(target)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "PASS  softmax_tests" in done.stdout and "FAIL  cce_tests" in done.stdout, done.stdout
    for text in (done.stdout, done.stderr):
        assert "WARNING" not in text and "without encryption" not in text and "IPKernelApp" not in text, text
        assert "Traceback" not in text, text
