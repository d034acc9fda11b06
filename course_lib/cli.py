"""Console scripts."""
from __future__ import annotations

import argparse

import numpy as np

from course_lib.data import load_mnist
from course_lib.threads import resolve_threads


def _threads_argument(value: str) -> int | str | None:
    """``auto`` (default), ``default`` (the BLAS library's own count) or a positive int."""
    if value in ("auto", "default"):
        return None if value == "default" else value
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise argparse.ArgumentTypeError(f"expected auto, default or a positive number, got {value!r}")
    return threads


def _blas_pool_size() -> int:
    from threadpoolctl import threadpool_info

    return max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1)


def train_main(argv=None) -> int:
    """``course-lib-train``: train the reference models on the shipped MNIST and print their accuracy."""
    parser = argparse.ArgumentParser(prog="course-lib-train", description=train_main.__doc__)
    parser.add_argument("--epochs", type=int, default=8, help="softmax regression epochs (default 8)")
    parser.add_argument("--mlp", action="store_true", help="also train the one-hidden-layer MLP")
    parser.add_argument("--hidden", type=int, default=100, help="MLP hidden units (default 100)")
    parser.add_argument("--mlp-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--threads", type=_threads_argument, default="auto",
                        help="BLAS threads: auto (default: the CPUs this process may use, less those busy "
                             "with other processes), default (the BLAS library's own count) or a number")
    args = parser.parse_args(argv)

    try:
        from course_lib.solutions.recipes import train_mlp, train_softmax_regression
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("course_lib.solutions"):
            raise
        parser.exit(2, "course-lib-train needs the instructor's reference solutions (course_lib.solutions), "
                       "which the student bundle does not ship\n")

    data = load_mnist(dtype=np.float32)
    print(f"MNIST: {data.X_train.shape[1]} training and {data.X_test.shape[1]} test images, checksums verified")
    choice = resolve_threads(args.threads)
    pool = _blas_pool_size()
    if choice is None:
        print(f"BLAS threads: {pool} (the BLAS library's default, --threads default)")
        threads = None
    else:
        threads = min(choice.threads, pool)
        print(f"BLAS threads: {threads} ({choice.reason})")
    result = train_softmax_regression(data, epochs=args.epochs, seed=args.seed, progress=not args.no_progress,
                                      threads=threads)
    for epoch, (loss, acc) in enumerate(zip(result.history.loss, result.history.val_accuracy), start=1):
        print(f"  epoch {epoch:2d}  loss {loss:.4f}  test accuracy {acc:.2%}")
    print(f"softmax regression: test accuracy {result.test_accuracy:.2%} in {result.wall_seconds:.2f} s")
    if args.mlp:
        net = train_mlp(data, hidden=args.hidden, epochs=args.mlp_epochs, seed=args.seed,
                        progress=not args.no_progress, threads=threads)
        print(f"MLP 784->{args.hidden}->10: test accuracy {net.test_accuracy:.2%} in {net.wall_seconds:.2f} s")
    return 0
