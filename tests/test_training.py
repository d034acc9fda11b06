"""Batch indices, the training loops, metrics and initialisation."""
import itertools

import numpy as np
import pytest

from course_lib import (
    accuracy,
    add_bias_row,
    confusion_matrix,
    epoch_batches,
    generate_batch_indices,
    glorot_weights,
    make_toy_data,
    minibatch_sgd,
    one_hot,
)
from course_lib.optim import SHUFFLED_COPY_FROM_EPOCHS
from course_lib.solutions.network import mlp, softmax_regression, train
from course_lib.solutions.softmax_regression import predict, softmax_loss_and_gradient


@pytest.mark.parametrize("num_samples, batch_size", [(11, 3), (64, 16), (10, 10), (7, 20), (1, 1)])
def test_batch_indices_cover_every_sample_once_per_epoch(num_samples, batch_size):
    stream = generate_batch_indices(num_samples, batch_size, np.random.default_rng(0))
    per_epoch = -(-num_samples // batch_size)
    epochs = [list(itertools.islice(stream, per_epoch)) for _ in range(4)]
    for batches in epochs:
        assert all(len(b) == batch_size for b in batches[:-1])
        assert sorted(np.concatenate(batches).tolist()) == list(range(num_samples))
    if num_samples > 3:
        orders = {tuple(np.concatenate(b)) for b in epochs}
        assert len(orders) > 1  # reshuffled each epoch


def test_batch_indices_are_reproducible_and_validated():
    a = list(itertools.islice(generate_batch_indices(11, 3, np.random.default_rng(4)), 10))
    b = list(itertools.islice(generate_batch_indices(11, 3, np.random.default_rng(4)), 10))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    with pytest.raises(ValueError, match="positive"):
        next(generate_batch_indices(0, 3, np.random.default_rng(0)))
    assert len(epoch_batches(11, 3, np.random.default_rng(0))) == 4


def _blobs(rng, D=5, C=3, N=64):
    centres = 3 * rng.standard_normal((D, C))
    y = rng.integers(0, C, N)
    X = centres[:, y] + rng.standard_normal((D, N))
    return X, y


def test_layer_training_lowers_the_loss_on_every_batch_loop():
    rng = np.random.default_rng(42)
    X, y = _blobs(rng)
    Y = one_hot(y, 3)
    net = softmax_regression(5, 3, rng)
    history = train(net, X, Y, epochs=30, batch_size=16, learning_rate=0.1, rng=rng)
    assert history.epochs == 30 and len(history.learning_rate) == 30
    assert history.loss[-1] < 0.3 * history.loss[0]
    assert accuracy(y, net.predict(X)) > 0.9


def test_fused_and_jacobian_training_take_the_same_steps():
    results = []
    for fused in (False, True):
        rng = np.random.default_rng(3)
        X, y = _blobs(rng)
        net = mlp(5, 4, 3, rng)
        history = train(net, X, one_hot(y, 3), epochs=5, batch_size=8, learning_rate=0.2, rng=rng, fused=fused)
        results.append((history.loss, net.layers[0].weights.copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10)


def test_learning_rate_decay_and_validation_history():
    rng = np.random.default_rng(8)
    X, y = _blobs(rng, N=40)
    net = mlp(5, 6, 3, rng, activation="relu")
    history = train(net, X, one_hot(y, 3), epochs=4, batch_size=10, learning_rate=0.5, rng=rng,
                    decay=0.5, validation=(X, y))
    np.testing.assert_allclose(history.learning_rate, [0.5, 0.25, 0.125, 0.0625])
    assert len(history.val_accuracy) == 4 and all(0 <= a <= 1 for a in history.val_accuracy)


def test_minibatch_sgd_trains_softmax_regression():
    rng = np.random.default_rng(9)
    X, y = _blobs(rng, D=4, N=200)
    Xb = add_bias_row(X)
    W0 = np.zeros((3, 5))
    W, history = minibatch_sgd(softmax_loss_and_gradient, W0, Xb, y, rng=rng, epochs=10, batch_size=32,
                               learning_rate=0.5, decay=0.9, predict=predict, validation=(Xb, y), progress=False)
    assert np.all(W0 == 0)  # the caller's array is not modified
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.learning_rate[1] == pytest.approx(0.45)
    assert history.train_accuracy[-1] > 0.9 and history.val_accuracy == history.train_accuracy
    with pytest.raises(ValueError, match="samples"):
        minibatch_sgd(softmax_loss_and_gradient, W0, Xb, y[:10], rng=rng, progress=False)


def test_toy_problem_is_learnable_end_to_end():
    rng = np.random.default_rng(1)
    X, y = make_toy_data(4, 5, 3, rng)
    Xb = add_bias_row(X / 255)
    W, history = minibatch_sgd(softmax_loss_and_gradient, np.zeros((3, 5)), Xb, y, rng=rng, epochs=300,
                               batch_size=5, learning_rate=1.0, progress=False)
    assert history.loss[-1] < 0.1 * history.loss[0]


def test_accuracy_and_confusion_matrix():
    y_true = np.array([0, 1, 2, 2, 1])
    y_pred = np.array([0, 2, 2, 2, 1])
    assert accuracy(y_true, y_pred) == pytest.approx(0.8)
    assert accuracy(one_hot(y_true, 3), one_hot(y_pred, 3)) == pytest.approx(0.8)
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), [[1, 0, 0], [0, 1, 1], [0, 0, 2]])
    assert confusion_matrix(y_true, y_pred, num_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="predictions"):
        accuracy(y_true, y_pred[:3])


def test_glorot_weights_shape_range_and_zero_bias():
    W = glorot_weights(10, 784, np.random.default_rng(0))
    assert W.shape == (10, 785) and np.all(W[:, -1] == 0)
    limit = np.sqrt(6 / 794)
    assert np.abs(W).max() <= limit
    assert abs(W[:, :-1].std() - limit / np.sqrt(3)) < 0.05 * limit


def test_momentum_zero_is_plain_sgd_and_averaging_returns_the_mean_iterate():
    rng = np.random.default_rng(12)
    X, y = _blobs(rng, D=3, N=30)
    Xb = add_bias_row(X)
    seen = []

    def recording(W, X_batch, y_batch):
        seen.append(W.copy())
        return softmax_loss_and_gradient(W, X_batch, y_batch)

    W_avg, _ = minibatch_sgd(recording, np.zeros((3, 4)), Xb, y, rng=np.random.default_rng(0), epochs=3,
                             batch_size=10, learning_rate=0.3, average_from=1, progress=False)
    W_plain, _ = minibatch_sgd(softmax_loss_and_gradient, np.zeros((3, 4)), Xb, y, rng=np.random.default_rng(0),
                               epochs=3, batch_size=10, learning_rate=0.3, progress=False)
    # The iterates after each step of epochs 1 and 2 are seen[4:] plus the final W_plain.
    np.testing.assert_allclose(W_avg, np.mean(seen[4:] + [W_plain], axis=0), rtol=1e-12)
    W_mom, _ = minibatch_sgd(softmax_loss_and_gradient, np.zeros((3, 4)), Xb, y, rng=np.random.default_rng(0),
                             epochs=3, batch_size=10, learning_rate=0.3, momentum=0.9, progress=False)
    assert not np.allclose(W_mom, W_plain)
    with pytest.raises(ValueError, match="momentum"):
        minibatch_sgd(softmax_loss_and_gradient, np.zeros((3, 4)), Xb, y, rng=rng, momentum=1.0, progress=False)


def test_train_accuracy_on_a_fixed_sample_then_exact_after_the_last_epoch():
    rng = np.random.default_rng(21)
    X, y = _blobs(rng, D=4, N=200)
    Xb = add_bias_row(X)
    seen = []

    def recording_predict(W, X):
        seen.append(X.shape[1])
        return predict(W, X)

    W, history = minibatch_sgd(softmax_loss_and_gradient, np.zeros((3, 5)), Xb, y, rng=rng, epochs=3,
                               batch_size=32, predict=recording_predict, train_sample=50, threads=1,
                               progress=False)
    assert seen == [50, 50, 200]  # every 4th column, then all of them
    assert history.train_accuracy[-1] == accuracy(y, predict(W, Xb))
    assert len(history.train_accuracy) == 3


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shuffled_copy", [True, False])
def test_batches_are_blocks_of_one_shuffle_visited_in_a_new_order_each_epoch(shuffled_copy, order):
    rng = np.random.default_rng(2)
    X, y = _blobs(rng, D=4, N=37)
    Xb = np.asarray(add_bias_row(X), order=order)
    batches = []

    def recording(W, X_batch, y_batch):
        assert X_batch.flags.f_contiguous  # one block of whole samples, as the BLAS reads it
        if shuffled_copy:
            assert not X_batch.flags.owndata and X_batch.base.shape == (37, 5)  # read where it lies
        batches.append((X_batch.copy(), y_batch.copy()))
        return softmax_loss_and_gradient(W, X_batch, y_batch)

    minibatch_sgd(recording, np.zeros((3, 5)), Xb, y, rng=np.random.default_rng(5), epochs=2, batch_size=8,
                  threads=None, progress=False, shuffled_copy=shuffled_copy)
    same_rng = np.random.default_rng(5)
    order = same_rng.permutation(37)
    starts = [start for _ in range(2) for start in same_rng.permutation(np.arange(0, 37, 8))]
    assert len(batches) == len(starts) == 2 * 5
    for (X_batch, y_batch), start in zip(batches, starts):
        np.testing.assert_array_equal(X_batch, Xb[:, order[start:start + 8]])
        np.testing.assert_array_equal(y_batch, y[order[start:start + 8]])
    epochs = [np.concatenate([X_batch[0] for X_batch, _ in batches[5 * e:5 * e + 5]]) for e in range(2)]
    for seen in epochs:  # every sample once per epoch
        np.testing.assert_array_equal(np.sort(seen), np.sort(Xb[0]))
    assert not np.array_equal(epochs[0], epochs[1])  # in a new order


@pytest.mark.parametrize("epochs", [1, 3, 5])
def test_the_shuffled_copy_changes_nothing_but_where_batches_are_read(epochs):
    rng = np.random.default_rng(6)
    X, y = _blobs(rng, D=6, N=90)
    Xb = add_bias_row(X).astype(np.float32)
    results = []
    for shuffled_copy in (True, False, None):
        W, history = minibatch_sgd(softmax_loss_and_gradient, np.zeros((3, 7), np.float32), Xb, y,
                                   rng=np.random.default_rng(1), epochs=epochs, batch_size=16, momentum=0.9,
                                   average_from=1, threads=None, progress=False, shuffled_copy=shuffled_copy)
        results.append((W, history.loss))
    for W, loss in results[1:]:  # bit for bit: the same batches in the same layout
        np.testing.assert_array_equal(W, results[0][0])
        assert loss == results[0][1]


def test_only_longer_trainings_copy_the_samples():
    rng = np.random.default_rng(7)
    X, y = _blobs(rng, D=4, N=40)
    Xb = add_bias_row(X)
    copied = []

    def recording(W, X_batch, y_batch):
        copied.append(X_batch.base is not None and X_batch.base.shape == (40, 5))
        return softmax_loss_and_gradient(W, X_batch, y_batch)

    for epochs in (SHUFFLED_COPY_FROM_EPOCHS - 1, SHUFFLED_COPY_FROM_EPOCHS):
        copied.clear()
        minibatch_sgd(recording, np.zeros((3, 5)), Xb, y, rng=rng, epochs=epochs, batch_size=8, threads=None,
                      progress=False)
        assert set(copied) == {epochs >= SHUFFLED_COPY_FROM_EPOCHS}


def test_one_hot_targets_follow_their_samples():
    rng = np.random.default_rng(3)
    X, y = _blobs(rng, D=4, N=30)
    Xb, Y = add_bias_row(X), one_hot(y, 3)
    pairs = []

    def recording(W, X_batch, Y_batch):
        pairs.append((X_batch.copy(), Y_batch.copy()))
        return np.zeros(()), np.zeros_like(W)

    minibatch_sgd(recording, np.zeros((3, 5)), Xb, Y, rng=np.random.default_rng(0), epochs=1, batch_size=7,
                  threads=None, progress=False)
    for X_batch, Y_batch in pairs:
        columns = [int(np.flatnonzero((Xb == X_batch[:, [k]]).all(axis=0))[0]) for k in range(X_batch.shape[1])]
        np.testing.assert_array_equal(Y_batch, Y[:, columns])
    with pytest.raises(ValueError, match="batch_size"):
        minibatch_sgd(recording, np.zeros((3, 5)), Xb, Y, rng=rng, batch_size=0, progress=False)
