"""Train the reference models on the full MNIST and compare with peers measured in the same run.

Prints: load time; the BLAS threads used (sized to the CPUs this process may use, as
course-lib-train does) and why; the machine's float32 matrix-multiply GFLOP/s and the time of one
epoch's two full-data products (the bound an epoch is measured against, taken right before each
run, so each run is compared with its own moment on a shared machine); the reference softmax regression's wall time to 92% and 92.5% test accuracy, its final test
accuracy and seconds per epoch against that bound; scikit-learn's LogisticRegression (lbfgs) and,
when installed, PyTorch CPU on the same model, batches and epochs (and its idiomatic loop, which
gathers a freshly permuted batch each step), with every time ratio; the
one-hidden-layer MLP and PyTorch on the same architecture, batch and epochs.

    python benchmarks/train_mnist.py            # everything
    python benchmarks/train_mnist.py --no-sklearn --mlp-epochs 3
    python benchmarks/train_mnist.py --threads default   # the BLAS library's own thread count

PyTorch is optional (its CPU build, e.g. torch==2.13.0+cpu); without it its peers are skipped with
the reason printed. Each training run is repeated (--repeats) and the fastest kept; every ratio
compares runs of this process, so a busy machine slows both sides.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from course_lib import add_bias_row, load_mnist
from course_lib.solutions.recipes import train_mlp, train_softmax_regression
from course_lib.threads import blas_threads, resolve_threads

TARGETS = (0.92, 0.925)


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
    products = best_of(5, lambda: (W @ X, E @ X.T))
    epoch_flops = 2 * 2 * num_classes * X.shape[0] * X.shape[1]
    return {
        "gemm_gflops": 2 * 2048 ** 3 / gemm_seconds / 1e9,
        "epoch_products_s": products,
        "epoch_gflop": epoch_flops / 1e9,
        "epoch_at_peak_s": epoch_flops / (2 * 2048 ** 3 / gemm_seconds),
    }


def time_to(accuracies, target: float, per_epoch: float) -> tuple[float, float]:
    """(wall time, epochs) to the first epoch whose test accuracy reached ``target`` (nan if none)."""
    reached = next((i for i, a in enumerate(accuracies) if a >= target), None)
    return (float("nan"), float("nan")) if reached is None else (per_epoch * (reached + 1), reached + 1)


def products_seconds(X: np.ndarray, repeats: int = 5) -> tuple[float, float]:
    """(wall, CPU) seconds of an epoch's two full-data products, the fastest of ``repeats``."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((10, X.shape[0]), dtype=np.float32)
    E = rng.standard_normal((10, X.shape[1]), dtype=np.float32)
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        W @ X, E @ X.T
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def softmax_regression_run(data, args, X_bound) -> dict:
    """``args.repeats`` runs, each right after a measure of the bound (the machine may be shared,
    so each run is compared with the bound of its own moment); the fastest run's figures."""
    runs, cpu, bounds = [], [], []
    for _ in range(args.repeats):
        bounds.append(products_seconds(X_bound))
        start = time.process_time()
        runs.append(train_softmax_regression(data, epochs=args.epochs, seed=args.seed, threads=args.threads))
        cpu.append(time.process_time() - start)
    best = int(np.argmin([r.wall_seconds for r in runs]))
    result = runs[best]
    history = result.history
    # Wall time to a target: whole epochs (training and the per-epoch evaluation) up to the first that reached it.
    per_epoch_wall = result.wall_seconds / history.epochs
    return {
        "wall_s": result.wall_seconds,
        "cpu_s": min(cpu),
        "all_walls": [r.wall_seconds for r in runs],
        "to_target": {t: time_to(history.val_accuracy, t, per_epoch_wall) for t in TARGETS},
        "test_accuracy": result.test_accuracy,
        "train_accuracy": history.train_accuracy[-1],
        "seconds_per_epoch": float(np.median(history.seconds)),
        "wall_per_epoch": per_epoch_wall,
        "epochs": history.epochs,
        # per run: its median training epoch / the products measured right before it
        "epoch_ratios": [float(np.median(r.history.seconds)) / b[0] for r, b in zip(runs, bounds)],
        "bounds": bounds,
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


def torch_or_reason():
    """(torch module, None) or (None, why it is skipped)."""
    try:
        import torch
    except ImportError as error:
        return None, f"PyTorch is not installed ({error}); install its CPU build to add this peer"
    return torch, None


def torch_sgd(torch, model, X, y, X_test, y_test, *, epochs, batch_size, learning_rate, decay, momentum,
              seed, threads, sampling="reshuffle"):
    """PyTorch's loop: samples as rows, cross_entropy on the logits, SGD with momentum, the learning
    rate decayed per epoch, test accuracy after each epoch. ``sampling="reshuffle"`` draws a fresh
    permutation per epoch and gathers each batch (the idiomatic loop, as ``train_mlp``);
    ``"blocks"`` shuffles once into a copy and visits its contiguous batches in a fresh order per
    epoch (as ``minibatch_sgd``)."""
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    X, y = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(y)
    X_test, y_test = torch.from_numpy(np.ascontiguousarray(X_test)), torch.from_numpy(y_test)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=momentum)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=decay)
    generator = torch.Generator().manual_seed(seed)
    accuracies = []
    start, cpu = time.perf_counter(), time.process_time()
    N = X.shape[0]
    if sampling == "blocks":
        order = torch.randperm(N, generator=generator)
        X, y = X[order].contiguous(), y[order]
    for _ in range(epochs):
        if sampling == "blocks":
            batches = [slice(first, first + batch_size)
                       for first in (torch.randperm((N + batch_size - 1) // batch_size, generator=generator)
                                     * batch_size).tolist()]
        else:
            order = torch.randperm(N, generator=generator)
            batches = [order[first:first + batch_size] for first in range(0, N, batch_size)]
        for batch in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
        schedule.step()
        with torch.no_grad():
            accuracies.append((model(X_test).argmax(dim=1) == y_test).float().mean().item())
    return {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "accuracies": accuracies, "test_accuracy": accuracies[-1]}


def torch_softmax_regression(torch, data, args, sampling="blocks") -> dict:
    """The same model and recipe: 784 -> 10 on centred pixels, batch 250, learning rate 0.5 x 0.9 per
    epoch, momentum 0.9, the batches of ``minibatch_sgd`` (``sampling``; PyTorch has no iterate
    averaging in its loop; that costs us, not it)."""
    mean = data.X_train.mean(axis=1, keepdims=True)
    runs = []
    for _ in range(args.repeats):
        model = torch.nn.Linear(784, 10)
        torch.nn.init.zeros_(model.weight), torch.nn.init.zeros_(model.bias)
        runs.append(torch_sgd(torch, model, (data.X_train - mean).T, data.y_train, (data.X_test - mean).T,
                              data.y_test, epochs=args.epochs, batch_size=250, learning_rate=0.5, decay=0.9,
                              momentum=0.9, seed=args.seed, threads=args.thread_count, sampling=sampling))
    return min(runs, key=lambda r: r["wall_s"])


def torch_mlp(torch, data, args) -> dict:
    """784 -> hidden (ReLU) -> 10, batch 32, learning rate 0.1 x 0.85 per epoch, no momentum."""
    runs = []
    for _ in range(max(1, args.repeats - 1)):
        model = torch.nn.Sequential(torch.nn.Linear(784, args.hidden), torch.nn.ReLU(), torch.nn.Linear(args.hidden, 10))
        runs.append(torch_sgd(torch, model, data.X_train.T, data.y_train, data.X_test.T, data.y_test,
                              epochs=args.mlp_epochs, batch_size=32, learning_rate=0.1, decay=0.85, momentum=0.0,
                              seed=args.seed, threads=args.thread_count))
    return min(runs, key=lambda r: r["wall_s"])


def mlp_run(data, args) -> dict[str, float]:
    runs, cpu = [], []
    for _ in range(max(1, args.repeats - 1)):
        start = time.process_time()
        runs.append(train_mlp(data, hidden=args.hidden, epochs=args.mlp_epochs, seed=args.seed, threads=args.threads))
        cpu.append(time.process_time() - start)
    result = min(runs, key=lambda r: r.wall_seconds)
    return {
        "wall_s": result.wall_seconds,
        "cpu_s": min(cpu),
        "test_accuracy": result.test_accuracy,
        "seconds_per_epoch": float(np.median(result.history.seconds)),
    }


def line(label: str, text: str) -> None:
    print(f"  {label + ':':36s}{text}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8, help="softmax regression epochs")
    parser.add_argument("--hidden", type=int, default=100, help="MLP hidden units")
    parser.add_argument("--mlp-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each trainer; the fastest is kept")
    parser.add_argument("--threads", default="auto", help="BLAS threads: auto, default or a number")
    parser.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn peer")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch peers")
    parser.add_argument("--no-mlp", action="store_true", help="skip the MLP")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = load_mnist(dtype=np.float32)
    print(f"load_mnist (verified, float32):       {time.perf_counter() - start:6.2f} s")

    # Load the peers' libraries first: the thread limit below applies to the BLAS libraries loaded then.
    if not args.no_sklearn:
        import sklearn.linear_model  # noqa: F401
    if not args.no_torch:
        torch_or_reason()
    args.threads = None if args.threads == "default" else (args.threads if args.threads == "auto" else int(args.threads))
    choice = resolve_threads(args.threads)
    args.threads = None if choice is None else choice.threads  # one count for every run of this process
    with blas_threads(args.threads) as applied:
        from threadpoolctl import threadpool_info

        args.thread_count = max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        why = "the BLAS library's default" if choice is None else choice.reason
        print(f"BLAS threads (every run, PyTorch too): {args.thread_count} ({why})")
        run(data, args)


def run(data, args) -> None:
    X_bound = add_bias_row(data.X_train)
    bound = machine_bound(X_bound, 10)
    print(f"float32 GEMM peak (2048^2):           {bound['gemm_gflops']:6.1f} GFLOP/s")

    ours = softmax_regression_run(data, args, X_bound)
    products = float(np.median([b[0] for b in ours["bounds"]]))
    print(f"one epoch's products, full data:      {products:6.3f} s median before the runs ("
          + ", ".join(f"{b[0]:.3f}" for b in ours["bounds"])
          + f"; {bound['epoch_gflop']:.2f} GFLOP; {bound['epoch_at_peak_s']:.3f} s at peak)")

    print("\nsoftmax regression (reference, mini-batch SGD, 784->10, batch 250)")
    for target, (seconds, epochs) in ours["to_target"].items():
        line(f"wall time to {target:.1%} test accuracy", f"{seconds:6.2f} s (epoch {epochs:.0f})")
    line(f"wall time, {ours['epochs']} epochs", f"{ours['wall_s']:6.2f} s (runs: "
         + ", ".join(f"{w:.2f}" for w in ours["all_walls"]) + ")")
    line("test accuracy", f"{ours['test_accuracy']:6.2%}  (train {ours['train_accuracy']:.2%})")
    line("seconds per epoch (training)", f"{ours['seconds_per_epoch']:6.3f} s, "
         f"{ours['seconds_per_epoch'] / bound['epoch_at_peak_s']:.1f}x peak GEMM")
    line("epoch / products, each run", ", ".join(f"{r:.2f}x" for r in ours["epoch_ratios"])
         + f" wall: median {np.median(ours['epoch_ratios']):.2f}x (target <= 1.5x)")
    line("seconds per epoch (with evaluation)", f"{ours['wall_per_epoch']:6.3f} s = "
         f"{ours['wall_per_epoch'] / products:.2f}x the median products")
    to_925 = ours["to_target"][0.925][0]

    if not args.no_sklearn:
        with warnings.catch_warnings():
            peer = sklearn_run(data)
        print("\nscikit-learn LogisticRegression(lbfgs, max_iter=100), same data")
        line("wall time", f"{peer['wall_s']:6.2f} s")
        line("test accuracy", f"{peer['test_accuracy']:6.2%}")
        line("ratio to our 92.5%", f"{peer['wall_s'] / to_925:6.1f}x (target >= 15x)")
        line(f"ratio to our {ours['epochs']} epochs", f"{peer['wall_s'] / ours['wall_s']:6.1f}x")

    torch, reason = (None, "--no-torch") if args.no_torch else torch_or_reason()
    if torch is None:
        print(f"\nPyTorch peers skipped: {reason}")
    else:
        peer = torch_softmax_regression(torch, data, args)
        reached, epochs = time_to(peer["accuracies"], 0.925, peer["wall_s"] / args.epochs)
        print(f"\nPyTorch {torch.__version__} CPU, same model and recipe ({args.epochs} epochs, batch 250)")
        line("wall time", f"{peer['wall_s']:6.2f} s (92.5% at epoch {epochs:.0f}: {reached:.2f} s)")
        line("test accuracy", f"{peer['test_accuracy']:6.2%}")
        line("ratio, same epochs", f"{peer['wall_s'] / ours['wall_s']:6.2f}x wall (target >= 2x), "
             f"{peer['cpu_s'] / ours['cpu_s']:.2f}x CPU time")
        line("ratio, time to 92.5%", f"{reached / to_925:6.2f}x")
        idiomatic = torch_softmax_regression(torch, data, args, sampling="reshuffle")
        print("PyTorch, its idiomatic loop (a fresh permutation per epoch, each batch gathered)")
        line("wall time", f"{idiomatic['wall_s']:6.2f} s, {idiomatic['wall_s'] / ours['wall_s']:.2f}x ours, "
             f"test accuracy {idiomatic['test_accuracy']:.2%}")

    if not args.no_mlp:
        net = mlp_run(data, args)
        print(f"\nMLP 784->{args.hidden}->10 (ReLU, mini-batch 32, {args.mlp_epochs} epochs, solutions.mlp backprop)")
        line("wall time", f"{net['wall_s']:6.2f} s  ({net['seconds_per_epoch']:.2f} s/epoch)")
        line("test accuracy", f"{net['test_accuracy']:6.2%}")
        if torch is not None:
            peer = torch_mlp(torch, data, args)
            print(f"PyTorch {torch.__version__} CPU, same architecture, batch and epochs")
            line("wall time", f"{peer['wall_s']:6.2f} s")
            line("test accuracy", f"{peer['test_accuracy']:6.2%}")
            line("ratio (PyTorch / reference)", f"{peer['wall_s'] / net['wall_s']:6.2f}x wall (target >= 2x), "
                 f"{peer['cpu_s'] / net['cpu_s']:.2f}x CPU time")


if __name__ == "__main__":
    main()
