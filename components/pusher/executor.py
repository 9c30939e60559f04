"""TFLitePusher's executor: converts a blessed model, checks it, and pushes it.

Only a blessed model is converted. Before anything is written, the parity check
(components.export.conversion) must pass on real eval contexts, else the push fails with a
report; the int8-weights variant ships beside the float model only when it keeps quality.
Each push lands in a new versioned folder with its sidecar (components.export.sidecar).
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
from components.example_gen.movie_table import read_movie_table
from components.export import on_device_inputs, sidecar
from components.export.conversion import (
    INT8_DECISION_CONTEXTS,
    ParityError,
    convert,
    hit_rate,
    int8_variant,
    parity_report,
    read_eval_inputs,
)
from components.export.layout import MODEL_FILE, ON_DEVICE_SIGNATURES, QUANTIZED_FILE, SIDECAR_FILE
from components.model.hparams import HParams
from configs import input_config


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        pushed = artifact_utils.get_single_instance(output_dict["pushed_model"])
        blessing = artifact_utils.get_single_instance(input_dict["model_blessing"])
        if not blessing.get_int_custom_property(names.BLESSED_PROPERTY):
            logging.warning("Model not blessed: nothing pushed.")
            pushed.set_int_custom_property(names.PUSHED_PROPERTY, 0)
            return
        model = artifact_utils.get_single_instance(input_dict["model"])
        saved_model_dir = path_utils.serving_model_path(model.uri)
        config = input_config.parse(exec_properties[names.INPUT_CONFIG_KEY], "TFLitePusher")
        transform_output = tft.TFTransformOutput(
            artifact_utils.get_single_instance(input_dict["transform_graph"]).uri
        )
        vocabularies = on_device_inputs.string_vocabularies(transform_output, config)
        examples_uri = artifact_utils.get_single_instance(input_dict["examples"]).uri
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
        problems = parity_report(tf.saved_model.load(saved_model_dir), float_model, parity_inputs)
        if problems:
            raise ParityError(
                f"TFLite and SavedModel disagree on {len(problems)} of "
                f"{contexts * len(ON_DEVICE_SIGNATURES)} checks; nothing pushed:\n  "
                + "\n  ".join(problems[:20])
            )
        files = {MODEL_FILE: float_model}
        float_hr = hit_rate(float_model, inputs, labels)
        quantized = {"float_hr_at_k": float_hr}
        if exec_properties["quantize"]:
            quantized_model, quantized = int8_variant(saved_model_dir, float_hr, inputs, labels)
            if quantized_model is not None:
                files[QUANTIZED_FILE] = quantized_model

        evaluation = artifact_utils.get_single_instance(input_dict["evaluation"])
        report = artifact_utils.get_single_instance(input_dict["report"])
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
        files[SIDECAR_FILE] = json.dumps(content, indent=1, ensure_ascii=False).encode()
        version = str(int(time.time()))
        destination = os.path.join(exec_properties["push_destination"], version)
        for target in (destination, pushed.uri):
            tf.io.gfile.makedirs(target)
            for name, content in files.items():
                with tf.io.gfile.GFile(os.path.join(target, name), "wb") as handle:
                    handle.write(content)
        pushed.set_int_custom_property(names.PUSHED_PROPERTY, 1)
        pushed.set_string_custom_property(names.PUSHED_DESTINATION_PROPERTY, destination)
        pushed.set_string_custom_property(names.PUSHED_VERSION_PROPERTY, version)
        pushed.set_int_custom_property(names.TFLITE_BYTES_PROPERTY, len(float_model))
        logging.info("Pushed %s (%d bytes) to %s", MODEL_FILE, len(float_model), destination)
