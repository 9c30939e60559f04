"""Sequence training: examples from timelines (the pieces ExampleGen writes, in memory), and
the fit honouring train_steps and the optimizer."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.model import sequence_training
from components.model.hparams import HParams
from components.model.recommender import Recommender
from components.transform import ids
from configs import input_config


def _known_timeline(movies: np.ndarray) -> sequence_training.Timeline:
    """A timeline whose every next movie is a training label."""
    next_movies = np.r_[movies[1:], ids.PADDING].astype(np.int32)
    return sequence_training.Timeline({"context_movie_id": movies}, next_movies)


def test_sequence_examples_make_every_activity_a_target_once():
    timeline = _known_timeline(np.arange(1, 12, dtype=np.int32))  # 11 activities
    inputs, targets = sequence_training.sequence_examples([timeline], length=4)
    inputs = inputs["context_movie_id"]
    assert inputs.shape == targets.shape and inputs.shape[1] == 4
    real_targets = targets[targets != ids.PADDING]
    assert sorted(real_targets.tolist()) == list(range(2, 12))
    for row_inputs, row_targets in zip(inputs, targets, strict=True):
        real = row_inputs != ids.PADDING
        # The target at each real position is the activity right after its input.
        assert (row_targets[real] == row_inputs[real] + 1).all()


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
def test_overlapping_pieces_target_every_label_once_with_a_longer_context(stride):
    movies = np.arange(1, 12, dtype=np.int32)  # 11 activities, 10 labels
    timeline = _known_timeline(movies)
    inputs, targets = sequence_training.sequence_examples([timeline], length=4, stride=stride)
    inputs = inputs["context_movie_id"]
    assert sorted(targets[targets != ids.PADDING].tolist()) == list(range(2, 12))
    for row_inputs, row_targets in zip(inputs, targets, strict=True):
        for position in np.flatnonzero(row_targets != ids.PADDING):
            context = row_inputs[: position + 1]
            context = context[context != ids.PADDING]
            # The input before the target is its activity, and every target past the
            # timeline's first piece sees at least length - stride earlier activities.
            assert row_targets[position] == context[-1] + 1
            assert len(context) >= min(row_targets[position] - 1, 4 - stride + 1)
    # Pieces end at 10, 10 - stride, ... while they start after the timeline's first
    # activity, then one piece from it: more pieces as the stride shrinks.
    assert len(targets) == {1: 7, 2: 4, 3: 3, 4: 3}[stride]


def test_a_stride_outside_the_length_fails():
    with pytest.raises(ValueError, match="stride must be in"):
        sequence_training.sequence_examples([_known_timeline(np.arange(1, 5))], 4, stride=5)


def test_sequence_examples_skip_held_out_labels_but_keep_their_activities():
    movies = np.arange(1, 12, dtype=np.int32)
    timeline = _known_timeline(movies)
    timeline.next_movies[[2, 3, 4, 5]] = ids.PADDING  # labels 4..7 held out
    timeline.activities["context_movie_rating"] = movies / 10
    timeline.user = {"user_age": np.array([25])}
    inputs, targets = sequence_training.sequence_examples([timeline], length=4)
    assert sorted(targets[targets != ids.PADDING].tolist()) == [2, 3, 8, 9, 10, 11]
    # Activities 4..7 are still inputs, their piece holds no label and is dropped.
    assert inputs["context_movie_id"].tolist() == [[7, 8, 9, 10], [0, 0, 1, 2]]
    np.testing.assert_allclose(inputs["context_movie_rating"], inputs["context_movie_id"] / 10)
    assert inputs["user_age"].tolist() == [[25], [25]]


def test_sequence_training_honours_train_steps_and_the_optimizer():
    config = input_config.load("cnn_id")
    hparams = HParams(epochs=2, train_steps=6, batch_size=4, optimizer="sgd")
    model = Recommender(config, {"movie_id": 40}, hparams)
    movies = np.arange(1, 20, dtype=np.int32)
    inputs, targets = sequence_training.sequence_examples([_known_timeline(movies)], 10)
    batches = sequence_training.in_memory_dataset(inputs, targets, hparams)
    history = sequence_training.fit_sequences(model, batches, hparams, verbose=0)
    # Two sequences make one batch per pass; the steps repeat the data.
    assert isinstance(history.model.optimizer, tf.keras.optimizers.SGD)
    assert int(history.model.optimizer.iterations) == 6
    assert len(history.history["loss"]) == 2
    # The logged loss is each epoch's mean over its batches, not its last batch's.
    assert history.model.metrics[0].count.numpy() == 3
