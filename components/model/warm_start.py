"""Warm start: a new model begins with the weights of the latest blessed model.

Vocabularies change between spans: new movies appear, and Transform orders every
vocabulary by frequency, so a movie's embedding row moves. A row is therefore carried over
by the raw value it stands for (a movie id, a year, a user's occupation), never by its
position: a movie the base model knew keeps its learnt row wherever it now sits, a new
movie gets a fresh row (the new model's initialiser), and a movie that left the vocabulary
is dropped. Padding and out-of-vocabulary rows carry over as such. Every other weight (the
encoder, the projection) is copied when its shape is unchanged and left fresh otherwise.
Weights are matched by their Keras path (``Model.get_weight_paths``), which follows the
model's structure, not the order or the per-process names of its variables.

Every exported model carries what a later training needs to start from it, under
``assets.extra/warm_start/`` beside the SavedModel: ``weights.npz`` (each weight by path)
and ``tables.json`` (which weights are tables of which vocabulary, and the vocabularies,
most frequent first). ``started.json`` there records how the model itself started; the
Trainer's executor copies it into the Model artifact's custom properties. A model exported
before warm start existed has none of these: training then starts from scratch and says so.
"""

from __future__ import annotations

import io
import logging
import os
from typing import Any

import numpy as np
import tensorflow as tf

from components.contracts import model_start
from components.contracts.warm_start_tables import WarmStartTables
from components.model.layers import FeatureGroupEmbedding
from components.model.recommender import Recommender
from components.transform import ids
from configs import input_config
from configs.input_config_pb2 import FLOAT, InputConfig

FOLDER = os.path.join("assets.extra", "warm_start")
WEIGHTS_FILE = os.path.join(FOLDER, "weights.npz")
WARM, SCRATCH = model_start.WARM, model_start.SCRATCH


class Unavailable(Exception):
    """The base model cannot be started from; the message says why."""


# How a training started, as written beside the exported model (the file's contract).
Start = model_start.ModelStart


def vocabulary_tables(model: Recommender, config: InputConfig) -> dict[str, str]:
    """Keras weight path -> vocabulary name of every embedding table of a vocabulary."""
    paths = {variable.ref(): path for path, variable in model.get_weight_paths().items()}
    features = {f.feature_name: f for f in input_config.input_features(config)}
    tables = {}
    for layer in model.submodules:
        if isinstance(layer, FeatureGroupEmbedding):
            for name, embedding in layer.embeddings.items():
                tables[paths[embedding.embeddings.ref()]] = features[name].vocab_name
    if model.label_embedding is not None:
        tables[paths[model.label_embedding.embeddings.ref()]] = config.label_feature.vocab_name
    return tables


def build_weights(model: Recommender, config: InputConfig) -> None:
    """Creates every weight of ``model`` (a Keras model makes them on its first call)."""
    inputs = {}
    for feature in input_config.input_features(config):
        dtype = tf.float32 if feature.feature_type == FLOAT else tf.int64
        inputs[feature.feature_name] = tf.zeros([1, feature.feature_length], dtype)
    model(inputs, training=False)


def save(
    model: Recommender,
    config: InputConfig,
    vocabularies: dict[str, list[bytes]],
    serving_model_dir: str,
) -> None:
    """Writes the weights, tables and vocabularies a later warm start reads."""
    tf.io.gfile.makedirs(os.path.join(serving_model_dir, FOLDER))
    weights = {path: variable.numpy() for path, variable in model.get_weight_paths().items()}
    packed = io.BytesIO()  # a zip needs a seekable file, which GCS files are not
    np.savez(packed, **weights)
    with tf.io.gfile.GFile(os.path.join(serving_model_dir, WEIGHTS_FILE), "wb") as handle:
        handle.write(packed.getvalue())
    WarmStartTables(
        tables=vocabulary_tables(model, config),
        vocabularies={
            name: [value.decode("utf-8", "replace") for value in values]
            for name, values in vocabularies.items()
        },
    ).write(serving_model_dir)


def _load(base_dir: str) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, list[str]]]:
    weights_path = os.path.join(base_dir, WEIGHTS_FILE)
    tables = WarmStartTables.read_if_present(base_dir)
    if not tf.io.gfile.exists(weights_path) or tables is None:
        raise Unavailable(
            f"the base model {base_dir} has no {FOLDER}/ (exported before warm start existed)"
        )
    with tf.io.gfile.GFile(weights_path, "rb") as handle:
        packed = handle.read()
    with np.load(io.BytesIO(packed)) as arrays:
        weights = {name: arrays[name] for name in arrays.files}
    return weights, tables.tables, tables.vocabularies


def carried_rows(
    base: np.ndarray, base_vocabulary: list[str], new: np.ndarray, new_vocabulary: list[str]
) -> tuple[np.ndarray, dict[str, int]]:
    """``new`` (a freshly initialised table of ``new_vocabulary``) with every row whose
    value the base vocabulary knows replaced by the base model's row for that value.

    Rows: 0 padding, 1..V the vocabulary in order, V + 1 out-of-vocabulary (ids.py).
    Returns the table and the counts: carried, new (fresh rows), dropped (base values the
    new vocabulary no longer has).
    """
    table = new.copy()
    base_row = {value: row for row, value in enumerate(base_vocabulary, ids.FIRST_VOCAB_ROW)}
    carried = 0
    for row, value in enumerate(new_vocabulary, ids.FIRST_VOCAB_ROW):
        if value in base_row:
            table[row] = base[base_row[value]]
            carried += 1
    table[ids.PADDING] = base[ids.PADDING]
    table[ids.oov_row(len(new_vocabulary))] = base[ids.oov_row(len(base_vocabulary))]
    counts = {
        "carried": carried,
        "new": len(new_vocabulary) - carried,
        "dropped": len(base_vocabulary) - carried,
    }
    return table, counts


def carry_over(
    model: Recommender,
    config: InputConfig,
    vocabularies: dict[str, list[bytes]],
    base_dir: str,
) -> tuple[dict[str, dict[str, Any]], int, list[str]]:
    """Sets ``model``'s weights from the model exported in ``base_dir`` (see the module
    docstring). Returns per table the rows carried, new and dropped; how many other
    weights were copied; and the paths of weights left fresh (new, or reshaped).

    Raises Unavailable when the base model has no warm-start files."""
    base_weights, base_tables, base_vocabularies = _load(base_dir)
    build_weights(model, config)
    tables = vocabulary_tables(model, config)
    table_counts: dict[str, dict[str, Any]] = {}
    copied, fresh = 0, []
    for path, variable in model.get_weight_paths().items():
        base = base_weights.get(path)
        if base is None:
            fresh.append(path)
            continue
        vocabulary = tables.get(path)
        if vocabulary is not None and base_tables.get(path) == vocabulary:
            if base.shape[1:] != tuple(variable.shape[1:]):  # another embedding size
                fresh.append(path)
                continue
            new_vocabulary = [v.decode("utf-8", "replace") for v in vocabularies[vocabulary]]
            value, counts = carried_rows(
                base, base_vocabularies[vocabulary], variable.numpy(), new_vocabulary
            )
            variable.assign(value)
            table_counts[path] = {"vocabulary": vocabulary, **counts}
        elif vocabulary is None and base.shape == tuple(variable.shape):
            variable.assign(base)
            copied += 1
        else:
            fresh.append(path)
    for path, counts in table_counts.items():
        logging.info("Warm start: %s (%s): %s", path, counts["vocabulary"], counts)
    logging.info("Warm start: %d other weights copied, fresh: %s", copied, fresh or "none")
    return table_counts, copied, fresh


def start(
    model: Recommender,
    config: InputConfig,
    vocabularies: dict[str, list[bytes]],
    warm_start: bool | str,
    base_dir: str | None,
    base_artifact: dict[str, Any] | None = None,
) -> Start:
    """Warm-starts ``model`` from ``base_dir`` when the setting and the base model allow
    it; otherwise leaves it as initialised. Returns how it started, and why."""
    if warm_start is False:
        return Start(SCRATCH, "warm_start=false")
    if not base_dir:
        return Start(SCRATCH, "no blessed model yet")
    try:
        tables, copied, fresh = carry_over(model, config, vocabularies, base_dir)
    except Unavailable as error:
        logging.warning("Training from scratch: %s", error)
        return Start(SCRATCH, str(error))
    artifact = base_artifact or {}
    return Start(
        WARM,
        "the latest blessed model",
        base_model_uri=artifact.get("uri") or base_dir,
        base_model_artifact_id=artifact.get("artifact_id") or None,
        tables=tables,
        copied_weights=copied,
        fresh_weights=list(fresh),
    )


def write_started(serving_model_dir: str, started: Start) -> None:
    started.write(serving_model_dir)


def read_started(serving_model_dir: str) -> dict[str, Any] | None:
    """How an exported model started (None: exported before warm start existed)."""
    started = model_start.ModelStart.read_if_present(serving_model_dir)
    return started.to_json() if started else None
