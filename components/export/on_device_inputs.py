"""Builds the on-device signatures' fixed-length inputs from raw example columns.

This is what an app does with a user's activity, and what the push's parity check and the
quality report use to feed the SavedModel and the TFLite model exactly the same histories.
"""

from __future__ import annotations

import numpy as np
from google.protobuf import text_format

from components.contracts.on_device_spec import OnDeviceSpec
from components.evaluation.examples import Ragged
from components.export.layout import EXCLUDED_MOVIES
from components.transform import ids
from configs import features as raw
from configs import input_config
from configs.input_config_pb2 import FLOAT, STRING, InputConfig


def feature_names(config: InputConfig) -> list[str]:
    """The raw features the on-device inputs are built from (the whole history included)."""
    return [
        *(f.feature_name for f in input_config.input_features(config)),
        raw.HISTORY_MOVIE_IDS,
    ]


def from_columns(
    columns: dict[str, Ragged],
    config: InputConfig,
    string_vocabularies: dict[str, list[bytes]],
) -> dict[str, np.ndarray]:
    """Input name -> ``[examples, length]`` array, newest value last, padded on the left.

    STRING features become vocabulary rows (``string_vocabularies`` maps vocab name to its
    entries, most frequent first), as the on-device signatures expect. The excluded movies
    are the example's whole history where it has one (held-out examples), else its context.
    """
    inputs = {}
    for feature in input_config.input_features(config):
        rows = columns[feature.feature_name].rows()
        if feature.feature_type == STRING:
            vocabulary = string_vocabularies[feature.vocab_name]
            index = {value: row for row, value in enumerate(vocabulary, ids.FIRST_VOCAB_ROW)}
            oov = ids.oov_row(len(vocabulary))
            rows = [[index.get(value, oov) for value in row] for row in rows]
        dtype = np.float32 if feature.feature_type == FLOAT else np.int32
        inputs[feature.feature_name] = np.stack(
            [ids.left_padded(row, feature.feature_length, dtype) for row in rows]
        )
    histories = columns[raw.HISTORY_MOVIE_IDS].rows()
    contexts = columns[raw.CONTEXT_MOVIE_ID].rows()
    length = input_config.excluded_movies_length(config)
    inputs[EXCLUDED_MOVIES] = np.stack(
        [
            ids.left_padded(history if len(history) else context, length, np.int32)
            for history, context in zip(histories, contexts, strict=True)
        ]
    )
    return inputs


def example(inputs: dict[str, np.ndarray], index: int, names: list[str]) -> dict[str, np.ndarray]:
    """One example's inputs for a signature that takes ``names``."""
    return {name: inputs[name][index] for name in names}


def string_vocabularies(transform_output, config: InputConfig) -> dict[str, list[bytes]]:
    """The vocabularies of the config's STRING input features."""
    return {
        f.vocab_name: transform_output.vocabulary_by_name(f.vocab_name)
        for f in input_config.input_features(config)
        if f.feature_type == STRING
    }


def write_spec(
    model_dir: str, config: InputConfig, string_vocabularies: dict[str, list[bytes]]
) -> None:
    """Writes, beside an exported SavedModel, what it takes to build its on-device inputs,
    so that anything holding the model (the report, the push, a benchmark) can feed it."""
    OnDeviceSpec(
        input_config=text_format.MessageToString(config),
        string_vocabularies={
            name: [v.decode("utf-8", "replace") for v in values]
            for name, values in string_vocabularies.items()
        },
    ).write(model_dir)


def read_spec(model_dir: str) -> tuple[InputConfig, dict[str, list[bytes]]]:
    """The input config and string vocabularies an exported model was built with."""
    spec = OnDeviceSpec.read(model_dir)
    config = input_config.parse(spec.input_config, f"{model_dir} on-device spec")
    vocabularies = {
        name: [v.encode() for v in values] for name, values in spec.string_vocabularies.items()
    }
    return config, vocabularies
