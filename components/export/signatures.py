"""Serving signatures of the exported SavedModel.

* ``serving_default``: serialized tf.Examples -> top-K raw movie ids and scores, applying
  the Transform graph (TensorFlow Serving, TFMA).
* ``transform_features``: serialized tf.Examples -> transformed features (TFMA).
* ``recommend`` / ``recommend_unseen``: the on-device signatures. Fixed-length inputs named
  after the config's features: raw int32 ids for INT features, float32 values for FLOAT
  features, int32 vocabulary rows for STRING features (the app looks strings up in the
  vocabulary shipped beside the model). Outputs ``top_prediction_ids`` (raw movie ids) and
  ``top_prediction_scores``; ``recommend_unseen`` never returns a movie of the history.
  Raw ids are mapped with dense gather tables, which TFLite runs as builtin ops.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from components.model.recommender import NEG_INF, Recommender
from components.transform import ids
from configs import input_config
from configs.input_config_pb2 import FLOAT, INT, STRING, InputConfig

TOP_IDS = "top_prediction_ids"
TOP_SCORES = "top_prediction_scores"
ON_DEVICE_SIGNATURES = ("recommend", "recommend_unseen")
# Raw ids above this have no gather-table entry of their own and map to the OOV row.
_MAX_TABLE_SIZE = ids.MAX_TABLE_SIZE


def raw_to_row_table(vocabulary: list[bytes]) -> np.ndarray:
    """Dense table: raw integer id -> embedding row (OOV row for ids not in the vocabulary)."""
    values = [int(v) for v in vocabulary]
    size = max([*values, 0]) + 1
    if size > _MAX_TABLE_SIZE:
        raise ValueError(f"raw ids up to {size - 1} are too large for an on-device gather table")
    table = np.full(size, ids.oov_row(len(values)), np.int32)
    table[values] = np.arange(ids.FIRST_VOCAB_ROW, len(values) + ids.FIRST_VOCAB_ROW)
    if 0 not in values:
        table[0] = ids.PADDING  # raw 0 is padding unless 0 is a real value (e.g. "no year")
    return table


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
    ):
        super().__init__()
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
        self._raw_to_row = {}
        self._scales = {}
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

    def _top(self, logits: tf.Tensor) -> dict[str, tf.Tensor]:
        scores, rows = tf.math.top_k(logits, k=self._top_k)
        return {TOP_IDS: tf.gather(self._row_to_movie, rows), TOP_SCORES: scores}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, self._raw_spec)
        transformed = self.tft_layer(parsed)
        top = self._top(self.model(transformed, training=False))
        return {TOP_IDS: tf.cast(top[TOP_IDS], tf.int64), TOP_SCORES: top[TOP_SCORES]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, self._raw_spec)
        return self.tft_layer(parsed)

    def on_device_input_specs(self) -> list[tf.TensorSpec]:
        specs = []
        for feature in input_config.input_features(self._config):
            dtype = tf.float32 if feature.feature_type == FLOAT else tf.int32
            specs.append(tf.TensorSpec([feature.feature_length], dtype, name=feature.feature_name))
        return specs

    def _rows(self, name: str, values: tf.Tensor) -> tf.Tensor:
        if name in self._raw_to_row:
            table = self._raw_to_row[name]
            size = tf.shape(table)[0]
            oov = tf.reduce_max(table)
            inside = tf.logical_and(values >= 0, values < size)
            rows = tf.gather(table, tf.clip_by_value(values, 0, size - 1))
            return tf.where(inside, rows, oov)
        # STRING features arrive as vocabulary rows already; out-of-range rows become OOV.
        limit = self._string_rows[name]
        return tf.where(tf.logical_and(values >= 0, values < limit), values, limit - 1)

    def _on_device_logits(self, tensors: tuple[tf.Tensor, ...]) -> tf.Tensor:
        features = {}
        for feature, values in zip(input_config.input_features(self._config), tensors, strict=True):
            name = feature.feature_name
            if feature.feature_type == FLOAT:
                features[name] = (values * self._scales[name])[tf.newaxis]
            else:
                features[name] = self._rows(name, values)[tf.newaxis]
        return self.model(features, training=False)[0]

    def recommend_fn(self, exclude_history: bool):
        """The on-device signature; ``exclude_history`` masks the movies in the history."""
        movie_feature = next(
            f.feature_name
            for f in input_config.activity_features(self._config)
            if f.vocab_name == self._config.label_feature.vocab_name
        )
        names = [f.feature_name for f in input_config.input_features(self._config)]

        def recommend(*tensors: tf.Tensor) -> dict[str, tf.Tensor]:
            logits = self._on_device_logits(tensors)
            if exclude_history:
                rows = self._rows(movie_feature, tensors[names.index(movie_feature)])
                # A scatter touches only the history's rows; a one-hot mask over the whole
                # catalogue made this signature 4x slower on device. Repeats add up, harmlessly.
                seen = tf.scatter_nd(
                    rows[:, tf.newaxis], tf.ones_like(rows, tf.float32), tf.shape(logits)
                )
                logits = logits + seen * NEG_INF
            return self._top(logits)

        return tf.function(recommend, input_signature=self.on_device_input_specs())

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        return {
            "serving_default": self.serve_examples.get_concrete_function(),
            "transform_features": self.transform_features.get_concrete_function(),
            "recommend": self.recommend_fn(exclude_history=False).get_concrete_function(),
            "recommend_unseen": self.recommend_fn(exclude_history=True).get_concrete_function(),
        }


def export(
    model: Recommender,
    transform_output: tft.TFTransformOutput,
    config: InputConfig,
    top_k: int,
    export_dir: str,
) -> None:
    """Saves the model with all four signatures."""
    module = ExportModule(model, transform_output, config, top_k)
    tf.saved_model.save(module, export_dir, signatures=module.signatures())
