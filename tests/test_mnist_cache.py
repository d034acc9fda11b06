"""The decoded MNIST cache: the same arrays as decoding, writable without touching the cache,
and never used for another archive than the one it was built from."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from course_lib.data import find_data_file, load_mnist
from course_lib.mnist_cache import CACHE_ENV_VAR, MANIFEST, build_cache, cached_arrays, machine_cache


def _mapped(array) -> bool:
    """Whether ``array`` is a view of a memory-mapped file."""
    import mmap

    while array is not None and not isinstance(array, mmap.mmap):
        array = getattr(array, "base", None)
    return array is not None


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return build_cache(find_data_file(), tmp_path_factory.mktemp("mnist-cache"))


def test_the_cache_gives_exactly_the_decoded_arrays(cache, monkeypatch):
    monkeypatch.delenv(CACHE_ENV_VAR, raising=False)
    decoded = load_mnist(dtype=np.float32)
    monkeypatch.setenv(CACHE_ENV_VAR, str(cache))
    mapped = load_mnist(dtype=np.float32)
    assert _mapped(mapped.X_train) and not _mapped(decoded.X_train)
    for name in ("X_train", "y_train", "X_test", "y_test"):
        a, b = getattr(decoded, name), getattr(mapped, name)
        assert type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape, name
        assert a.flags.f_contiguous == b.flags.f_contiguous, name  # samples stay contiguous columns
        np.testing.assert_array_equal(a, b, err_msg=name)
    rows = load_mnist(dtype=np.float32, layout="rows")
    np.testing.assert_array_equal(rows.X_test, decoded.X_test.T)


def test_a_mapped_array_is_writable_and_the_cache_is_left_as_it_was(cache):
    before = (cache / "x_test-float32.npy").read_bytes()
    data = load_mnist(dtype=np.float32, cache=cache)
    assert data.X_test.flags.writeable
    X_test = data.X_test
    X_test -= X_test.mean(axis=1, keepdims=True)  # a student centring in place
    X_test[:, 0] = 7.0
    assert (cache / "x_test-float32.npy").read_bytes() == before
    assert load_mnist(dtype=np.float32, cache=cache).X_test[:, 0].max() <= 1.0


def test_a_cache_of_another_archive_or_dtype_is_not_used(cache, tmp_path):
    assert cached_arrays(find_data_file(), np.float32, cache) is not None
    assert cached_arrays(find_data_file(), np.float64, cache) is None  # not built for float64
    stale = tmp_path / "stale"
    shutil.copytree(cache, stale)
    manifest = json.loads((stale / MANIFEST).read_text())
    (stale / MANIFEST).write_text(json.dumps(manifest | {"source_sha256": "0" * 64}))
    assert cached_arrays(find_data_file(), np.float32, stale) is None
    # and load_mnist then decodes the archive itself
    np.testing.assert_array_equal(load_mnist(dtype=np.float32, cache=stale).y_test[:20],
                                  load_mnist(dtype=np.float32).y_test[:20])


def test_the_machine_cache_is_built_once_in_the_users_cache_folder(tmp_path, monkeypatch):
    import course_lib.mnist_cache as mnist_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    mnist_cache._machine_cache.cache_clear()
    folder = machine_cache(find_data_file().parent)
    assert folder is not None and folder.startswith(str(tmp_path / "xdg" / "course_lib"))
    built = (tmp_path / "xdg" / "course_lib").iterdir()
    assert [p.name for p in built] == [f"mnist-{mnist_cache.file_sha256(find_data_file())[:20]}"]
    stamp = (tmp_path / "xdg" / "course_lib").stat().st_mtime_ns
    mnist_cache._machine_cache.cache_clear()
    assert machine_cache(find_data_file().parent) == folder  # found, not rebuilt
    assert (tmp_path / "xdg" / "course_lib").stat().st_mtime_ns == stamp
    mnist_cache._machine_cache.cache_clear()
    assert machine_cache(tmp_path / "no-data-here") is None
