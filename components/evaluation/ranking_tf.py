"""The label's rank and HR@K in TensorFlow, for metrics computed inside a Keras model (the
Trainer's per-batch ``hr_at_K``): the same formula as ``ranking`` (numpy), which
ranking_tf_test checks.

A label's rank is the number of candidates scored strictly higher (ties rank in the label's
favour) and it is a hit at K when that rank is below K: what ``tf.math.in_top_k`` (Keras'
SparseTopKCategoricalAccuracy) decides for finite scores.
"""

from __future__ import annotations

import tensorflow as tf

from components.evaluation import ranking

keras = tf.keras


def label_ranks(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """0-based rank of each example's label column: ``logits`` ``[batch, candidates]``,
    ``labels`` of any shape with ``batch`` elements (valid columns)."""
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    label_logits = tf.gather(logits, labels, axis=1, batch_dims=1)
    higher = tf.cast(logits > label_logits[:, tf.newaxis], tf.int32)
    return tf.reduce_sum(higher, axis=1)


def hits_at_k(labels: tf.Tensor, logits: tf.Tensor, k: int) -> tf.Tensor:
    """1.0 where the label ranks among the first ``k``, else 0.0: ``[batch]``."""
    return tf.cast(label_ranks(logits, labels) < k, keras.backend.floatx())


class HitRate(keras.metrics.MeanMetricWrapper):
    """HR@K of every movie row's logits over the batches seen: ``hr_at_K`` in Keras' logs."""

    def __init__(self, k: int, name: str | None = None, **kwargs):
        name = name or ranking.key_name(ranking.hr_name(k))
        super().__init__(hits_at_k, name=name, k=k, **kwargs)
        self.k = k
