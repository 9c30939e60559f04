"""A causal Transformer over the history (SASRec-like: learned positions, pre-norm)."""

from __future__ import annotations

import tensorflow as tf

from components.model.masking import causal_attention

keras = tf.keras


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
        attention_mask = causal_attention(mask)
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
