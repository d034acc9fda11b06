"""The shipped MNIST: offline loading, checksums, layouts and clear errors."""
import shutil
import zipfile

import numpy as np
import pytest

from course_lib import DataFileError, find_data_file, load_mnist, make_toy_data, one_hot
from course_lib.data import MNIST_FILE, load_mnist_arrays


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(dtype=np.float32)


def test_mnist_course_layout(mnist):
    X_train, y_train, X_test, y_test = mnist
    assert X_train.shape == (784, 60000) and X_test.shape == (784, 10000)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    # The README's sanity figures.
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert abs(X_train.mean(dtype=np.float64) * 255 - 33.318) < 1e-3


def test_rows_layout_is_the_transpose(mnist):
    rows = load_mnist(layout="rows", dtype=np.float32, verify=False)
    assert rows.X_train.shape == (60000, 784)
    np.testing.assert_array_equal(rows.X_test, mnist.X_test.T)


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="layout"):
        load_mnist(layout="images")


def test_missing_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path))
    with pytest.raises(DataFileError, match="mnist.npz"):
        load_mnist(tmp_path / MNIST_FILE)


def test_find_data_file_lists_the_folders_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path))
    with pytest.raises(DataFileError, match=str(tmp_path)):
        find_data_file("no-such-file.npz")


def test_env_var_points_to_another_copy(tmp_path, monkeypatch):
    shutil.copy(find_data_file(), tmp_path / MNIST_FILE)
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path))
    assert find_data_file() == tmp_path / MNIST_FILE


def _rewrite(src, dst, change):
    arrays = dict(np.load(src))
    change(arrays)
    np.savez(dst, **arrays)


def test_flipped_pixel_fails_the_checksum(tmp_path):
    bad = tmp_path / MNIST_FILE

    def flip(arrays):
        arrays["x_test"] = arrays["x_test"].copy()
        arrays["x_test"][123, 14, 14] ^= 1

    _rewrite(find_data_file(), bad, flip)
    with pytest.raises(DataFileError, match=r"corrupt.*x_test"):
        load_mnist_arrays(bad)
    assert load_mnist_arrays(bad, verify=False)["x_test"].shape == (10000, 28, 28)


def test_missing_array_and_wrong_shape_are_reported(tmp_path):
    _rewrite(find_data_file(), tmp_path / "a.npz", lambda a: a.pop("y_test"))
    with pytest.raises(DataFileError, match="y_test"):
        load_mnist_arrays(tmp_path / "a.npz")
    _rewrite(find_data_file(), tmp_path / "b.npz", lambda a: a.update(y_test=a["y_test"][:5]))
    with pytest.raises(DataFileError, match=r"y_test has shape \(5,\)"):
        load_mnist_arrays(tmp_path / "b.npz")


def test_truncated_and_garbage_files_are_reported(tmp_path):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(find_data_file().read_bytes()[:100_000])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    for path in (truncated, garbage):
        with pytest.raises(DataFileError, match=path.name):
            load_mnist_arrays(path)


def test_corrupt_member_inside_a_valid_zip(tmp_path):
    path = tmp_path / "member.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            archive.writestr(key + ".npy", b"\x93NUMPY garbage")
    with pytest.raises(DataFileError, match="member.npz"):
        load_mnist_arrays(path)


def test_one_hot():
    Y = one_hot(np.array([2, 0, 1, 2]), 3)
    np.testing.assert_array_equal(Y, [[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]])
    assert Y.shape == (3, 4) and Y.dtype == np.float64
    assert one_hot(np.array([], dtype=int), 4).shape == (4, 0)


@pytest.mark.parametrize("labels, match", [([0, 3], r"\[0, 2\]"), ([-1], r"\[0, 2\]"), ([[0, 1]], "1-D"), ([0.5], "whole")])
def test_one_hot_rejects_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        one_hot(np.array(labels), 3)


def test_toy_data_is_seeded_integers():
    X1, y1 = make_toy_data(4, 5, 3, np.random.default_rng(7))
    X2, y2 = make_toy_data(4, 5, 3, np.random.default_rng(7))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape == (4, 5) and y1.shape == (5,)
    assert np.all(X1 == np.round(X1)) and X1.min() >= 0 and X1.max() <= 255
    assert set(y1) <= {0, 1, 2}
    with pytest.raises(TypeError, match="Generator"):
        make_toy_data(4, 5, 3, 0)
