"""Context encoders: each turns a left-padded activity sequence into one vector.

Every encoder takes ``embeddings`` of shape ``[batch, length, dim]`` and a boolean ``mask``
of shape ``[batch, length]`` (True at real activities; padding sits on the left, the most
recent activity is last) and returns ``[batch, units]``. Padding never changes the output:
the same history padded to any length encodes to the same vector.

Every encoder is causal: called with ``all_positions=True`` it returns ``[batch, length,
units]`` whose position t depends only on the activities up to t, which is what training on
whole sequences with a loss at every position needs (components.model.sequence_training).
BOW, CNN, LSTM and HSTU encode position t exactly as a window ending at t; the
Transformer's learned positions count back from the newest input, so only its last position
is a window (SASRec's positions behave the same way).
"""

from __future__ import annotations

import tensorflow as tf

from configs.input_config_pb2 import BOW, CNN, HSTU, LSTM, TRANSFORMER

keras = tf.keras
# Added to what must never win a max or a softmax (padding, seen movies, the OOV row).
NEG_INF = -1e9


def _cumulative_max(values: tf.Tensor, max_length: int) -> tf.Tensor:
    """Running maximum along axis 1 of ``[batch, length <= max_length, channels]``.

    TensorFlow has no cumulative max op. A max pool whose window spans ``max_length`` steps
    back over left padding covers every earlier position, and is several times faster
    (forward and gradient) than log-step max-with-shifted-copy.
    """
    padded = tf.pad(values, [[0, 0], [max_length - 1, 0], [0, 0]], constant_values=NEG_INF)
    return tf.nn.max_pool1d(padded, ksize=max_length, strides=1, padding="VALID")


class BagOfWordsEncoder(keras.layers.Layer):
    """Masked mean of the activity embeddings (zero for an empty history)."""

    def call(self, embeddings: tf.Tensor, mask: tf.Tensor, all_positions: bool = False):
        weights = tf.cast(mask, embeddings.dtype)[:, :, tf.newaxis]
        if all_positions:
            total = tf.cumsum(embeddings * weights, axis=1)
            return total / tf.maximum(tf.cumsum(weights, axis=1), 1.0)
        total = tf.reduce_sum(embeddings * weights, axis=1)
        return total / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)


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
            seen = _cumulative_max(weights, self.max_length)
        else:
            seen = tf.reduce_max(weights, axis=1)
        outputs = []
        for conv in self._convs:
            features = conv(embeddings) + (1.0 - weights) * NEG_INF
            if all_positions:
                pooled = _cumulative_max(features, self.max_length)
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


class LstmEncoder(keras.layers.Layer):
    """Masked LSTM; its final state summarises the history (padding steps are skipped)."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        # Left padding puts the newest activity last, so the last output is the final state.
        self._lstm = keras.layers.LSTM(units, return_sequences=True)

    def call(self, embeddings: tf.Tensor, mask: tf.Tensor, all_positions: bool = False):
        outputs = self._lstm(embeddings, mask=mask)
        return outputs if all_positions else outputs[:, -1]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


class TransformerBlock(keras.layers.Layer):
    """Pre-norm self-attention and feed-forward block with residual connections."""

    def __init__(self, dim: int, heads: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self._attention = keras.layers.MultiHeadAttention(
            heads, max(dim // heads, 1), dropout=dropout
        )
        self._feed_forward = keras.Sequential(
            [keras.layers.Dense(dim, activation="gelu"), keras.layers.Dense(dim)]
        )
        self._norm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self._norm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self._dropout = keras.layers.Dropout(dropout)

    def call(self, x: tf.Tensor, attention_mask: tf.Tensor, training=None) -> tf.Tensor:
        normed = self._norm1(x)
        x = x + self._dropout(
            self._attention(normed, normed, attention_mask=attention_mask, training=training),
            training=training,
        )
        return x + self._dropout(self._feed_forward(self._norm2(x)), training=training)


class TransformerEncoder(keras.layers.Layer):
    """Causal self-attention over the history; the output at the most recent activity.

    Positions are counted back from the most recent activity, so an item's position does
    not depend on how much padding precedes it.
    """

    def __init__(self, max_length: int, layers: int, heads: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.num_layers = layers
        self.heads = heads
        self.dropout = dropout
        self._blocks: list[TransformerBlock] = []
        self._final_norm = keras.layers.LayerNormalization(epsilon=1e-6)

    def build(self, input_shape) -> None:
        dim = int(input_shape[-1])
        self._positions = self.add_weight(
            name="positions",
            shape=(self.max_length, dim),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )
        self._blocks = [
            TransformerBlock(dim, self.heads, self.dropout, name=f"block_{i}")
            for i in range(self.num_layers)
        ]
        super().build(input_shape)

    def call(
        self, embeddings: tf.Tensor, mask: tf.Tensor, training=None, all_positions: bool = False
    ) -> tf.Tensor:
        """``[batch, dim]`` at the newest activity, or ``[batch, length, dim]`` when
        ``all_positions`` (for training with a loss at every position, as SASRec does)."""
        length = tf.shape(embeddings)[1]
        # Row i of the table is "i steps before the most recent activity".
        positions = tf.reverse(self._positions[:length], axis=[0])
        x = embeddings + positions[tf.newaxis]
        causal = tf.linalg.band_part(tf.ones([length, length], tf.bool), -1, 0)
        attention_mask = tf.logical_and(causal[tf.newaxis], mask[:, tf.newaxis, :])
        for block in self._blocks:
            x = block(x, attention_mask, training=training)
        # Normalising every position keeps the layer's input rank fixed for both uses.
        x = self._final_norm(x)
        return x if all_positions else x[:, -1]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_length": self.max_length,
            "layers": self.num_layers,
            "heads": self.heads,
            "dropout": self.dropout,
        }


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
        length = tf.shape(embeddings)[1]
        causal = tf.linalg.band_part(tf.ones([length, length], tf.bool), -1, 0)
        valid = tf.logical_and(causal[tf.newaxis], mask[:, tf.newaxis, :])
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


def make_encoder(encoder_type: int, length: int, input_dim: int, hparams) -> keras.layers.Layer:
    """The encoder an activity group's ``encoder_type`` names, sized by the hyper-parameters."""
    if encoder_type == BOW:
        return BagOfWordsEncoder()
    if encoder_type == CNN:
        filters = [max(1, round(r * input_dim)) for r in hparams.conv_num_filter_ratios]
        return ConvEncoder(filters, hparams.conv_kernel_size, length, hparams.conv_recency_filters)
    if encoder_type == LSTM:
        return LstmEncoder(hparams.lstm_num_units)
    if encoder_type == TRANSFORMER:
        return TransformerEncoder(
            length, hparams.transformer_layers, hparams.transformer_heads, hparams.dropout
        )
    if encoder_type == HSTU:
        per_head = max(1, input_dim // hparams.hstu_heads)
        return HstuEncoder(
            length,
            hparams.hstu_layers,
            hparams.hstu_heads,
            hparams.hstu_attention_dim or per_head,
            hparams.hstu_linear_dim or per_head,
            hparams.dropout,
        )
    raise ValueError(f"Unsupported encoder_type {encoder_type}")
