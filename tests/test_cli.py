"""The main job's console script, run in-process on the shipped data."""
import re

from course_lib.cli import train_main


def test_train_main_prints_a_real_accuracy(capsys):
    assert train_main(["--epochs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "checksums verified" in out
    accuracy = float(re.search(r"softmax regression: test accuracy ([\d.]+)%", out).group(1))
    assert 88.0 < accuracy < 100.0


def test_train_main_says_what_is_missing_without_the_solutions(tmp_path):
    """In the student bundle (course_lib without solutions/) the script stops with a clear message."""
    import subprocess
    import sys
    from pathlib import Path

    import course_lib
    from course_lib.grading.sandbox import copy_student_package

    copy_student_package(Path(course_lib.__file__).parent, tmp_path)
    code = ("import sys\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, '__module__', '').startswith('__editable__')]\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "from course_lib.cli import train_main\n"
            "train_main([])\n")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "course_lib.solutions" in run.stderr and "student bundle" in run.stderr


def test_train_main_says_how_many_blas_threads_and_why(capsys):
    import os

    assert train_main(["--epochs", "1", "--no-progress"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("BLAS threads:"))
    threads = int(re.match(r"BLAS threads: (\d+) \((.+)\)$", line).group(1))
    assert 1 <= threads <= len(os.sched_getaffinity(0)) and "affinity mask" in line and "quota" in line
    assert train_main(["--epochs", "1", "--no-progress", "--threads", "1"]) == 0
    assert "BLAS threads: 1 (asked for)" in capsys.readouterr().out
    assert train_main(["--epochs", "1", "--no-progress", "--threads", "default"]) == 0
    assert "the BLAS library's default" in capsys.readouterr().out
