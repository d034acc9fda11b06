"""The main job's console script, run in-process on the shipped data."""
import re

from course_lib.cli import train_main


def test_train_main_prints_a_real_accuracy(capsys):
    assert train_main(["--epochs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "checksums verified" in out
    accuracy = float(re.search(r"softmax regression: test accuracy ([\d.]+)%", out).group(1))
    assert 88.0 < accuracy < 100.0
