"""HSTU (Zhai et al., ICML 2024): pointwise, gated attention with relative distance biases."""

from __future__ import annotations

import tensorflow as tf

from components.model.masking import causal_attention

keras = tf.keras


class HstuBlock(keras.layers.Layer):
    """One HSTU layer (Zhai et al., ICML 2024): pointwise attention gated by the input.

    From the normalised input one projection (SiLU) gives U, V, Q and K per head. The
    attention weights are SiLU(Q.K + b(i - j)) / max_length over earlier activities only,
    with ``b`` a learned bias per distance, and no softmax: each weight stands on its own,
    so how many activities there are is not normalised away (the paper's argument for
    recommendation: intensity matters). The attended values, normalised and gated by U,
    go through one output projection back onto the residual stream. No feed-forward layer.
    """

    def __init__(
        self,
        heads: int,
        attention_dim: int,
        linear_dim: int,
        max_length: int,
        dropout: float,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.heads = heads
        self.attention_dim = attention_dim
        self.linear_dim = linear_dim
        self.max_length = max_length
        self.dropout = dropout
        self._norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self._attention_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self._uvqk = keras.layers.Dense(
            heads * (2 * linear_dim + 2 * attention_dim),
            activation="silu",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )
        self._dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape) -> None:
        dim = int(input_shape[-1])
        # One bias per distance (0 .. max_length - 1) between the attending activity and an
        # earlier one: it depends on how far back an activity is, never on the padding.
        self._distance_bias = self.add_weight(
            name="distance_bias",
            shape=(self.max_length,),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )
        self._output = keras.layers.Dense(dim, kernel_initializer="glorot_uniform")
        self._uvqk.build(input_shape)  # served calls read its kernel directly
        super().build(input_shape)

    def call(
        self, x: tf.Tensor, valid: tf.Tensor, training=None, newest_only: bool = False
    ) -> tf.Tensor:
        """``x`` ``[batch, length, dim]``; ``valid`` ``[batch, length, length]``, True where
        position i may attend to position j (j <= i, j a real activity).

        ``newest_only``: the output at the newest position alone, ``[batch, 1, dim]``,
        which is all a served window needs from the last block (every position is still a
        key and a value): the attention and the projection cost one row instead of
        ``length``.
        """
        length = tf.shape(x)[1]
        u, v, q, k = self._projections(self._norm(x), newest_only)
        queries = tf.range(length)
        if newest_only:
            x, valid, queries = x[:, -1:], valid[:, -1:], queries[-1:]
        q = self._heads(q, self.attention_dim)
        k = self._heads(k, self.attention_dim)
        v = self._heads(v, self.linear_dim)
        distance = queries[:, tf.newaxis] - tf.range(length)[tf.newaxis, :]
        bias = tf.gather(self._distance_bias, tf.clip_by_value(distance, 0, self.max_length - 1))
        scores = tf.einsum("bhid,bhjd->bhij", q, k) + bias
        weights = tf.nn.silu(scores) / self.max_length
        weights *= tf.cast(valid, weights.dtype)[:, tf.newaxis]
        attended = tf.einsum("bhij,bhjd->bhid", weights, v)
        attended = tf.reshape(
            tf.transpose(attended, [0, 2, 1, 3]),
            [-1, tf.shape(q)[2], self.heads * self.linear_dim],
        )
        gated = u * self._attention_norm(attended)
        return x + self._output(self._dropout(gated, training=training))

    def _projections(self, normed: tf.Tensor, newest_only: bool) -> list[tf.Tensor]:
        """U, V, Q, K of every position (``newest_only``: U and Q of the newest alone, from
        the same weights: the projection is the bulk of a served call)."""
        sizes = [self.heads * self.linear_dim] * 2 + [self.heads * self.attention_dim] * 2
        if not newest_only:
            return tf.split(self._uvqk(normed), sizes, axis=-1)
        kernel_u, kernel_v, kernel_q, kernel_k = tf.split(self._uvqk.kernel, sizes, axis=-1)
        bias_u, bias_v, bias_q, bias_k = tf.split(self._uvqk.bias, sizes, axis=-1)
        newest = normed[:, -1:]
        return [
            tf.nn.silu(tf.matmul(newest, kernel_u) + bias_u),
            tf.nn.silu(tf.matmul(normed, kernel_v) + bias_v),
            tf.nn.silu(tf.matmul(newest, kernel_q) + bias_q),
            tf.nn.silu(tf.matmul(normed, kernel_k) + bias_k),
        ]

    def _heads(self, values: tf.Tensor, dim: int) -> tf.Tensor:
        """``[batch, length, heads * dim]`` -> ``[batch, heads, length, dim]``."""
        shape = tf.shape(values)
        return tf.transpose(tf.reshape(values, [shape[0], shape[1], self.heads, dim]), [0, 2, 1, 3])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "heads": self.heads,
            "attention_dim": self.attention_dim,
            "linear_dim": self.linear_dim,
            "max_length": self.max_length,
            "dropout": self.dropout,
        }


class HstuEncoder(keras.layers.Layer):
    """HSTU blocks over the history; the output at the most recent activity.

    Positions enter only as relative distances inside each block, and padding is never
    attended to, so the output at position t is exactly that of the window ending at t
    (training on whole sequences trains the very function that is served).
    """

    def __init__(
        self,
        max_length: int,
        layers: int,
        heads: int,
        attention_dim: int,
        linear_dim: int,
        dropout: float,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.num_layers = layers
        self.heads = heads
        self.attention_dim = attention_dim
        self.linear_dim = linear_dim
        self.dropout = dropout
        self._input_dropout = keras.layers.Dropout(dropout)
        self._blocks = [
            HstuBlock(heads, attention_dim, linear_dim, max_length, dropout, name=f"block_{i}")
            for i in range(layers)
        ]
        self._final_norm = keras.layers.LayerNormalization(epsilon=1e-6)

    def call(
        self, embeddings: tf.Tensor, mask: tf.Tensor, training=None, all_positions: bool = False
    ) -> tf.Tensor:
        valid = causal_attention(mask)
        x = self._input_dropout(embeddings, training=training)
        for index, block in enumerate(self._blocks):
            last = index == len(self._blocks) - 1
            x = block(x, valid, training=training, newest_only=last and not all_positions)
        x = self._final_norm(x)
        return x if all_positions else x[:, -1]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_length": self.max_length,
            "layers": self.num_layers,
            "heads": self.heads,
            "attention_dim": self.attention_dim,
            "linear_dim": self.linear_dim,
            "dropout": self.dropout,
        }
