"""The two-tower next-movie model built from the input config.

Context tower: per activity group, the features' embeddings (float features as extra
channels) go through the group's encoder; global groups are embedded and concatenated;
everything passes the hidden layers and is projected to the label embedding size.
Label tower: one embedding row per movie. Score = dot product; padding and OOV rows are
never recommended.
"""

from __future__ import annotations

import math

import tensorflow as tf

from components.model.encoders import NEG_INF, make_encoder
from components.model.hparams import HParams
from components.transform import ids
from configs import input_config
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


class Recommender(keras.Model):
    """Scores every movie-vocabulary row for a history; trains with (sampled) softmax."""

    def __init__(
        self, config: InputConfig, vocab_sizes: dict[str, int], hparams: HParams, **kwargs
    ):
        super().__init__(**kwargs)
        hparams = hparams.for_config(config)
        self.hparams = hparams
        self.label_name = config.label_feature.feature_name
        movie_vocab_size = vocab_sizes[config.label_feature.vocab_name]
        self.num_rows = ids.table_rows(movie_vocab_size)
        self.oov_row = ids.oov_row(movie_vocab_size)
        self.input_names = [f.feature_name for f in input_config.input_features(config)]
        self.context_tower = ContextTower(config, vocab_sizes, hparams, name="context_tower")
        self.tied_feature = (
            input_config.movie_feature(config).feature_name if hparams.tie_embeddings else None
        )
        self.label_embedding = (
            None
            if self.tied_feature
            else keras.layers.Embedding(
                self.num_rows, config.label_feature.embedding_dim, name="label_embedding"
            )
        )
        # Padding and OOV rows are never a recommendation.
        invalid = [ids.PADDING, self.oov_row]
        self._row_bias = tf.constant(
            [NEG_INF if row in invalid else 0.0 for row in range(self.num_rows)], tf.float32
        )

    def context(self, inputs: dict[str, tf.Tensor], training=None) -> tf.Tensor:
        return self.context_tower({n: inputs[n] for n in self.input_names}, training=training)

    def sequence_logits(self, inputs: dict[str, tf.Tensor], training=None) -> tf.Tensor:
        """Logits for the next movie at every position: ``[batch, length, rows]``."""
        context = self.context_tower.sequence_context(
            {n: inputs[n] for n in self.input_names}, training=training
        )
        return tf.einsum("btd,rd->btr", self._query(context), self.scoring_table()) + self._row_bias

    def _query(self, context: tf.Tensor) -> tf.Tensor:
        """The context as it meets the movie table: with cosine similarity, unit length and
        divided by the temperature (so logits are cosines / temperature)."""
        if self.hparams.similarity == "cosine":
            return tf.math.l2_normalize(context, axis=-1) / self.hparams.temperature
        return context

    def scoring_table(self) -> tf.Tensor:
        """The movie table that scores candidates (unit rows with cosine similarity)."""
        table = self.label_table()
        return (
            tf.math.l2_normalize(table, axis=-1) if self.hparams.similarity == "cosine" else table
        )

    def label_table(self) -> tf.Tensor:
        if self.tied_feature:
            return self.context_tower.embedding_table(self.tied_feature)
        if not self.label_embedding.built:
            self.label_embedding.build(None)
        return self.label_embedding.embeddings

    def call(self, inputs: dict[str, tf.Tensor], training=None) -> tf.Tensor:
        """Logits over every movie row: ``[batch, rows]``."""
        context = self._query(self.context(inputs, training=training))
        return tf.matmul(context, self.scoring_table(), transpose_b=True) + self._row_bias

    def _sampled_loss(self, context: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        table = self.scoring_table()
        context = self._query(context)
        if self.hparams.loss == "in_batch":
            # Other examples' labels are the negatives; subtract log Q under the Zipf
            # (log-uniform) approximation of label frequency that the sorted vocabulary gives.
            label_rows = tf.cast(labels, tf.int64)
            logits = tf.matmul(context, tf.gather(table, label_rows), transpose_b=True)
            logits -= _log_uniform_log_q(label_rows, self.num_rows)[tf.newaxis, :]
            same = tf.equal(label_rows[:, tf.newaxis], label_rows[tf.newaxis, :])
            diagonal = tf.eye(tf.shape(labels)[0], dtype=tf.bool)
            logits = tf.where(tf.logical_and(same, ~diagonal), NEG_INF, logits)
            targets = tf.range(tf.shape(labels)[0])
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits))
        sampled = tf.random.log_uniform_candidate_sampler(
            true_classes=tf.cast(labels[:, tf.newaxis], tf.int64),
            num_true=1,
            num_sampled=self.hparams.num_sampled,
            unique=True,
            range_max=self.num_rows,
        )
        return tf.reduce_mean(
            tf.nn.sampled_softmax_loss(
                weights=table,
                biases=self._row_bias,
                labels=tf.cast(labels[:, tf.newaxis], tf.int64),
                inputs=context,
                num_sampled=self.hparams.num_sampled,
                num_classes=self.num_rows,
                sampled_values=sampled,
                remove_accidental_hits=True,
            )
        )

    def train_step(self, data):
        if self.hparams.loss == "softmax":
            return super().train_step(data)
        features, labels = data
        labels = tf.reshape(labels, [-1])
        with tf.GradientTape() as tape:
            context = self.context(features, training=True)
            loss = self._sampled_loss(context, labels) + sum(self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables, strict=True))
        self.compiled_metrics.update_state(labels, self(features, training=False))
        return {"loss": loss, **{m.name: m.result() for m in self.metrics if m.name != "loss"}}


def _log_uniform_log_q(rows: tf.Tensor, num_rows: int) -> tf.Tensor:
    """log P(row) under the log-uniform (Zipf) distribution over ``num_rows`` rows."""
    rows = tf.cast(rows, tf.float32)
    return tf.math.log(tf.math.log((rows + 2.0) / (rows + 1.0)) / math.log(num_rows + 1.0))


class KnownLabelCrossEntropy(keras.losses.Loss):
    """Softmax cross-entropy that skips padding labels and labels outside the vocabulary.

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
        known = tf.logical_and(tf.not_equal(labels, self.oov_row), labels > ids.PADDING)
        safe = tf.where(known, labels, tf.zeros_like(labels) + ids.FIRST_VOCAB_ROW)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(safe, logits)
        return tf.where(known, losses, tf.zeros_like(losses))

    def get_config(self) -> dict:
        return {**super().get_config(), "oov_row": self.oov_row}


def make_optimizer(hparams: HParams) -> keras.optimizers.Optimizer:
    optimizers = {
        "adam": keras.optimizers.Adam,
        "adagrad": keras.optimizers.Adagrad,
        "sgd": keras.optimizers.SGD,
    }
    return optimizers[hparams.optimizer](
        learning_rate=hparams.learning_rate, global_clipnorm=hparams.gradient_clip_norm or None
    )


def compile_model(model: Recommender, hparams: HParams) -> None:
    model.compile(
        optimizer=make_optimizer(hparams),
        loss=KnownLabelCrossEntropy(model.oov_row),
        metrics=[
            keras.metrics.SparseTopKCategoricalAccuracy(k=k, name=f"hr_at_{k}")
            for k in hparams.eval_top_k
        ],
    )
