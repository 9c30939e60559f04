"""Sequence training: examples from timelines, timelines rebuilt from window examples, and
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
    history = sequence_training.fit_sequences(model, inputs, targets, hparams, verbose=0)
    # Two sequences make one batch per pass; the steps repeat the data.
    assert isinstance(history.model.optimizer, tf.keras.optimizers.SGD)
    assert int(history.model.optimizer.iterations) == 6
    assert len(history.history["loss"]) == 2
    # The logged loss is each epoch's mean over its batches, not its last batch's.
    assert history.model.metrics[0].count.numpy() == 3


def _window_examples(truth: dict[int, np.ndarray], length: int, keep: float, seed: int):
    """Window examples (user, position, context movies and ratings, label, age) of each
    user's timeline, a random ``keep`` share of them, shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for user, timeline in truth.items():
        for position in range(1, len(timeline)):
            if rng.random() < keep:
                context = timeline[max(0, position - length) : position]
                padded = np.r_[np.zeros(length - len(context), np.int32), context]
                rows.append((user, position, padded, padded / 10, timeline[position], user + 18))
    rows = [rows[i] for i in rng.permutation(len(rows))]
    users, positions, movies, ratings, labels, ages = (np.array(c) for c in zip(*rows, strict=True))
    contexts = {"context_movie_id": movies, "context_movie_rating": ratings}
    return users, positions, contexts, labels, {"user_age": ages.reshape(-1, 1)}


def _truth(users: int, seed: int) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        u: rng.integers(1, 100, size=rng.integers(2, 30)).astype(np.int32) for u in range(users)
    }


def test_timelines_are_rebuilt_exactly_from_window_examples():
    truth = _truth(20, seed=0)
    users, positions, contexts, labels, _ = _window_examples(truth, 4, keep=1.0, seed=0)
    rebuilt = sequence_training.timelines_from_windows(
        users,
        positions,
        {"context_movie_id": contexts["context_movie_id"]},
        labels,
        movie_feature="context_movie_id",
    )
    assert [t.activities["context_movie_id"].tolist() for t in rebuilt] == [
        truth[user].tolist() for user in sorted(truth)
    ]
    assert [t.next_movies.tolist() for t in rebuilt] == [
        [*truth[user][1:].tolist(), ids.PADDING] for user in sorted(truth)
    ]


def test_timelines_from_a_random_share_of_windows_train_only_those_labels():
    truth = _truth(40, seed=1)
    users, positions, contexts, labels, user_features = _window_examples(truth, 4, keep=0.6, seed=1)
    rebuilt = sequence_training.timelines_from_windows(
        users, positions, contexts, labels, "context_movie_id", user_features
    )
    given = {(u, p) for u, p in zip(users.tolist(), positions.tolist(), strict=True)}
    # Some users' timelines have an activity no given window covers: they are cut there.
    assert len(rebuilt) > len(set(users.tolist()))
    trained = []
    for timeline in rebuilt:
        movies = timeline.activities["context_movie_id"]
        (age,) = timeline.user["user_age"]
        user = int(age) - 18
        # Each run of known activities is a stretch of the user's true timeline.
        offsets = [
            o
            for o in range(len(truth[user]) - len(movies) + 1)
            if (truth[user][o : o + len(movies)] == movies).all()
        ]
        assert offsets, (user, movies)
        np.testing.assert_allclose(timeline.activities["context_movie_rating"], movies / 10)
        for index in np.flatnonzero(timeline.next_movies):
            # A target is the next true movie, and only where that label's window was given.
            position = offsets[0] + index + 1
            assert timeline.next_movies[index] == truth[user][position]
            assert (user, position) in given
            trained.append((user, position))
    # A window's own context holds the activity before its label: every given label is
    # trained, exactly once.
    assert sorted(trained) == sorted(given)
