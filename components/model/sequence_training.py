"""Training a recommender on whole sequences with a loss at every position (SASRec's layout).

One window per label makes a history-N model see each activity N times per epoch. Here a
user's timeline is cut into sequences of ``length + 1`` activities and the loss is taken at
every position (predict activity t + 1 from activities <= t), so each activity is encoded
once. The trained weights are the same Recommender's: it then serves one history window,
its output at the newest position.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from components.model.hparams import HParams
from components.model.recommender import (
    KnownLabelCrossEntropy,
    Recommender,
    check_sequence_groups,
)
from components.transform import ids

keras = tf.keras


def check_config(config) -> None:
    """Raises a clear error for an input config the sequence layout cannot train."""
    check_sequence_groups(len(config.activity_feature_groups), len(config.global_feature_groups))


def sequence_examples(timelines: list[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-item targets ``[n, length]``, left-padded with 0.

    Each timeline (movie rows, oldest first) is cut from its newest end into pieces of
    ``length + 1`` activities; a piece's inputs are all but its last activity and its
    targets all but its first, so every activity is a target exactly once.
    """
    inputs, targets = [], []
    for timeline in timelines:
        end = len(timeline)
        while end > 1:
            piece = timeline[max(0, end - length - 1) : end]
            pad = length + 1 - len(piece)
            padded = np.concatenate([np.full(pad, ids.PADDING, np.int32), piece])
            inputs.append(padded[:-1])
            # No target where the input is padding: nothing precedes a timeline's first item.
            targets.append(np.where(padded[:-1] == ids.PADDING, ids.PADDING, padded[1:]))
            end -= length
    return np.array(inputs, np.int32), np.array(targets, np.int32)


def timelines_from_windows(
    user_ids: np.ndarray, positions: np.ndarray, contexts: np.ndarray, labels: np.ndarray
) -> list[np.ndarray]:
    """Each user's timeline (movie rows) rebuilt from its next-movie window examples.

    The labels sorted by position are the timeline from its second activity on; the first
    activity is the newest context item of the user's earliest example.
    """
    order = np.lexsort((positions, user_ids))
    user_ids, positions = user_ids[order], positions[order]
    contexts, labels = contexts[order], labels[order]
    starts = np.flatnonzero(np.r_[True, user_ids[1:] != user_ids[:-1]])
    timelines = []
    for start, end in zip(starts, [*starts[1:], len(user_ids)], strict=True):
        first = contexts[start][contexts[start] != ids.PADDING][-1:]
        timelines.append(np.concatenate([first, labels[start:end]]).astype(np.int32))
    return timelines


class SequenceModel(keras.Model):
    """Wraps a Recommender so that ``fit`` trains its sequence logits."""

    def __init__(self, recommender: Recommender, feature_name: str, **kwargs):
        super().__init__(**kwargs)
        self.recommender = recommender
        self.feature_name = feature_name

    def call(self, inputs: tf.Tensor, training=None) -> tf.Tensor:
        return self.recommender.sequence_logits({self.feature_name: inputs}, training=training)


def fit_sequences(
    recommender: Recommender,
    feature_name: str,
    inputs: np.ndarray,
    targets: np.ndarray,
    hparams: HParams,
    verbose: int = 2,
) -> keras.callbacks.History:
    """Trains ``recommender`` (one activity group, no globals) on sequence examples."""
    model = SequenceModel(recommender, feature_name)
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=hparams.learning_rate,
            global_clipnorm=hparams.gradient_clip_norm or None,
        ),
        loss=KnownLabelCrossEntropy(recommender.oov_row),
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((inputs, targets))
        .shuffle(len(inputs), seed=hparams.seed)
        .batch(hparams.batch_size)
        .prefetch(2)
    )
    return model.fit(dataset, epochs=hparams.epochs, verbose=verbose)
