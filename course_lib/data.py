"""The MNIST data the course ships, loaded offline and verified, and one-hot labels.

Course layout: images are columns, ``X`` has shape (784, N) with values in [0, 1].
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib.mnist_cache import cached_arrays

MNIST_FILE = "mnist.npz"
DATA_ENV_VAR = "COURSE_LIB_DATA"

# sha256 of each array's ``tobytes()`` (see data/README.md for provenance).
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
MNIST_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}


class DataFileError(RuntimeError):
    """The course's data file is missing, unreadable or fails its checksum."""


@dataclass(frozen=True)
class MNIST:
    """MNIST split. Course layout: ``X_*`` is (784, N), ``y_*`` is (N,) int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def __iter__(self):
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))


def data_dir_candidates() -> list[Path]:
    """Where the data folder is looked for, in order: $COURSE_LIB_DATA, the
    project's ``data/`` beside the package, and ``data/`` in the working
    directory or any of its parents (a notebook runs from ``notebooks/<topic>/``)."""
    candidates = []
    if os.environ.get(DATA_ENV_VAR):
        candidates.append(Path(os.environ[DATA_ENV_VAR]))
    candidates.append(Path(__file__).resolve().parent.parent / "data")
    cwd = Path.cwd().resolve()
    candidates.extend(p / "data" for p in (cwd, *cwd.parents))
    return candidates


def find_data_file(name: str = MNIST_FILE) -> Path:
    """Path of ``name`` in the first data folder that holds it.

    Raises DataFileError listing every folder searched."""
    searched = data_dir_candidates()
    for folder in searched:
        if (folder / name).is_file():
            return folder / name
    where = "\n  ".join(str(p) for p in searched)
    raise DataFileError(
        f"data file {name!r} not found. Searched:\n  {where}\n"
        f"Set {DATA_ENV_VAR} to the folder that holds {name}, or run from the course folder."
    )


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def load_mnist_arrays(path: str | os.PathLike | None = None, verify: bool = True) -> dict[str, np.ndarray]:
    """The four raw uint8 arrays of ``mnist.npz`` (keys x_train, y_train, x_test, y_test),
    each checked for shape and, when ``verify``, for its sha256."""
    path = Path(path) if path is not None else find_data_file(MNIST_FILE)
    if not path.is_file():
        raise DataFileError(f"data file {str(path)!r} not found")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = sorted(set(MNIST_SHA256) - set(archive.files))
            if missing:
                raise DataFileError(f"data file {str(path)!r} is corrupt: arrays {missing} are missing")
            arrays = {key: archive[key] for key in MNIST_SHA256}
    except DataFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DataFileError(f"data file {str(path)!r} is corrupt or unreadable: {error}") from error
    for key, array in arrays.items():
        if array.shape != MNIST_SHAPES[key] or array.dtype != np.uint8:
            raise DataFileError(
                f"data file {str(path)!r} is corrupt: {key} has shape {array.shape} and dtype "
                f"{array.dtype}, expected {MNIST_SHAPES[key]} uint8"
            )
        if verify and _sha256(array) != MNIST_SHA256[key]:
            raise DataFileError(
                f"data file {str(path)!r} is corrupt: the checksum of {key} does not match "
                f"data/README.md (expected sha256 {MNIST_SHA256[key]})"
            )
    return arrays


def load_mnist(
    path: str | os.PathLike | None = None,
    *,
    layout: str = "columns",
    dtype=np.float64,
    verify: bool = True,
    cache: str | os.PathLike | None = None,
) -> MNIST:
    """MNIST as floats in [0, 1] and int64 labels.

    layout="columns" (the course's): X is (784, N); layout="rows": X is (N, 784).
    Unpacks as ``X_train, y_train, X_test, y_test = load_mnist()``. From a cache of decoded
    arrays (``cache``, or $COURSE_LIB_MNIST_CACHE, which the grader sets: see
    ``course_lib/mnist_cache.py``) the arrays are mapped, not decoded."""
    if layout not in ("columns", "rows"):
        raise ValueError(f"layout must be 'columns' (features x samples) or 'rows', got {layout!r}")
    archive = Path(path) if path is not None else find_data_file(MNIST_FILE)
    decoded = cached_arrays(archive, dtype, cache) if archive.is_file() else None
    raw = decoded or load_mnist_arrays(archive, verify=verify)

    def images(x: np.ndarray) -> np.ndarray:
        if decoded:
            flat = x  # (N, 784), already floats in [0, 1] of this dtype
        else:
            flat = x.reshape(x.shape[0], -1).astype(dtype)
            flat /= 255
        # The transpose is Fortran-ordered: each sample's column is contiguous, so
        # mini-batches X[:, batch] are fast gathers.
        return flat.T if layout == "columns" else flat

    return MNIST(
        X_train=images(raw["x_train"]),
        y_train=raw["y_train"].astype(np.int64),
        X_test=images(raw["x_test"]),
        y_test=raw["y_test"].astype(np.int64),
    )


def one_hot(labels, num_classes: int, dtype=np.float64) -> np.ndarray:
    """One-hot matrix of shape (num_classes, N): ``Y[labels[n], n] = 1``."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class indices, got shape {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError("labels must be whole numbers (class indices)")
        labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}], got values from {labels.min()} to {labels.max()}"
        )
    Y = np.zeros((num_classes, labels.size), dtype=dtype)
    Y[labels, np.arange(labels.size)] = 1
    return Y
