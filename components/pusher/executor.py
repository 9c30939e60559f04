"""TFLitePusher's executor: converts a blessed model, checks it, and pushes it.

Only a blessed model is converted. Before anything is written, the parity check
(components.export.conversion) must pass on real eval contexts, else the push fails with a
report; the int8-weights variant ships beside the float model only when it keeps quality.
Each push lands in a new versioned folder with its sidecar (components.export.sidecar),
published atomically and named by the serving pointer (components.export.serving); a model
whose bytes are those the pointer already names is recorded as unchanged, not pushed again.
"""

from __future__ import annotations

import json
import os
import time

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components import names
from components.contracts.sidecar import Sidecar
from components.example_gen.movie_table import read_movie_table
from components.export import on_device_inputs, serving, sidecar
from components.export.conversion import (
    INT8_DECISION_CONTEXTS,
    ParityError,
    convert,
    hit_rate,
    int8_variant,
    parity_report,
    read_eval_inputs,
)
from components.export.layout import MODEL_FILE, ON_DEVICE_SIGNATURES, QUANTIZED_FILE
from components.model.hparams import HParams
from configs import input_config


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        pushed = artifact_utils.get_single_instance(output_dict[names.PUSHED_MODEL_KEY])
        blessing = artifact_utils.get_single_instance(input_dict["model_blessing"])
        if not blessing.get_int_custom_property(names.BLESSED_PROPERTY):
            logging.warning("Model not blessed: nothing pushed.")
            pushed.set_int_custom_property(names.PUSHED_PROPERTY, 0)
            return
        model = artifact_utils.get_single_instance(input_dict[names.MODEL_KEY])
        saved_model_dir = path_utils.serving_model_path(model.uri)
        config = input_config.parse(exec_properties[names.INPUT_CONFIG_KEY], names.PUSHER)
        transform_output = tft.TFTransformOutput(
            artifact_utils.get_single_instance(input_dict[names.TRANSFORM_GRAPH_KEY]).uri
        )
        vocabularies = on_device_inputs.string_vocabularies(transform_output, config)
        examples_uri = artifact_utils.get_single_instance(input_dict[names.EXAMPLES_KEY]).uri
        # Parity runs the SavedModel (slow per call) on the first contexts; the int8 decision
        # compares hit rates, which needs thousands of contexts to resolve 1%.
        inputs, labels = read_eval_inputs(
            examples_uri,
            config,
            vocabularies,
            max(exec_properties["parity_examples"], INT8_DECISION_CONTEXTS),
        )
        contexts = min(len(labels), exec_properties["parity_examples"])
        parity_inputs = {name: values[:contexts] for name, values in inputs.items()}

        float_model = convert(saved_model_dir)
        destination_root = exec_properties["push_destination"]
        if not _remote(destination_root):
            serving.clean_staging(destination_root)  # what a killed push left
        served = _served_version(destination_root, serving.sha256_bytes(float_model))
        if served is not None:
            version_id, folder = served
            pushed.set_int_custom_property(names.PUSHED_PROPERTY, 0)
            pushed.set_string_custom_property(names.PUSH_UNCHANGED_PROPERTY, version_id)
            pushed.set_string_custom_property(names.PUSHED_VERSION_PROPERTY, version_id)
            pushed.set_string_custom_property(names.PUSHED_DESTINATION_PROPERTY, folder)
            pushed.set_string_custom_property(
                names.TFLITE_SHA256_PROPERTY, serving.sha256_bytes(float_model)
            )
            logging.info("Unchanged: version %s already serves these model bytes", version_id)
            return
        problems = parity_report(tf.saved_model.load(saved_model_dir), float_model, parity_inputs)
        if problems:
            for problem in problems[:20]:
                logging.error("Parity: %s", problem)
            raise ParityError(
                f"TFLite and SavedModel disagree on {len(problems)} of "
                f"{contexts * len(ON_DEVICE_SIGNATURES)} checks, nothing pushed; the first: "
                f"{problems[0]} (every one in the run's log)"
            )
        files = {MODEL_FILE: float_model}
        float_hr = hit_rate(float_model, inputs, labels)
        quantized = {"float_hr_at_k": float_hr}
        if exec_properties["quantize"]:
            quantized_model, quantized = int8_variant(saved_model_dir, float_hr, inputs, labels)
            if quantized_model is not None:
                files[QUANTIZED_FILE] = quantized_model

        evaluation = artifact_utils.get_single_instance(input_dict[names.EVALUATION_KEY])
        report = artifact_utils.get_single_instance(input_dict[names.REPORT_KEY])
        top_k = HParams.from_dict(json.loads(exec_properties[names.HPARAMS_KEY])).num_predictions
        content = sidecar.build(
            config,
            transform_output,
            read_movie_table(examples_uri),
            top_k,
            model,
            blessing,
            evaluation,
            report,
            contexts,
            quantized,
        )
        files[Sidecar.FILE] = Sidecar(content).to_bytes()
        # The artifact's own copy first: a failure there leaves the pointer as it was.
        tf.io.gfile.makedirs(pushed.uri)
        for name, data in files.items():
            with tf.io.gfile.GFile(os.path.join(pushed.uri, name), "wb") as handle:
                handle.write(data)
        destination = _publish(destination_root, files, content)
        version = os.path.basename(destination)
        pushed.set_int_custom_property(names.PUSHED_PROPERTY, 1)
        pushed.set_string_custom_property(names.PUSHED_DESTINATION_PROPERTY, destination)
        pushed.set_string_custom_property(names.PUSHED_VERSION_PROPERTY, version)
        pushed.set_int_custom_property(names.TFLITE_BYTES_PROPERTY, len(float_model))
        pushed.set_string_custom_property(
            names.TFLITE_SHA256_PROPERTY, serving.sha256_bytes(float_model)
        )
        logging.info("Pushed %s (%d bytes) to %s", MODEL_FILE, len(float_model), destination)


def _remote(root: str) -> bool:
    """An object store (gs://...): no atomic rename there."""
    return "://" in root


def _served_version(root: str, sha256: str) -> tuple[str, str] | None:
    """(version, folder) the pointer names, when its model has exactly these bytes."""
    if not _remote(root):
        found = serving.unchanged_version(root, sha256)
        return None if found is None else (found.id, found.path)
    path = os.path.join(root, serving.POINTER_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path, "rb") as handle:
        try:
            pointer = serving.parse_pointer(handle.read(), path)
        except serving.ServingError:
            return None
    if pointer["model_sha256"] != sha256:
        return None
    return pointer["version"], os.path.join(root, pointer["version"])


def _publish(root: str, files: dict[str, bytes], content: dict) -> str:
    """Publishes a new version and points to it; returns its folder.

    Locally: staged, renamed, pointer replaced (components.export.serving). On an object
    store, where rename is a copy: the version's files first, the pointer last (each object
    is written whole), and readers trust only the pointer.
    """
    if not _remote(root):
        return serving.push(root, files, content).version.path
    path = os.path.join(root, serving.POINTER_FILE)
    previous = None
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path, "rb") as handle:
            try:
                previous = serving.parse_pointer(handle.read(), path)
            except serving.ServingError:
                previous = None
    version = str(time.time_ns() // 1_000_000)
    destination = os.path.join(root, version)
    tf.io.gfile.makedirs(destination)
    for name, data in files.items():
        with tf.io.gfile.GFile(os.path.join(destination, name), "wb") as handle:
            handle.write(data)
    pointer = serving.pointer_bytes(
        version, serving.sha256_bytes(files[MODEL_FILE]), content, action="push", previous=previous
    )
    with tf.io.gfile.GFile(path, "wb") as handle:
        handle.write(pointer)
    return destination
