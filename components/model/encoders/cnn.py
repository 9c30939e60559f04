"""Causal convolutions over the history (Caser-like), max-pooled, plus recency sums."""

from __future__ import annotations

import tensorflow as tf

from components.model.masking import NEG_INF

keras = tf.keras


def cumulative_max(values: tf.Tensor, max_length: int) -> tf.Tensor:
    """Running maximum along axis 1 of ``[batch, length <= max_length, channels]``.

    TensorFlow has no cumulative max op. A max pool whose window spans ``max_length`` steps
    back over left padding covers every earlier position, and is several times faster
    (forward and gradient) than log-step max-with-shifted-copy.
    """
    padded = tf.pad(values, [[0, 0], [max_length - 1, 0], [0, 0]], constant_values=NEG_INF)
    return tf.nn.max_pool1d(padded, ksize=max_length, strides=1, padding="VALID")


class ConvEncoder(keras.layers.Layer):
    """Causal 1-D convolutions, one per filter ratio, then a masked global max pool; plus
    position-weighted sums of the newest activities (Caser's "vertical" filters).

    Causal windows only look back, so a window that reaches into padding sees the same
    zeros that the implicit left padding of a shorter input would give. Max pooling forgets
    where a pattern occurred; the weighted sums keep recency, with weights indexed by the
    distance from the newest activity so that padding does not move them.
    """

    def __init__(
        self,
        filters: list[int],
        kernel_size: int,
        max_length: int,
        recency_filters: int,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = list(filters)
        self.kernel_size = kernel_size
        self.max_length = max_length
        self.recency_filters = recency_filters
        self._convs = [
            keras.layers.Conv1D(n, kernel_size, padding="causal", activation="relu")
            for n in self.filters
        ]

    def build(self, input_shape) -> None:
        if self.recency_filters:
            self._recency = self.add_weight(
                name="recency",
                shape=(self.max_length, self.recency_filters),
                initializer=keras.initializers.RandomNormal(stddev=1.0 / self.max_length),
            )
        super().build(input_shape)

    def call(self, embeddings: tf.Tensor, mask: tf.Tensor, all_positions: bool = False):
        weights = tf.cast(mask, embeddings.dtype)[:, :, tf.newaxis]
        embeddings = embeddings * weights
        # 1 where some activity has been seen (so far), 0 for an empty history.
        if all_positions:
            seen = cumulative_max(weights, self.max_length)
        else:
            seen = tf.reduce_max(weights, axis=1)
        outputs = []
        for conv in self._convs:
            features = conv(embeddings) + (1.0 - weights) * NEG_INF
            if all_positions:
                pooled = cumulative_max(features, self.max_length)
            else:
                pooled = tf.reduce_max(features, axis=1)
            outputs.append(pooled * seen)  # empty history -> 0
        if self.recency_filters:
            outputs.append(self._recency_sums(embeddings, all_positions))
        return tf.concat(outputs, axis=-1)

    def _recency_sums(self, embeddings: tf.Tensor, all_positions: bool) -> tf.Tensor:
        length = tf.shape(embeddings)[1]
        dim = embeddings.shape[-1]
        if not all_positions:
            # Row d of the table weights the activity d steps before the newest one.
            by_position = tf.reverse(self._recency[:length], axis=[0])
            sums = tf.einsum("bld,lr->brd", embeddings, by_position)
            return tf.reshape(sums, [-1, self.recency_filters * dim])
        # At position t, activity s (s <= t) gets the table's row t - s: one [length, length]
        # weight matrix per filter, zero above the diagonal, and a batched matmul.
        behind = tf.range(length)[:, tf.newaxis] - tf.range(length)[tf.newaxis, :]
        causal = tf.cast(behind >= 0, embeddings.dtype)[:, :, tf.newaxis]
        weights = tf.gather(self._recency, tf.maximum(behind, 0)) * causal
        sums = tf.einsum("tsr,bsd->btrd", weights, embeddings)
        return tf.reshape(sums, [-1, length, self.recency_filters * dim])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "max_length": self.max_length,
            "recency_filters": self.recency_filters,
        }
