"""Training losses of the recommender, one small object each, chosen once from the resolved
hyper-parameters (``for_hparams``): the full softmax over every movie row, the softmax over
log-uniformly sampled rows, and the softmax over the batch's own labels.

Every loss has one interface: ``loss(scorer, context, labels)`` is the mean loss of contexts
``[n, dim]`` and their known labels ``[n]`` (no padding, no OOV row), where ``scorer`` is
how a context meets the movie table (the Recommender). Both sampled losses subtract
log Q(row) of the log-uniform (Zipf) distribution that the frequency-sorted vocabulary
approximates. ``KnownLabelCrossEntropy`` is the full softmax as a Keras loss, for windows
trained through ``compile``: it takes every label and skips the unknown ones.
"""

from __future__ import annotations

import abc
import math
from typing import ClassVar, Protocol

import tensorflow as tf

from components.model.masking import NEG_INF
from components.transform import ids

keras = tf.keras


class Scorer(Protocol):
    """What a loss reads from the model: the movie rows and how a context meets them."""

    num_rows: int
    row_bias: tf.Tensor  # [rows]: NEG_INF at the rows never recommended (padding, OOV)

    def logits(self, context: tf.Tensor) -> tf.Tensor:
        """Float32 logits ``[n, rows]`` of contexts ``[n, dim]``, NEG_INF where ``row_bias`` is."""

    def query(self, context: tf.Tensor) -> tf.Tensor:
        """The context as it meets the table (unit length / temperature with cosine)."""

    def scoring_table(self) -> tf.Tensor:
        """The movie table ``[rows, dim]`` that scores candidates."""


def log_uniform_log_q(rows: tf.Tensor, num_rows: int) -> tf.Tensor:
    """log Q(row) under the log-uniform (Zipf) distribution over ``num_rows`` rows:
    Q(r) = log((r + 2) / (r + 1)) / log(num_rows + 1)."""
    rows = tf.cast(rows, tf.float32)
    return tf.math.log(tf.math.log((rows + 2.0) / (rows + 1.0)) / math.log(num_rows + 1.0))


def known_labels(labels: tf.Tensor, oov_row: int) -> tf.Tensor:
    """True where a label is trained on: neither padding nor the OOV row."""
    return tf.logical_and(tf.not_equal(labels, oov_row), labels > ids.PADDING)


def softmax_cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """-log softmax(logits)[label] per example: the one softmax every loss here ends in."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)


class Loss(abc.ABC):
    """One training loss: ``loss(scorer, context, labels)`` -> the mean over the labels."""

    name: ClassVar[str]  # the value of ``HParams.loss`` that selects it
    # True: windows train through Keras' compiled loss (KnownLabelCrossEntropy), not
    # through the model's own train step.
    compiled: ClassVar[bool] = False

    @abc.abstractmethod
    def __call__(self, scorer: Scorer, context: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """The mean loss of contexts ``[n, dim]`` and their known labels ``[n]``."""


class FullSoftmax(Loss):
    """Softmax cross-entropy over every movie row."""

    name = "softmax"
    compiled = True

    def __call__(self, scorer: Scorer, context: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(softmax_cross_entropy(labels, scorer.logits(context)))


class SampledSoftmax(Loss):
    """Softmax over the label and ``num_sampled`` log-uniformly sampled rows (sampled once per
    batch, without repeats; a sample that is the label is removed), log Q subtracted."""

    name = "sampled_softmax"

    def __init__(self, num_sampled: int):
        self.num_sampled = num_sampled

    def __call__(self, scorer: Scorer, context: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        table, context = scorer.scoring_table(), scorer.query(tf.cast(context, tf.float32))
        true_rows = tf.cast(labels[:, tf.newaxis], tf.int64)
        sampled = tf.random.log_uniform_candidate_sampler(
            true_classes=true_rows,
            num_true=1,
            num_sampled=self.num_sampled,
            unique=True,
            range_max=scorer.num_rows,
        )
        return tf.reduce_mean(
            tf.nn.sampled_softmax_loss(
                weights=table,
                biases=scorer.row_bias,
                labels=true_rows,
                inputs=context,
                num_sampled=self.num_sampled,
                num_classes=scorer.num_rows,
                sampled_values=sampled,
                remove_accidental_hits=True,
            )
        )


class InBatchSoftmax(Loss):
    """Softmax over the batch's labels: other examples' labels are the negatives, log Q
    subtracted; repeats of an example's own label are not negatives."""

    name = "in_batch"

    def __call__(self, scorer: Scorer, context: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        table, context = scorer.scoring_table(), scorer.query(tf.cast(context, tf.float32))
        label_rows = tf.cast(labels, tf.int64)
        logits = tf.matmul(context, tf.gather(table, label_rows), transpose_b=True)
        logits -= log_uniform_log_q(label_rows, scorer.num_rows)[tf.newaxis, :]
        same = tf.equal(label_rows[:, tf.newaxis], label_rows[tf.newaxis, :])
        diagonal = tf.eye(tf.shape(labels)[0], dtype=tf.bool)
        logits = tf.where(tf.logical_and(same, ~diagonal), NEG_INF, logits)
        targets = tf.range(tf.shape(labels)[0])
        return tf.reduce_mean(softmax_cross_entropy(targets, logits))


def for_hparams(hparams) -> Loss:
    """The loss ``hparams.loss`` names, once "auto" is resolved (``HParams.with_loss_for``)."""
    if hparams.loss == FullSoftmax.name:
        return FullSoftmax()
    if hparams.loss == SampledSoftmax.name:
        return SampledSoftmax(hparams.num_sampled)
    if hparams.loss == InBatchSoftmax.name:
        return InBatchSoftmax()
    raise ValueError(f"loss {hparams.loss!r} is not resolved to one of the losses")


class KnownLabelCrossEntropy(keras.losses.Loss):
    """The full softmax as a Keras loss: skips padding labels and labels outside the
    vocabulary.

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
        losses = softmax_cross_entropy(safe, logits)
        return tf.where(known, losses, tf.zeros_like(losses))

    def get_config(self) -> dict:
        return {**super().get_config(), "oov_row": self.oov_row}
