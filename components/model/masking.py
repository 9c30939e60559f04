"""What the model masks: the value that keeps a score out of maxima and softmaxes, and which
positions a causal sequence encoder may attend to."""

from __future__ import annotations

import tensorflow as tf

# Added to what must never win a max or a softmax (padding, seen movies, the OOV row).
NEG_INF = -1e9


def causal_attention(mask: tf.Tensor) -> tf.Tensor:
    """``[batch, length, length]``: position i may attend to position j when j <= i and j is
    not padding (``mask`` ``[batch, length]``, True where a movie is)."""
    length = tf.shape(mask)[1]
    causal = tf.linalg.band_part(tf.ones([length, length], tf.bool), -1, 0)
    return tf.logical_and(causal[tf.newaxis], mask[:, tf.newaxis, :])
