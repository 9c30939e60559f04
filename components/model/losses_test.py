"""Each training loss on tiny tensors against a numpy reference: the full softmax, the
sampled softmax's log-Q correction, the in-batch softmax's repeated labels, and the
unknown labels (padding, OOV) that the Keras loss skips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from components.model import losses
from components.model.hparams import HParams
from components.model.masking import NEG_INF
from components.transform import ids

ROWS, DIM = 12, 4
OOV = ROWS - 1


class TinyScorer:
    """A movie table of ``ROWS`` rows scored by dot product; padding and OOV masked."""

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.table_values = rng.normal(size=(ROWS, DIM)).astype(np.float32)
        self.bias_values = np.zeros(ROWS, np.float32)
        self.bias_values[[ids.PADDING, OOV]] = NEG_INF
        self.num_rows = ROWS
        self.row_bias = tf.constant(self.bias_values)

    def logits(self, context: tf.Tensor) -> tf.Tensor:
        return tf.matmul(context, self.scoring_table(), transpose_b=True) + self.row_bias

    def query(self, context: tf.Tensor) -> tf.Tensor:
        return context

    def scoring_table(self) -> tf.Tensor:
        return tf.constant(self.table_values)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _np_log_q(rows: np.ndarray, num_rows: int) -> np.ndarray:
    rows = rows.astype(np.float64)
    return np.log(np.log((rows + 2) / (rows + 1)) / math.log(num_rows + 1))


def _context(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def test_full_softmax_is_minus_log_softmax_at_the_label():
    scorer, context = TinyScorer(), _context(5)
    labels = np.array([1, 3, 3, 7, 10])
    loss = losses.FullSoftmax()(scorer, tf.constant(context), tf.constant(labels))
    log_p = _log_softmax(context @ scorer.table_values.T + scorer.bias_values)
    expected = -log_p[np.arange(5), labels].mean()
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_log_q_is_the_log_uniform_distribution():
    rows = np.arange(ROWS)
    log_q = losses.log_uniform_log_q(tf.constant(rows), ROWS).numpy()
    np.testing.assert_allclose(log_q, _np_log_q(rows, ROWS), rtol=1e-5)
    # A distribution over the rows, falling with the row (frequency-sorted vocabulary).
    assert np.exp(_np_log_q(rows, ROWS)).sum() == pytest.approx(1.0)
    assert (np.diff(log_q) < 0).all()


def test_sampled_softmax_subtracts_log_q_and_drops_samples_that_are_the_label():
    scorer, context = TinyScorer(), _context(4)
    labels = np.array([1, 2, 5, 9])
    num_sampled = 6
    tf.random.set_seed(3)
    loss = losses.SampledSoftmax(num_sampled)(scorer, tf.constant(context), tf.constant(labels))
    # The same draw again: the loss's first random op after the same global seed.
    tf.random.set_seed(3)
    sampled, true_expected, sampled_expected = tf.random.log_uniform_candidate_sampler(
        true_classes=tf.constant(labels[:, np.newaxis], tf.int64),
        num_true=1,
        num_sampled=num_sampled,
        unique=True,
        range_max=ROWS,
    )
    sampled = sampled.numpy()
    true_expected = true_expected.numpy()[:, 0].astype(np.float64)
    sampled_expected = sampled_expected.numpy().astype(np.float64)
    scores = (context @ scorer.table_values.T + scorer.bias_values).astype(np.float64)

    def reference(log_q_correction: bool) -> float:
        total = 0.0
        for i, label in enumerate(labels):
            true_logit = scores[i, label]
            others = scores[i, sampled]
            if log_q_correction:
                true_logit -= np.log(true_expected[i])
                others = others - np.log(sampled_expected)
            others = others[sampled != label]  # an accidental hit is no negative
            total -= _log_softmax(np.concatenate([[true_logit], others]))[0]
        return total / len(labels)

    np.testing.assert_allclose(float(loss), reference(True), rtol=1e-5)
    assert float(loss) != pytest.approx(reference(False), rel=1e-3)


def test_in_batch_softmax_uses_the_other_labels_as_negatives_without_repeats():
    scorer, context = TinyScorer(), _context(5)
    labels = np.array([4, 2, 4, 7, 3])  # rows 0 and 2 share a label
    loss = losses.InBatchSoftmax()(scorer, tf.constant(context), tf.constant(labels))
    logits = (context @ scorer.table_values[labels].T).astype(np.float64)
    logits -= _np_log_q(labels, ROWS)[np.newaxis, :]
    repeat = (labels[:, None] == labels[None, :]) & ~np.eye(5, dtype=bool)
    expected = -np.diag(_log_softmax(np.where(repeat, -1e30, logits))).mean()
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    # Unmasked, example 0 would count example 2's identical row against itself.
    assert float(loss) != pytest.approx(-np.diag(_log_softmax(logits)).mean(), rel=1e-3)


def test_keras_cross_entropy_skips_padding_and_oov_labels():
    scorer, context = TinyScorer(), _context(6)
    labels = np.array([[ids.PADDING], [3], [OOV], [5], [ids.PADDING], [8]])
    logits = scorer.logits(tf.constant(context))
    per_example = losses.KnownLabelCrossEntropy(OOV, reduction="none")(
        tf.constant(labels), logits
    ).numpy()
    log_p = _log_softmax(logits.numpy())
    known = np.array([False, True, False, True, False, True])
    np.testing.assert_array_equal(per_example[~known], 0.0)
    np.testing.assert_allclose(per_example[known], -log_p[known, labels[known, 0]], rtol=1e-5)
    np.testing.assert_array_equal(losses.known_labels(tf.constant(labels[:, 0]), OOV), known)


def test_one_loss_is_chosen_from_the_resolved_hparams():
    assert isinstance(losses.for_hparams(HParams(loss="softmax")), losses.FullSoftmax)
    sampled = losses.for_hparams(HParams(loss="sampled_softmax", num_sampled=7))
    assert isinstance(sampled, losses.SampledSoftmax) and sampled.num_sampled == 7
    assert isinstance(losses.for_hparams(HParams(loss="in_batch")), losses.InBatchSoftmax)
    assert {cls.name for cls in losses.Loss.__subclasses__()} == set(HParams.LOSSES)
    with pytest.raises(ValueError, match="not resolved"):
        losses.for_hparams(HParams())  # "auto": resolved by HParams.with_loss_for first
