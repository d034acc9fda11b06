"""Visible checks of a training loop over layers (``train_layers`` of the layers notebook), on
what ``spies.loop_trace`` recorded: batches, forward and backward, the loss and its gradient per
batch, the epoch losses. The grader's judge analyses the same trace sent back by the probe.
Failures name mistakes of ``LOOP_MISTAKES`` (part of ``checks.layers.MISTAKES``)."""
from __future__ import annotations

import numpy as np

from course_lib.checks.common import CheckFailure, call, close, coerce, failure, fmt, passed
from course_lib.checks.spies import LOOP_LEARNING_RATE, LossCalls, loop_data, loop_trace

LOOP_MISTAKES = {
    "loop_wrong_return": "the loop does not return one mean loss per epoch",
    "loop_one_step_per_epoch": "the loop trains once per epoch instead of on every batch",
    "loop_backward_not_every_batch": "the loop does not run backward after every forward",
    "loop_reuses_one_batch": "the loop trains on the same batch again and again",
    "loop_batches_do_not_cover_epoch": "an epoch's batches do not cover every sample exactly once",
    "loop_never_reshuffles": "the loop uses the same batch order in every epoch",
    "loop_forward_not_chained": "the loop does not feed each layer's output into the next layer",
    "loop_backward_order": "the loop runs backward in the wrong order of layers",
    "loop_gradient_not_chained": "the loop does not pass each backward's result to the previous layer",
    "loop_labels_not_sliced_with_batch": "the loop takes Y_batch from other columns than X_batch",
    "loop_labels_transposed": "the loop gives the loss the labels transposed (samples as rows)",
    "loop_gradient_not_divided_by_batch_size": "the loop does not divide cce_gradient by the batch size",
    "loop_learning_rate_not_passed": "the loop does not pass learning_rate to backward",
    "loop_loss_not_reset_each_epoch": "the loop keeps adding to the loss across epochs",
    "loop_loss_sum_of_batch_means": "the loop sums the batch losses instead of averaging per sample",
    "loop_loss_last_batch_only": "the loop reports only the last batch's loss",
    "loop_steps_per_sample": "the loop runs forward and backward once per sample instead of once per batch",
    "loop_reaches_into_layer": "the loop reaches into a layer (its weights) instead of calling forward and backward",
}

# The loop's mistakes of the batch-versus-one-sample family (right for batches of one sample).
LOOP_BATCH_MISTAKES = {
    "loop_steps_per_sample": "per_sample_steps",
    "loop_gradient_not_divided_by_batch_size": "sum_not_mean",
    "loop_loss_sum_of_batch_means": "sum_not_mean",
    "loop_labels_transposed": "rows_as_samples",
}

PER_SAMPLE = ("the loop runs forward and backward once per sample ({count} steps per epoch for {batches} batches): "
              "that is right for batches of one sample, but a batch is one step of gradient descent on the mean "
              "loss of its samples. Pass the whole batch X[:, batch] through the layers at once (they take samples "
              "as columns) and divide cce_gradient by len(batch)")


# --- the training loop -----------------------------------------------------------------------

def check_training_loop(train_layers, *, num_samples=11, batch_size=3, epochs=3, seed=5) -> None:
    """``train_layers(network, X, Y, epochs, batch_size, learning_rate, rng)`` on a list of spy
    layers: every batch of every epoch goes forward through the layers in order and backward
    in reverse; the loop returns the mean loss per epoch. The loop is checked with stand-ins for
    ``cce`` and ``cce_gradient`` (when it calls them by those names), so a mistake in those two
    costs nothing here."""
    name = "train_layers"
    trace = run_loop(name, loop_trace, train_layers, num_samples=num_samples, batch_size=batch_size, epochs=epochs,
                     seed=seed)
    check_loop_trace(trace, num_samples=num_samples, batch_size=batch_size, epochs=epochs, seed=seed)


def check_loop_trace(trace: dict, *, num_samples=11, batch_size=3, epochs=3, seed=5) -> None:
    """The checks of ``check_training_loop`` on what ``spies.loop_trace`` recorded (plain data,
    so that the grader can judge a trace made in the grading kernel)."""
    name = "train_layers"
    X, Y, P = loop_data(num_samples, 3, np.random.default_rng(seed))
    learning_rate = LOOP_LEARNING_RATE
    result, log = trace["result"], trace["log"]
    spies = LossCalls(trace["losses"], trace["gradients"]) if trace["spied"] else None
    if result is None or np.ndim(result) != 1 or np.size(result) != epochs:
        raise failure(name, "loop_wrong_return",
                       f"should return a list of {epochs} numbers (the mean loss of each epoch), got {result!r:.80}")
    losses = coerce(name, result, "the returned losses")
    per_epoch = -(-num_samples // batch_size)
    forwards = [entry for entry in log if entry[:2] == ("forward", "table")]
    backwards = [entry for entry in log if entry[:2] == ("backward", "table")]
    if len(forwards) == epochs:
        raise failure(name, "loop_one_step_per_epoch",
                       f"{epochs} forward passes in {epochs} epochs: train on every batch ({per_epoch} per epoch)")
    if len(forwards) == epochs * num_samples and all(entry[2].shape[1] == 1 for entry in forwards) and batch_size > 1:
        raise failure(name, "loop_steps_per_sample", PER_SAMPLE.format(count=num_samples, batches=per_epoch))
    if len(forwards) != epochs * per_epoch:
        raise failure(name, "loop_batches_do_not_cover_epoch",
                       f"{len(forwards)} forward passes, expected {epochs} epochs x {per_epoch} batches of "
                       f"{num_samples} samples with batch size {batch_size}")
    if len(backwards) != len(forwards):
        raise failure(name, "loop_backward_not_every_batch",
                       f"{len(forwards)} forward passes but {len(backwards)} backward passes: every batch needs both")
    if any(np.all(entry[2][0] < 50) for entry in forwards):
        raise failure(name, "loop_forward_not_chained",
                       "the last layer got X_batch instead of the previous layer's output: each layer's forward "
                       "must get the output of the layer before it")
    ids = [np.rint(entry[2][0] - 100).astype(int) for entry in forwards]
    for e in range(epochs):
        steps = ids[e * per_epoch:(e + 1) * per_epoch]
        if all(np.array_equal(steps[0], other) for other in steps):
            raise failure(name, "loop_reuses_one_batch",
                           f"every step of epoch {e} trained on the same samples {steps[0].tolist()}: slice X with "
                           f"the indices of the current batch")
    epochs_ids = [np.concatenate(ids[e * per_epoch:(e + 1) * per_epoch]) for e in range(epochs)]
    for e, seen in enumerate(epochs_ids):
        if sorted(seen.tolist()) != list(range(num_samples)):
            raise failure(name, "loop_batches_do_not_cover_epoch",
                           f"epoch {e} trained on samples {sorted(seen.tolist())}; each epoch should see every "
                           f"sample 0..{num_samples - 1} exactly once")
    if all(np.array_equal(epochs_ids[0], other) for other in epochs_ids):
        raise failure(name, "loop_never_reshuffles", "every epoch visits the samples in the same order: "
                                                      "draw new batches each epoch")
    order = [entry[:2] for entry in log]
    step = [("forward", "tag"), ("forward", "table"), ("backward", "table"), ("backward", "tag")]
    if order != step * (epochs * per_epoch):
        raise failure(name, "loop_backward_order",
                       "each step should run forward through the layers in order, then backward through them in "
                       "reverse order (for layer in reversed(network))")
    tag_backwards = [entry for entry in log if entry[:2] == ("backward", "tag")]
    for k, (table_entry, tag_entry) in enumerate(zip(backwards, tag_backwards)):
        if table_entry[3] != learning_rate or tag_entry[3] != learning_rate:
            raise failure(name, "loop_learning_rate_not_passed",
                           f"backward got learning_rate {table_entry[3]!r}, expected {learning_rate}")
        if not (tag_entry[2].shape == (2, len(ids[k])) and np.all(tag_entry[2] == 1001.0 + k)):
            raise failure(name, "loop_gradient_not_chained",
                           "each layer's backward should get the gradient returned by the backward of the layer "
                           "after it: pass the returned gradient on")
    if spies is not None:
        _check_loop_with_spies(name, spies, Y, P, ids, backwards, losses, epochs, per_epoch, num_samples)
        return
    for k, (entry, batch) in enumerate(zip(backwards, ids)):
        gradient = entry[2]
        expected = -Y[:, batch] / P[:, batch] / len(batch)
        if gradient.shape != expected.shape:
            raise failure(name, "wrong_shape", f"the last layer's backward got a gradient of shape {gradient.shape}, "
                                                f"expected {expected.shape} (classes x batch size)")
        if close(gradient, expected):
            continue
        if close(gradient, expected * len(batch)):
            raise failure(name, "loop_gradient_not_divided_by_batch_size",
                           "the loss of a batch is the mean over its samples: divide cce_gradient by len(batch)")
        if not np.array_equal(np.abs(gradient) > 0, Y[:, batch] > 0):
            raise failure(name, "loop_labels_not_sliced_with_batch",
                           "the gradient is nonzero at other classes than the batch's labels: Y_batch must hold the "
                           "labels of the same samples (columns) as X_batch")
        raise failure(name, "wrong_value", "the gradient passed to the last layer should be the per-sample "
                                            "gradient of the loss divided by the batch size (is cce_gradient right?)")
    # P is fixed, so every epoch's mean loss is the same: -mean_n log P[y_n, n].
    batch_losses = [[float(-np.mean(np.log(np.sum(Y[:, b] * P[:, b], axis=0)))) for b in
                     ids[e * per_epoch:(e + 1) * per_epoch]] for e in range(epochs)]
    _check_epoch_losses(name, losses, batch_losses, ids, per_epoch, num_samples, "(is cce right?)")


def _check_loop_with_spies(name, spies, Y, P, ids, backwards, losses, epochs, per_epoch, num_samples) -> None:
    """The loss and gradient steps of a loop that called the stand-ins: each on the batch's labels
    and the network's output, the gradient divided by the batch size, the losses averaged per sample."""
    steps = epochs * per_epoch
    for calls, what in ((spies.gradients, "cce_gradient"), (spies.losses, "cce")):
        if len(calls) != steps:
            raise failure(name, "wrong_value", f"{what} was called {len(calls)} times in {steps} steps: call it "
                                                f"once per batch")
        for k, ((y, yhat), batch) in enumerate(zip(calls, ids)):
            right = y.shape == Y[:, batch].shape and np.array_equal(y, Y[:, batch])
            if not right and y.shape == Y[:, batch].T.shape and np.array_equal(y, Y[:, batch].T):
                raise failure(name, "loop_labels_transposed",
                              f"{what} got the batch's labels transposed, shape {y.shape} (samples as rows); in this "
                              f"course samples are columns: Y_batch = Y[:, batch], of shape (classes, batch size) "
                              f"like the network's output")
            if y.shape != Y[:, batch].shape or not np.array_equal(y, Y[:, batch]):
                if y.shape == Y[:, batch].shape and np.array_equal(yhat, P[:, batch]):
                    raise failure(name, "loop_labels_not_sliced_with_batch",
                                  f"{what} got labels of other samples than the batch's: Y_batch must hold the "
                                  f"labels of the same samples (columns) as X_batch")
                if y.shape == P[:, batch].shape and np.array_equal(y, P[:, batch]):
                    raise failure(name, "wrong_value", f"{what} got (output, labels): its arguments are "
                                                        f"(y, yhat), the labels first")
                raise failure(name, "loop_labels_not_sliced_with_batch",
                              f"{what} got labels of shape {y.shape}, expected the batch's labels "
                              f"{Y[:, batch].shape}: Y_batch must hold the same samples (columns) as X_batch")
            if yhat.shape != P[:, batch].shape or not np.array_equal(yhat, P[:, batch]):
                raise failure(name, "wrong_value", f"{what} must get the network's output for the batch (the "
                                                    f"last layer's forward result) as yhat")
    for k, entry in enumerate(backwards):
        gradient, size = entry[2], len(ids[k])
        marker = np.full(P[:, ids[k]].shape, 4.0 + k)  # what the stand-in returned at step k
        if gradient.shape != marker.shape:
            raise failure(name, "wrong_shape", f"the last layer's backward got a gradient of shape {gradient.shape}, "
                                                f"expected {marker.shape} (classes x batch size)")
        if close(gradient, marker / size):
            continue
        if close(gradient, marker):
            raise failure(name, "loop_gradient_not_divided_by_batch_size",
                           "the loss of a batch is the mean over its samples: divide cce_gradient by len(batch)")
        raise failure(name, "wrong_value", "the last layer's backward should get cce_gradient(Y_batch, output) "
                                            "divided by the batch size")
    values = [0.5 + (k + 1) / 8 for k in range(steps)]
    batch_losses = [values[e * per_epoch:(e + 1) * per_epoch] for e in range(epochs)]
    _check_epoch_losses(name, losses, batch_losses, ids, per_epoch, num_samples, "")


def _check_epoch_losses(name, losses, batch_losses, ids, per_epoch, num_samples, hint) -> None:
    """Each epoch's loss is the mean over its samples of the batch losses (batch means weighted by size)."""
    epochs = len(batch_losses)
    sizes = [[len(b) for b in ids[e * per_epoch:(e + 1) * per_epoch]] for e in range(epochs)]
    expected = np.array([sum(v * n for v, n in zip(bl, sz)) / num_samples for bl, sz in zip(batch_losses, sizes)])
    if close(losses, expected):
        passed(name, 8)
        return
    if close(losses, np.cumsum(expected)):
        raise failure(name, "loop_loss_not_reset_each_epoch",
                       "the loss keeps growing from epoch to epoch: set total_loss = 0 at the start of each epoch")
    if close(losses, np.array([sum(b) for b in batch_losses])) or \
            close(losses, np.array([sum(b) / num_samples for b in batch_losses])):
        raise failure(name, "loop_loss_sum_of_batch_means",
                      "the batch losses were added up as they are, but each is a mean over its batch: weight "
                      "each by its number of samples (the batches differ in size) and divide the epoch's total "
                      "by the number of samples")
    if close(losses, np.array([b[-1] for b in batch_losses])):
        raise failure(name, "loop_loss_last_batch_only",
                       "this is only the last batch's loss; add up every batch's loss over the epoch")
    raise failure(name, "wrong_value", f"expected the mean loss per sample of each epoch, {fmt(expected)}, "
                                        f"got {fmt(losses)} {hint}".rstrip())



def run_loop(name: str, function, *args, **kwargs):
    """``call`` for running a loop on the test's layers: an error on a layer's attribute (the loop
    reached for ``network[0].weights``) is the mistake ``loop_reaches_into_layer``."""
    try:
        return call(name, function, *args, **kwargs)
    except CheckFailure as error:
        if error.mistake == "raised" and "reached into a layer" in str(error):
            raise failure(None, "loop_reaches_into_layer", str(error)) from None
        raise
