"""Transform's preprocessing_fn, driven by the input config passed as ``custom_config``.

* One vocabulary per ``vocab_name``, computed over every feature that shares it (context and
  label movie ids share one), mapped to rows as described in :mod:`components.transform.ids`.
* Every sequence is cut to its configured length keeping the most recent values and
  left-padded, so the newest activity is always the last position: ``[batch, length]``.
* Float sequences are scaled to (0, 1] by the training maximum.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from components import names
from components.transform import ids
from configs import features as raw
from configs import input_config
from configs.input_config_pb2 import FLOAT, Feature

PASSTHROUGH = (raw.USER_ID, raw.HISTORY_LENGTH)
# The whole watch history as movie rows (eval and test examples; empty in training): the
# Trainer's per-epoch evaluation excludes them from the ranking, as the device does.
HISTORY_ROWS = "history_movie_rows"
# A training piece's targets as movie rows, aligned with its movie rows (PADDING where a
# position has no target; all PADDING on windows): the sequence layout's labels.
TARGET_ROWS = "next_movie_rows"


def _values(tensor: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    return tensor.values if isinstance(tensor, tf.SparseTensor) else tf.reshape(tensor, [-1])


def _as_sparse(tensor: tf.Tensor | tf.SparseTensor) -> tf.SparseTensor:
    if isinstance(tensor, tf.SparseTensor):
        return tensor
    # Every cell is a value: tf.sparse.from_dense would drop zeros and empty strings.
    indices = tf.where(tf.ones_like(tensor, dtype=tf.bool))
    return tf.SparseTensor(indices, tf.reshape(tensor, [-1]), tf.shape(tensor, out_type=tf.int64))


def right_align(sparse: tf.SparseTensor, length: int) -> tf.Tensor:
    """Keeps each row's last ``length`` values, left-padded with zeros: ``[batch, length]``.

    Values must already be numeric (ids or floats); padding is 0 for both.
    """
    rows, cols = sparse.indices[:, 0], sparse.indices[:, 1]
    batch = sparse.dense_shape[0]
    row_lengths = tf.math.bincount(
        tf.cast(rows, tf.int32), minlength=tf.cast(batch, tf.int32), dtype=tf.int64
    )
    target_cols = cols + length - tf.gather(row_lengths, rows)
    keep = target_cols >= 0
    indices = tf.stack([tf.boolean_mask(rows, keep), tf.boolean_mask(target_cols, keep)], axis=1)
    dense = tf.scatter_nd(
        indices,
        tf.boolean_mask(sparse.values, keep),
        tf.stack([batch, tf.constant(length, tf.int64)]),
    )
    dense.set_shape([None, length])
    return dense


def _lookup(tensor: tf.Tensor | tf.SparseTensor, vocab: tf.Tensor) -> tf.SparseTensor:
    sparse = _as_sparse(tensor)
    rows = tft.apply_vocabulary(sparse.values, vocab, num_oov_buckets=1)
    return tf.SparseTensor(sparse.indices, rows + ids.FIRST_VOCAB_ROW, sparse.dense_shape)


def _scaled(tensor: tf.Tensor | tf.SparseTensor) -> tf.SparseTensor:
    sparse = _as_sparse(tensor)
    maximum = tft.max(sparse.values)
    return tf.SparseTensor(sparse.indices, sparse.values / maximum, sparse.dense_shape)


def _transform_feature(
    feature: Feature, tensor: tf.Tensor | tf.SparseTensor, vocab_files: dict[str, tf.Tensor]
) -> tf.Tensor:
    if feature.feature_type == FLOAT:
        return right_align(_scaled(tensor), feature.feature_length)
    return right_align(_lookup(tensor, vocab_files[feature.vocab_name]), feature.feature_length)


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any]) -> dict[str, Any]:
    """Vocabularies and fixed-length, left-padded features for every configured feature."""
    config = input_config.parse(custom_config[names.INPUT_CONFIG_KEY], "Transform custom_config")
    vocab_files = {}
    for vocab_name, members in input_config.vocabularies(config).items():
        values = tf.concat([_values(inputs[f.feature_name]) for f in members], axis=0)
        # Named after the vocabulary, not the call order: TFT's trace-time lookup tables are
        # shared by scope name within a process, and the Nth vocabulary of one config may
        # hold strings where another config's Nth holds ints.
        vocab_files[vocab_name] = tft.vocabulary(
            values,
            top_k=members[0].vocab_size or None,
            vocab_filename=vocab_name,
            name=f"{vocab_name}_vocabulary",
        )
    outputs = {
        feature.feature_name: _transform_feature(feature, inputs[feature.feature_name], vocab_files)
        for feature in input_config.all_features(config)
    }
    # Passed through for the Trainer's sequence layout, which rebuilds each user's timeline.
    for name in PASSTHROUGH:
        outputs[name] = tf.reshape(inputs[name], [-1, 1])
    movie_vocab = vocab_files[config.label_feature.vocab_name]
    outputs[HISTORY_ROWS] = _lookup(inputs[raw.HISTORY_MOVIE_IDS], movie_vocab)
    outputs[TARGET_ROWS] = _target_rows(
        inputs[raw.NEXT_MOVIE_IDS], movie_vocab, input_config.movie_feature(config).feature_length
    )
    return outputs


def _target_rows(
    next_movie_ids: tf.Tensor | tf.SparseTensor, vocab: tf.Tensor, length: int
) -> tf.Tensor:
    """``[batch, length]`` movie rows of the targets, aligned as the movie rows are."""
    rows = _lookup(next_movie_ids, vocab)
    raw_ids = _as_sparse(next_movie_ids).values
    targets = tf.where(
        raw_ids == raw.NO_TARGET, tf.constant(ids.PADDING, rows.values.dtype), rows.values
    )
    return right_align(tf.SparseTensor(rows.indices, targets, rows.dense_shape), length)
