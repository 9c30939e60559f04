"""Builds the on-device signature's fixed-length inputs from a raw tf.Example.

This is what an app does with a user's recent activity, and what parity checks use to feed
the SavedModel and the TFLite model the same history.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from components.transform import ids
from configs import input_config
from configs.input_config_pb2 import FLOAT, STRING, InputConfig


def _left_pad(values: list, length: int, dtype) -> np.ndarray:
    values = values[-length:]
    return np.array([0] * (length - len(values)) + values, dtype)


def from_example(
    example: tf.train.Example,
    config: InputConfig,
    string_vocabularies: dict[str, list[bytes]],
) -> dict[str, np.ndarray]:
    """Input name -> array for ``recommend``: newest value last, padded with 0 on the left.

    STRING features become vocabulary rows (``string_vocabularies`` maps vocab name to its
    entries, most frequent first), as the on-device signature expects.
    """
    inputs = {}
    for feature in input_config.input_features(config):
        raw = example.features.feature[feature.feature_name]
        kind = raw.WhichOneof("kind")
        values = list(getattr(raw, kind).value) if kind else []
        if feature.feature_type == STRING:
            vocabulary = string_vocabularies[feature.vocab_name]
            rows = {value: row for row, value in enumerate(vocabulary, ids.FIRST_VOCAB_ROW)}
            values = [rows.get(v, ids.oov_row(len(vocabulary))) for v in values]
        dtype = np.float32 if feature.feature_type == FLOAT else np.int32
        inputs[feature.feature_name] = _left_pad(values, feature.feature_length, dtype)
    return inputs


def string_vocabularies(transform_output, config: InputConfig) -> dict[str, list[bytes]]:
    """The vocabularies of the config's STRING input features."""
    return {
        f.vocab_name: transform_output.vocabulary_by_name(f.vocab_name)
        for f in input_config.input_features(config)
        if f.feature_type == STRING
    }
