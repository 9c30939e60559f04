"""Training losses of the recommender: full softmax over the known labels, and the two
sampled alternatives (in-batch negatives, log-uniform sampled negatives)."""

from __future__ import annotations

import math

import tensorflow as tf

from components.model.masking import NEG_INF
from components.transform import ids

keras = tf.keras


def _log_uniform_log_q(rows: tf.Tensor, num_rows: int) -> tf.Tensor:
    """log P(row) under the log-uniform (Zipf) distribution over ``num_rows`` rows."""
    rows = tf.cast(rows, tf.float32)
    return tf.math.log(tf.math.log((rows + 2.0) / (rows + 1.0)) / math.log(num_rows + 1.0))


def known_labels(labels: tf.Tensor, oov_row: int) -> tf.Tensor:
    """True where a label is trained on: neither padding nor the OOV row."""
    return tf.logical_and(tf.not_equal(labels, oov_row), labels > ids.PADDING)


class KnownLabelCrossEntropy(keras.losses.Loss):
    """Softmax cross-entropy that skips padding labels and labels outside the vocabulary.

    An eval label never seen in training maps to the OOV row, which is never scored; it
    counts as a miss in the hit-rate metrics but adds nothing to the loss. Padding labels
    occur in sequence training (positions before a user's first activity). Labels may have
    any shape whose size matches the logits' leading dimensions.
    """

    def __init__(self, oov_row: int, **kwargs):
        super().__init__(**kwargs)
        self.oov_row = oov_row

    def call(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        labels = tf.reshape(tf.cast(labels, tf.int64), tf.shape(logits)[:-1])
        known = known_labels(labels, self.oov_row)
        safe = tf.where(known, labels, tf.zeros_like(labels) + ids.FIRST_VOCAB_ROW)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(safe, logits)
        return tf.where(known, losses, tf.zeros_like(losses))

    def get_config(self) -> dict:
        return {**super().get_config(), "oov_row": self.oov_row}


def in_batch_softmax(
    context: tf.Tensor, table: tf.Tensor, labels: tf.Tensor, num_rows: int
) -> tf.Tensor:
    """Softmax over the batch's labels: other examples' labels are the negatives, with log Q
    subtracted under the Zipf (log-uniform) approximation of label frequency that the
    frequency-sorted vocabulary gives; repeats of the same label are not negatives."""
    label_rows = tf.cast(labels, tf.int64)
    logits = tf.matmul(context, tf.gather(table, label_rows), transpose_b=True)
    logits -= _log_uniform_log_q(label_rows, num_rows)[tf.newaxis, :]
    same = tf.equal(label_rows[:, tf.newaxis], label_rows[tf.newaxis, :])
    diagonal = tf.eye(tf.shape(labels)[0], dtype=tf.bool)
    logits = tf.where(tf.logical_and(same, ~diagonal), NEG_INF, logits)
    targets = tf.range(tf.shape(labels)[0])
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits))


def sampled_softmax(
    context: tf.Tensor,
    table: tf.Tensor,
    row_bias: tf.Tensor,
    labels: tf.Tensor,
    num_sampled: int,
    num_rows: int,
) -> tf.Tensor:
    """Softmax over the label and ``num_sampled`` log-uniformly sampled rows."""
    true_rows = tf.cast(labels[:, tf.newaxis], tf.int64)
    sampled = tf.random.log_uniform_candidate_sampler(
        true_classes=true_rows,
        num_true=1,
        num_sampled=num_sampled,
        unique=True,
        range_max=num_rows,
    )
    return tf.reduce_mean(
        tf.nn.sampled_softmax_loss(
            weights=table,
            biases=row_bias,
            labels=true_rows,
            inputs=context,
            num_sampled=num_sampled,
            num_classes=num_rows,
            sampled_values=sampled,
            remove_accidental_hits=True,
        )
    )
