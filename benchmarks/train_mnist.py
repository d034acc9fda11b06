"""Train the reference models on the full MNIST and compare with peers measured in the same run.

Prints: load time; the machine's float32 matrix-multiply GFLOP/s and the time of one epoch's
two full-data products (the bound an epoch cannot beat); the reference softmax regression's wall
time to 92% test accuracy, its final test accuracy and seconds per epoch against that bound;
scikit-learn's LogisticRegression (lbfgs) on the same data and the time ratio; the one-hidden-layer
MLP's time and accuracy.

    python benchmarks/train_mnist.py            # everything
    python benchmarks/train_mnist.py --no-sklearn --mlp-epochs 3
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from course_lib import add_bias_row, load_mnist
from course_lib.solutions.recipes import train_mlp, train_softmax_regression

TARGET_ACCURACY = 0.92


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def machine_bound(X: np.ndarray, num_classes: int) -> dict[str, float]:
    """Peak float32 GEMM GFLOP/s (2048^2) and the time of an epoch's two full-data products
    Z = W X and dW = E X^T (the same FLOPs and memory traffic as one epoch, in one call each)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2048, 2048), dtype=np.float32)
    gemm_seconds = best_of(3, lambda: A @ A)
    W = rng.standard_normal((num_classes, X.shape[0]), dtype=np.float32)
    E = rng.standard_normal((num_classes, X.shape[1]), dtype=np.float32)
    products = best_of(3, lambda: (W @ X, E @ X.T))
    epoch_flops = 2 * 2 * num_classes * X.shape[0] * X.shape[1]
    return {
        "gemm_gflops": 2 * 2048 ** 3 / gemm_seconds / 1e9,
        "epoch_products_s": products,
        "epoch_gflop": epoch_flops / 1e9,
        "epoch_at_peak_s": epoch_flops / (2 * 2048 ** 3 / gemm_seconds),
    }


def softmax_regression_run(data, args) -> dict[str, float]:
    result = train_softmax_regression(data, epochs=args.epochs, seed=args.seed)
    history = result.history
    # Wall time to the target: whole epochs (training and the per-epoch evaluation) up to the first that reached it.
    reached = next((i for i, a in enumerate(history.val_accuracy) if a >= TARGET_ACCURACY), None)
    per_epoch_wall = result.wall_seconds / history.epochs
    return {
        "wall_s": result.wall_seconds,
        "time_to_target_s": float("nan") if reached is None else per_epoch_wall * (reached + 1),
        "epochs_to_target": float("nan") if reached is None else reached + 1,
        "test_accuracy": result.test_accuracy,
        "train_accuracy": history.train_accuracy[-1],
        "seconds_per_epoch": float(np.median(history.seconds)),
        "epochs": history.epochs,
    }


def sklearn_run(data) -> dict[str, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X_train, X_test = data.X_train.T, data.X_test.T  # scikit-learn wants samples as rows
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(solver="lbfgs", max_iter=100).fit(X_train, data.y_train)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "test_accuracy": float(model.score(X_test, data.y_test))}


def mlp_run(data, args) -> dict[str, float]:
    result = train_mlp(data, hidden=args.hidden, epochs=args.mlp_epochs, seed=args.seed)
    return {
        "wall_s": result.wall_seconds,
        "test_accuracy": result.test_accuracy,
        "seconds_per_epoch": float(np.median(result.history.seconds)),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8, help="softmax regression epochs")
    parser.add_argument("--hidden", type=int, default=100, help="MLP hidden units")
    parser.add_argument("--mlp-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn peer")
    parser.add_argument("--no-mlp", action="store_true", help="skip the MLP")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = load_mnist(dtype=np.float32)
    print(f"load_mnist (verified, float32):       {time.perf_counter() - start:6.2f} s")

    bound = machine_bound(add_bias_row(data.X_train), 10)
    print(f"float32 GEMM peak (2048^2):           {bound['gemm_gflops']:6.1f} GFLOP/s")
    print(f"one epoch's products, full data:      {bound['epoch_products_s']:6.3f} s "
          f"({bound['epoch_gflop']:.2f} GFLOP; {bound['epoch_at_peak_s']:.3f} s at peak)")

    ours = softmax_regression_run(data, args)
    print("\nsoftmax regression (reference, mini-batch SGD, 784->10)")
    print(f"  wall time to {TARGET_ACCURACY:.0%} test accuracy:     {ours['time_to_target_s']:6.2f} s "
          f"(epoch {ours['epochs_to_target']:.0f})")
    print(f"  wall time, {ours['epochs']} epochs:               {ours['wall_s']:6.2f} s")
    print(f"  test accuracy:                      {ours['test_accuracy']:6.2%}  (train {ours['train_accuracy']:.2%})")
    print(f"  seconds per epoch:                  {ours['seconds_per_epoch']:6.3f} s = "
          f"{ours['seconds_per_epoch'] / bound['epoch_products_s']:.2f}x the full-data products, "
          f"{ours['seconds_per_epoch'] / bound['epoch_at_peak_s']:.1f}x peak GEMM")

    if not args.no_sklearn:
        peer = sklearn_run(data)
        print("\nscikit-learn LogisticRegression(lbfgs, max_iter=100), same data")
        print(f"  wall time:                          {peer['wall_s']:6.2f} s")
        print(f"  test accuracy:                      {peer['test_accuracy']:6.2%}")
        print(f"  ratio (scikit-learn / reference):   {peer['wall_s'] / ours['wall_s']:6.1f}x")

    if not args.no_mlp:
        net = mlp_run(data, args)
        print(f"\nMLP 784->{args.hidden}->10 (ReLU, mini-batch 32, {args.mlp_epochs} epochs, fused softmax+cce)")
        print(f"  wall time:                          {net['wall_s']:6.2f} s  ({net['seconds_per_epoch']:.2f} s/epoch)")
        print(f"  test accuracy:                      {net['test_accuracy']:6.2%}")


if __name__ == "__main__":
    main()
