"""The two-tower next-movie model built from the input config.

Context tower (components.model.layers): the history and the user's features, encoded.
Label tower: one embedding row per movie (or the history's own table when tied). Score =
dot product (or cosine / temperature); padding and OOV rows are never recommended. The
training loss (components.model.losses) is chosen once, from the resolved hyper-parameters.
"""

from __future__ import annotations

import tensorflow as tf

from components.evaluation import ranking_tf
from components.model import losses
from components.model.hparams import HParams
from components.model.layers import ContextTower
from components.model.masking import NEG_INF
from components.transform import ids
from configs import input_config
from configs.input_config_pb2 import InputConfig

keras = tf.keras


class Recommender(keras.Model):
    """Scores every movie-vocabulary row for a history; trains with (sampled) softmax."""

    def __init__(
        self, config: InputConfig, vocab_sizes: dict[str, int], hparams: HParams, **kwargs
    ):
        super().__init__(**kwargs)
        movie_vocab_size = vocab_sizes[config.label_feature.vocab_name]
        hparams = hparams.for_config(config).with_loss_for(movie_vocab_size)
        self.hparams = hparams
        self.training_loss = losses.for_hparams(hparams)
        self.label_name = config.label_feature.feature_name
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
        # Padding and OOV rows are never a recommendation: ``row_bias`` for the sampled
        # loss, ``_never_recommended`` in ``logits`` (the first and the last row).
        assert ids.PADDING == 0 and self.oov_row == self.num_rows - 1
        invalid = [ids.PADDING, self.oov_row]
        self._frozen_row_scales: tf.Tensor | None = None  # freeze_for_export
        self.row_bias = tf.constant(
            [NEG_INF if row in invalid else 0.0 for row in range(self.num_rows)], tf.float32
        )

    def context(self, inputs: dict[str, tf.Tensor], training=None) -> tf.Tensor:
        return self.context_tower({n: inputs[n] for n in self.input_names}, training=training)

    def sequence_loss(
        self, inputs: dict[str, tf.Tensor], targets: tf.Tensor, training=None
    ) -> tf.Tensor:
        """The mean loss of the next movie at every position with a known target
        (``targets`` ``[batch, length]``; padding and OOV targets are skipped).

        Only those positions meet the movie table: with overlapping pieces
        (``sequence_stride``) or padding, the others would cost the bulk of a step for
        nothing.
        """
        context = self.context_tower.sequence_context(
            {n: inputs[n] for n in self.input_names}, training=training
        )
        targets = tf.cast(targets, tf.int64)
        known = losses.known_labels(targets, self.oov_row)
        return self.loss_at(tf.boolean_mask(context, known), tf.boolean_mask(targets, known))

    def loss_at(self, context: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """The training loss of contexts ``[n, dim]`` and their known labels ``[n]``."""
        return self.training_loss(self, context, labels)

    def logits(self, context: tf.Tensor) -> tf.Tensor:
        """Contexts ``[n, dim]`` x movie table -> ``[n, rows]``: in the context's dtype
        (bfloat16 under mixed precision, the bulk of a training step), returned in float32
        for the softmax.

        With cosine scores the product is of the unit-length context and the raw table,
        then scaled per row by ``1 / (norm x temperature)``, after the padding/OOV walls:
        the TFLite converter folds a scaling that sits next to the product (of the query,
        or of the product itself) into the product's weights, which would put a second,
        scaled copy of the table in the file beside the one the history's lookup reads.
        """
        table = self.label_table()
        cosine = self.hparams.similarity == "cosine"
        query = tf.math.l2_normalize(context, axis=-1) if cosine else context
        logits = tf.einsum("nd,rd->nr", query, tf.cast(table, query.dtype))
        logits = _never_recommended(tf.cast(logits, tf.float32))
        if not cosine:
            return logits
        if self._frozen_row_scales is not None:
            return logits * self._frozen_row_scales
        return logits * self._row_scales(table)

    def _row_scales(self, table: tf.Tensor) -> tf.Tensor:
        """Cosine scores' factor per row ``[rows]``: 1 / (its norm x the temperature)."""
        return _inverse_norms(tf.cast(table, tf.float32)) / self.hparams.temperature

    def freeze_for_export(self) -> None:
        """Fixes what the scores derive from the weights at their current values: with
        cosine scores, each row's scale becomes one constant per movie (otherwise the
        exported graph recomputes it from the table on every call, and the converter may
        keep a second, squared copy of the table to do it). Call once training is over."""
        if self.hparams.similarity == "cosine":
            self._frozen_row_scales = tf.constant(self._row_scales(self.label_table()).numpy())

    def query(self, context: tf.Tensor) -> tf.Tensor:
        """The context as it meets the movie table: with cosine similarity, unit length and
        divided by the temperature (so logits are cosines / temperature)."""
        if self.hparams.similarity == "cosine":
            return tf.math.l2_normalize(context, axis=-1) / self.hparams.temperature
        return context

    def scoring_table(self) -> tf.Tensor:
        """The movie table that scores candidates (unit rows with cosine similarity)."""
        table = self.label_table()
        if self.hparams.similarity == "cosine":
            return table * _inverse_norms(table)[:, tf.newaxis]
        return table

    def label_table(self) -> tf.Tensor:
        if self.tied_feature:
            return self.context_tower.embedding_table(self.tied_feature)
        if not self.label_embedding.built:
            self.label_embedding.build(None)
        return self.label_embedding.embeddings

    def call(self, inputs: dict[str, tf.Tensor], training=None) -> tf.Tensor:
        """Logits over every movie row: ``[batch, rows]``."""
        return self.logits(self.context(inputs, training=training))

    def train_step(self, data):
        if self.training_loss.compiled:  # Keras' compiled loss (compile_model)
            return super().train_step(data)
        features, labels = data
        labels = tf.reshape(labels, [-1])
        with tf.GradientTape() as tape:
            context = self.context(features, training=True)
            loss = self.loss_at(context, labels) + sum(self.losses)
            # Replicas' gradients are summed: each takes its share of the mean (what
            # Keras' compiled loss does; 1 replica: unchanged).
            scaled = loss / self.distribute_strategy.num_replicas_in_sync
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables, strict=True))
        self.compiled_metrics.update_state(labels, self(features, training=False))
        return {"loss": loss, **{m.name: m.result() for m in self.metrics if m.name != "loss"}}


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
        loss=losses.KnownLabelCrossEntropy(model.oov_row),
        metrics=[ranking_tf.HitRate(k) for k in hparams.eval_top_k],  # hr_at_K
        jit_compile=hparams.xla,
    )


def _never_recommended(logits: tf.Tensor) -> tf.Tensor:
    """``logits`` ``[n, rows]`` with the padding row (the first) and the OOV row (the last)
    set to NEG_INF: the same as adding ``row_bias``, without a constant per movie in the
    exported file (0.25 MB at 62k movies)."""
    wall = tf.fill([tf.shape(logits)[0], 1], NEG_INF)
    return tf.concat([wall, logits[:, ids.FIRST_VOCAB_ROW : -1], wall], axis=1)


def _inverse_norms(table: tf.Tensor) -> tf.Tensor:
    """1 / the L2 norm of each row ``[rows]``, as ``tf.math.l2_normalize`` computes it."""
    return tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(table), axis=-1), 1e-12))
