"""Serving signatures of the exported SavedModel.

* ``serving_default``: serialized tf.Examples -> top-K raw movie ids and scores, applying
  the Transform graph (TensorFlow Serving, TFMA). Movies of the example's context and of its
  whole history (``history_movie_ids``, where present) are never returned.
* ``transform_features``: serialized tf.Examples -> transformed features (TFMA).
* ``recommend`` / ``recommend_unseen``: the on-device signatures. Fixed-length inputs named
  after the config's features: raw int32 ids for INT features, float32 values for FLOAT
  features, int32 vocabulary rows for STRING features (the app looks strings up in the
  vocabulary shipped beside the model). ``recommend_unseen`` also takes
  ``excluded_movie_ids``, the user's whole watch history (raw ids, padded with 0), and never
  returns one of them or a movie of the context. Outputs ``top_prediction_ids`` (raw movie
  ids) and ``top_prediction_scores``. Raw ids are mapped with dense gather tables, which
  TFLite runs as builtin ops.
* ``score_all_movies``: the on-device inputs with a batch dimension -> the score of every
  movie (``scores``, one column per entry of ``movie_ids``). Not converted to TFLite: the
  quality report ranks every movie with it, through the same input path as the device.

Every signature's scores include the transition prior's bonus for the successors of the
context's newest movie when the Trainer chose a weight above 0
(components.model.transition_prior): what the gate, the report and the device rank is one
function.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from components.export import on_device_inputs
from components.export.layout import (
    EXCLUDED_MOVIES,
    MOVIE_IDS,
    RECOMMEND,
    RECOMMEND_UNSEEN,
    SCORE_ALL_MOVIES,
    SCORES,
    TOP_IDS,
    TOP_SCORES,
)
from components.model.masking import NEG_INF
from components.model.recommender import Recommender
from components.model.transition_prior import TransitionPrior
from components.transform import ids
from configs import features as raw
from configs import input_config
from configs.input_config_pb2 import FLOAT, INT, STRING, InputConfig


def raw_to_row_table(vocabulary: list[bytes]) -> np.ndarray:
    """Dense table: entry ``raw + 1`` is the embedding row of raw integer id ``raw`` (the OOV
    row for ids not in the vocabulary). Entries 0 and -1 are OOV too, so that clipping
    ``raw + 1`` into the table maps every int32 (negative, or beyond the largest id) with
    one gather: the exclusion list is long, and its mapping is most of the cost of the
    on-device signature."""
    values = [int(v) for v in vocabulary]
    size = max([*values, 0]) + 1
    if size > ids.MAX_TABLE_SIZE:
        raise ValueError(f"raw ids up to {size - 1} are too large for an on-device gather table")
    table = np.full(size + 2, ids.oov_row(len(values)), np.int32)
    table[np.array(values, np.int64) + 1] = np.arange(
        ids.FIRST_VOCAB_ROW, len(values) + ids.FIRST_VOCAB_ROW
    )
    if 0 not in values:
        table[1] = ids.PADDING  # raw 0 is padding unless 0 is a real value (e.g. "no year")
    if ids.table_rows(len(values)) <= _NARROW_ROWS:
        # Half the bytes: ML-25M's ids reach 209,171, a 0.84 MB table at int32.
        return (table - _NARROW_OFFSET).astype(np.int16)
    return table


# Tables of up to 65,536 rows store ``row - 32,768`` as int16 (TFLite's GATHER takes int16;
# it has no uint16).
_NARROW_OFFSET = -int(np.iinfo(np.int16).min)
_NARROW_ROWS = 2 * _NARROW_OFFSET


def raw_to_row(table: tf.Tensor, raw_ids: tf.Tensor) -> tf.Tensor:
    """Rows (int32) of int32 ``raw_ids`` in a :func:`raw_to_row_table` (builtin TFLite ops)."""
    rows = tf.gather(table, tf.clip_by_value(raw_ids + 1, 0, tf.shape(table)[0] - 1))
    if rows.dtype == tf.int16:
        return tf.cast(rows, tf.int32) + _NARROW_OFFSET
    return rows


def row_to_raw_table(vocabulary: list[bytes]) -> np.ndarray:
    """Embedding row -> raw movie id; padding and OOV rows map to -1."""
    return np.array([-1, *[int(v) for v in vocabulary], -1], np.int32)


def _float_scale(transform_output: tft.TFTransformOutput, feature_name: str) -> float:
    """The factor Transform multiplies a float feature by, read back from its graph.

    Transforming a single value of 1.0 gives the factor itself, so the on-device signature
    scales exactly as Transform does without a second copy of the constant.
    """
    probe = {feature_name: tf.SparseTensor([[0, 0]], [1.0], [1, 1])}
    transformed = transform_output.transform_features_layer()(probe)
    return float(tf.reshape(transformed[feature_name], [-1])[-1].numpy())


class ExportModule(tf.Module):
    """Holds the model, the Transform layer and the id tables the signatures need."""

    def __init__(
        self,
        model: Recommender,
        transform_output: tft.TFTransformOutput,
        config: InputConfig,
        top_k: int,
        prior: TransitionPrior | None = None,
    ):
        super().__init__()
        model.freeze_for_export()
        self.model = model
        self.tft_layer = transform_output.transform_features_layer()
        self._config = config
        self._top_k = top_k
        label = config.label_feature
        self._raw_spec = {
            f.feature_name: transform_output.raw_feature_spec()[f.feature_name]
            for f in input_config.input_features(config)
        }
        movies = transform_output.vocabulary_by_name(label.vocab_name)
        self._row_to_movie = tf.constant(row_to_raw_table(movies))
        self._movie_feature = input_config.movie_feature(config).feature_name
        self._prior = None
        if prior is not None:
            # Rows fit in int16 for catalogues below 32,767 movies: half the table's bytes.
            narrow = prior.rows <= np.iinfo(np.int16).max
            self._prior = (
                tf.constant(prior.successors.astype(np.int16 if narrow else np.int32)),
                tf.constant(prior.weight * prior.bonus, tf.float32),
            )
        self._excluded_length = input_config.excluded_movies_length(config)
        self._raw_to_row = {}
        self._scales = {}
        # Raw id -> row tables (raw_to_row_table): one clip and one gather map any raw id.
        for feature in input_config.input_features(config):
            if feature.feature_type == INT:
                vocabulary = transform_output.vocabulary_by_name(feature.vocab_name)
                self._raw_to_row[feature.feature_name] = tf.constant(raw_to_row_table(vocabulary))
            elif feature.feature_type == FLOAT:
                self._scales[feature.feature_name] = _float_scale(
                    transform_output, feature.feature_name
                )
        self._string_rows = {
            f.feature_name: ids.table_rows(transform_output.vocabulary_size_by_name(f.vocab_name))
            for f in input_config.input_features(config)
            if f.feature_type == STRING
        }

    def _with_prior(self, logits: tf.Tensor, window: tf.Tensor) -> tf.Tensor:
        """``logits`` ``[batch, rows]`` plus the transition prior's weighted bonus for the
        successors of each window's newest movie (components.model.transition_prior)."""
        if self._prior is None:
            return logits
        successors, bonus = self._prior
        newest = tf.cast(window[:, -1], tf.int32)
        rows = tf.cast(tf.gather(successors, newest), tf.int32)  # [batch, successors]
        examples = tf.broadcast_to(tf.range(tf.shape(rows)[0])[:, tf.newaxis], tf.shape(rows))
        pairs = tf.stack([tf.reshape(examples, [-1]), tf.reshape(rows, [-1])], axis=1)
        added = tf.scatter_nd(pairs, tf.reshape(tf.gather(bonus, newest), [-1]), tf.shape(logits))
        return logits + added

    def _top(self, logits: tf.Tensor) -> dict[str, tf.Tensor]:
        scores, rows = tf.math.top_k(logits, k=self._top_k)
        return {TOP_IDS: tf.gather(self._row_to_movie, rows), TOP_SCORES: scores}

    @staticmethod
    def _without(logits: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
        """``logits`` ``[rows]`` with the given movie rows never ranked.

        A scatter touches only the given rows; a one-hot mask over the whole catalogue made
        the on-device signature 4x slower. Repeats add up, harmlessly.
        """
        rows = tf.reshape(rows, [-1, 1])
        seen = tf.scatter_nd(rows, tf.ones([tf.shape(rows)[0]], tf.float32), tf.shape(logits))
        return logits + seen * NEG_INF

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, self._raw_spec)
        transformed = self.tft_layer(parsed)
        window = tf.cast(transformed[self._movie_feature], tf.int32)
        logits = self._with_prior(self.model(transformed, training=False), window)
        history_spec = {raw.HISTORY_MOVIE_IDS: tf.io.VarLenFeature(tf.int64)}
        history = tf.io.parse_example(serialized, history_spec)[raw.HISTORY_MOVIE_IDS]
        history_rows = self._rows(self._movie_feature, tf.cast(history.values, tf.int32))
        # [example, row] pairs of every movie to exclude: the whole history and the context.
        examples = tf.range(tf.shape(window)[0])[:, tf.newaxis] + tf.zeros_like(window)
        pairs = tf.concat(
            [
                tf.stack([tf.cast(history.indices[:, 0], tf.int32), history_rows], axis=1),
                tf.stack([tf.reshape(examples, [-1]), tf.reshape(window, [-1])], axis=1),
            ],
            axis=0,
        )
        seen = tf.scatter_nd(pairs, tf.ones([tf.shape(pairs)[0]], tf.float32), tf.shape(logits))
        top = self._top(logits + seen * NEG_INF)
        return {TOP_IDS: tf.cast(top[TOP_IDS], tf.int64), TOP_SCORES: top[TOP_SCORES]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, self._raw_spec)
        return self.tft_layer(parsed)

    def on_device_input_specs(self, batch: bool = False) -> list[tf.TensorSpec]:
        specs = []
        leading = [None] if batch else []
        for feature in input_config.input_features(self._config):
            dtype = tf.float32 if feature.feature_type == FLOAT else tf.int32
            shape = [*leading, feature.feature_length]
            specs.append(tf.TensorSpec(shape, dtype, name=feature.feature_name))
        return specs

    def _rows(self, name: str, values: tf.Tensor) -> tf.Tensor:
        if name in self._raw_to_row:
            return raw_to_row(self._raw_to_row[name], values)
        # STRING features arrive as vocabulary rows already; out-of-range rows become OOV.
        limit = self._string_rows[name]
        return tf.where(tf.logical_and(values >= 0, values < limit), values, limit - 1)

    def _logits(self, tensors: tuple[tf.Tensor, ...]) -> tf.Tensor:
        """Logits ``[batch, rows]`` of on-device inputs ``[batch, length]``."""
        features = {}
        for feature, values in zip(input_config.input_features(self._config), tensors, strict=True):
            name = feature.feature_name
            if feature.feature_type == FLOAT:
                features[name] = values * self._scales[name]
            else:
                features[name] = self._rows(name, values)
        logits = self.model(features, training=False)
        return self._with_prior(logits, features[self._movie_feature])

    def recommend_fn(self, exclude_history: bool):
        """The on-device signature; ``exclude_history`` masks the context's movies and the
        ``excluded_movie_ids`` input."""
        names = [f.feature_name for f in input_config.input_features(self._config)]
        movies = names.index(self._movie_feature)
        specs = self.on_device_input_specs()
        if exclude_history:
            specs.append(tf.TensorSpec([self._excluded_length], tf.int32, name=EXCLUDED_MOVIES))

        def recommend(*tensors: tf.Tensor) -> dict[str, tf.Tensor]:
            features = tensors[: len(names)]
            logits = self._logits(tuple(t[tf.newaxis] for t in features))[0]
            if exclude_history:
                excluded = tf.concat([features[movies], tensors[-1]], axis=0)
                logits = self._without(logits, self._rows(self._movie_feature, excluded))
            return self._top(logits)

        return tf.function(recommend, input_signature=specs)

    def score_all_movies_fn(self):
        def score_all_movies(*tensors: tf.Tensor) -> dict[str, tf.Tensor]:
            return {SCORES: self._logits(tensors), MOVIE_IDS: self._row_to_movie}

        return tf.function(score_all_movies, input_signature=self.on_device_input_specs(True))

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        return {
            "serving_default": self.serve_examples.get_concrete_function(),
            "transform_features": self.transform_features.get_concrete_function(),
            RECOMMEND: self.recommend_fn(exclude_history=False).get_concrete_function(),
            RECOMMEND_UNSEEN: self.recommend_fn(exclude_history=True).get_concrete_function(),
            SCORE_ALL_MOVIES: self.score_all_movies_fn().get_concrete_function(),
        }


def export(
    model: Recommender,
    transform_output: tft.TFTransformOutput,
    config: InputConfig,
    top_k: int,
    export_dir: str,
    prior: TransitionPrior | None = None,
) -> None:
    """Saves the model with its signatures (with the transition prior's bonus, when given)
    and the spec of its on-device inputs."""
    module = ExportModule(model, transform_output, config, top_k, prior)
    tf.saved_model.save(module, export_dir, signatures=module.signatures())
    on_device_inputs.write_spec(
        export_dir, config, on_device_inputs.string_vocabularies(transform_output, config)
    )
