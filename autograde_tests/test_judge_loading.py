"""A grading process loads each judge once: its later submissions reuse the judge and what it
keeps for itself (the mnist judge's own prepared data, built in about a second), an edited judge
file is loaded afresh, and what the judge keeps cannot be changed by a check."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from course_lib.grading.course import REPO_ROOT
from course_lib.grading.judge import load_judge

JUDGES = REPO_ROOT / "course_lib" / "judges"


def test_a_judge_is_loaded_once_per_process_and_again_when_its_file_changes(tmp_path):
    path = tmp_path / "layers.py"
    shutil.copy(JUDGES / "layers.py", path)
    first = load_judge(path)
    assert load_judge(path) is first
    path.write_text(path.read_text() + "\n# edited by the instructor\n")
    edited = load_judge(path)
    assert edited is not first and edited.assignment == first.assignment
    assert load_judge(path) is edited


def test_a_file_without_a_judge_is_refused_each_time(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("X = 1\n")
    for _ in range(2):
        with pytest.raises(ValueError, match="defines no JUDGE"):
            load_judge(path)


def test_the_mnist_judges_own_data_is_the_notebooks_preparation_and_read_only():
    from course_lib import add_bias_row, load_mnist

    judge_module = __import__("course_lib.judges.mnist_softmax", fromlist=["_grader_data"])
    data = judge_module._grader_data()
    mnist = load_mnist(dtype=np.float32)
    # The notebook's own cells: the whole prepared training set, then the split of seed 2.
    mean_image = mnist.X_train.mean(axis=1, keepdims=True)
    X_train = add_bias_row(mnist.X_train - mean_image)
    order = np.random.default_rng(2).permutation(X_train.shape[1])
    X_fit, X_val = X_train[:, order[10_000:]], X_train[:, order[:10_000]]
    np.testing.assert_array_equal(data["X_val"], X_val)
    np.testing.assert_array_equal(data["y_val"], mnist.y_train[order[:10_000]])
    np.testing.assert_array_equal(data["X_fit_sample"], X_fit[:, judge_module.FIT_SAMPLE])
    np.testing.assert_array_equal(data["y_fit_sample"], mnist.y_train[order[10_000:]][judge_module.FIT_SAMPLE])
    np.testing.assert_array_equal(data["X_test"], add_bias_row(mnist.X_test - mean_image))
    for name, array in data.items():
        with pytest.raises(ValueError, match="read-only"):
            array[..., 0] = 0
        assert not array.flags.writeable, name
