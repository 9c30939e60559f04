"""The context tower's layers: per-group feature embeddings, and the tower itself.

Per activity group, the features' embeddings (float features as extra channels) go through
the group's encoder; global groups are embedded and concatenated; everything passes the
hidden layers and is projected to the label embedding size.
"""

from __future__ import annotations

import tensorflow as tf

from components.model.encoders.registry import make_encoder
from components.model.hparams import HParams
from components.transform import ids
from configs.input_config_pb2 import FLOAT, InputConfig

keras = tf.keras


class FeatureGroupEmbedding(keras.layers.Layer):
    """Embeds one feature group's features and stacks them on the last axis.

    Returns ``[batch, length, dim]`` and the padding mask (True where the group's first
    categorical feature is not padding).
    """

    def __init__(self, features: list, vocab_sizes: dict[str, int], **kwargs):
        super().__init__(**kwargs)
        self._names = [f.feature_name for f in features]
        self._mask_feature = next(f.feature_name for f in features if f.feature_type != FLOAT)
        self.embeddings = {
            f.feature_name: keras.layers.Embedding(
                ids.table_rows(vocab_sizes[f.vocab_name]),
                f.embedding_dim,
                name=f"{f.feature_name}_embedding",
            )
            for f in features
            if f.feature_type != FLOAT
        }

    def call(self, inputs: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        parts = []
        for name in self._names:
            if name in self.embeddings:
                parts.append(self.embeddings[name](inputs[name]))
            else:
                parts.append(tf.cast(inputs[name], tf.float32)[:, :, tf.newaxis])
        mask = tf.not_equal(inputs[self._mask_feature], ids.PADDING)
        return tf.concat(parts, axis=-1), mask


class ContextTower(keras.layers.Layer):
    """History and user features -> one context embedding of the label's size."""

    def __init__(
        self, config: InputConfig, vocab_sizes: dict[str, int], hparams: HParams, **kwargs
    ):
        super().__init__(**kwargs)
        self._activity = []
        for index, group in enumerate(config.activity_feature_groups):
            embed = FeatureGroupEmbedding(
                list(group.features), vocab_sizes, name=f"activity_{index}"
            )
            dim = sum(1 if f.feature_type == FLOAT else f.embedding_dim for f in group.features)
            encoder = make_encoder(
                group.encoder_type, group.features[0].feature_length, dim, hparams
            )
            self._activity.append((embed, encoder))
        self._global = [
            FeatureGroupEmbedding(list(group.features), vocab_sizes, name=f"global_{index}")
            for index, group in enumerate(config.global_feature_groups)
        ]
        self._hidden = [
            keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")
            for i, units in enumerate(hparams.hidden_layer_dims)
        ]
        self._dropout = keras.layers.Dropout(hparams.dropout)
        self._projection = keras.layers.Dense(config.label_feature.embedding_dim, name="projection")

    def call(self, inputs: dict[str, tf.Tensor], training=None) -> tf.Tensor:
        parts = []
        for embed, encoder in self._activity:
            embeddings, mask = embed(inputs)
            parts.append(encoder(embeddings, mask, training=training))
        for embed in self._global:
            parts.append(self._flat_global(embed, inputs))
        x = tf.concat(parts, axis=-1) if len(parts) > 1 else parts[0]
        for layer in self._hidden:
            x = self._dropout(layer(x), training=training)
        return self._projection(x)

    def embedding_table(self, feature_name: str) -> tf.Tensor:
        """The embedding matrix of one categorical activity feature (built on first call)."""
        for embed, _ in self._activity:
            if feature_name in embed.embeddings:
                layer = embed.embeddings[feature_name]
                if not layer.built:
                    layer.build(None)
                return layer.embeddings
        raise KeyError(feature_name)

    def sequence_context(self, inputs: dict[str, tf.Tensor], training=None) -> tf.Tensor:
        """Context embeddings at every position: ``[batch, length, label_dim]``.

        Only for a single activity group: every encoder is causal (its output at position
        t depends only on activities up to t), but a second group, such as the flattened
        genres, has no per-position value. User (global) features are the same at every
        position.
        """
        if len(self._activity) != 1:  # HParams.for_config refuses such configs first
            raise ValueError("sequence_context needs exactly one activity feature group")
        embed, encoder = self._activity[0]
        embeddings, mask = embed(inputs)
        x = encoder(embeddings, mask, training=training, all_positions=True)
        if self._global:
            positions = tf.shape(x)[1]
            user = tf.concat([self._flat_global(group, inputs) for group in self._global], -1)
            user = tf.tile(user[:, tf.newaxis, :], [1, positions, 1])
            x = tf.concat([x, user], axis=-1)
        for layer in self._hidden:
            x = self._dropout(layer(x), training=training)
        return self._projection(x)

    @staticmethod
    def _flat_global(embed: FeatureGroupEmbedding, inputs: dict[str, tf.Tensor]) -> tf.Tensor:
        """One global group's embeddings as one vector per example: ``[batch, dims]``."""
        embeddings, _ = embed(inputs)
        return tf.reshape(embeddings, [-1, embeddings.shape[1] * embeddings.shape[2]])
