"""Bag of words: the history as the mean of its activity embeddings."""

from __future__ import annotations

import tensorflow as tf

keras = tf.keras


class BagOfWordsEncoder(keras.layers.Layer):
    """Masked mean of the activity embeddings (zero for an empty history)."""

    def call(self, embeddings: tf.Tensor, mask: tf.Tensor, all_positions: bool = False):
        weights = tf.cast(mask, embeddings.dtype)[:, :, tf.newaxis]
        if all_positions:
            total = tf.cumsum(embeddings * weights, axis=1)
            return total / tf.maximum(tf.cumsum(weights, axis=1), 1.0)
        total = tf.reduce_sum(embeddings * weights, axis=1)
        return total / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
