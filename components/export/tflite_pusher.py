"""TFLitePusher: converts a blessed model's on-device signatures to TFLite and pushes it.

Only a blessed model is converted. Before anything is written, a parity check runs the
SavedModel and the standalone LiteRT interpreter on real eval contexts: the same top-K ids
in the same order and scores within tolerance, else the push fails with a report. A
dynamic-range quantized variant is pushed beside the float model only when its HR@10 on
those contexts stays within 1% of the float model's. Each push lands in a new versioned
folder with a JSON sidecar (input spec, K, movie titles, metrics, lineage ids).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from ai_edge_litert.interpreter import Interpreter
from tfx import types
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.utils import path_utils

import movie_recs as artifacts
from components import names
from components.data_formats import movielens, spans
from components.evaluation import quality, tfma_results
from components.evaluation import report as quality_report
from components.example_gen import timelines
from components.export import movie_inputs, on_device_inputs
from components.export.layout import (
    EXCLUDED_MOVIES,
    MODEL_FILE,
    ON_DEVICE_SIGNATURES,
    QUANTIZED_FILE,
    RECOMMEND,
    RECOMMEND_UNSEEN,
    SIDECAR_FILE,
    TOP_IDS,
    TOP_SCORES,
)
from components.transform import ids
from configs import input_config
from configs.input_config_pb2 import FLOAT, INT, STRING

SCORE_TOLERANCE = 1e-3


class ParityError(RuntimeError):
    """The TFLite model does not answer like the SavedModel it was converted from."""


def convert(saved_model_dir: str, quantize: bool = False) -> bytes:
    """The on-device signatures as a TFLite flatbuffer, builtin ops only."""
    converter = tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=list(ON_DEVICE_SIGNATURES)
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # int8 weights, float activations
    return converter.convert()


def read_eval_inputs(
    examples_uri: str, config, vocabularies: dict[str, list[bytes]], limit: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The on-device inputs and labels of up to ``limit`` eval examples."""
    held_out = quality.read_held_out(
        examples_uri, timelines.EVAL, on_device_inputs.feature_names(config), limit
    )
    return on_device_inputs.from_columns(held_out.columns, config, vocabularies), held_out.labels


def signature_inputs(inputs: dict[str, np.ndarray], runner) -> list[dict[str, np.ndarray]]:
    """Per example, the inputs the signature ``runner`` takes (by name)."""
    names = list(runner.get_input_details())
    count = len(next(iter(inputs.values())))
    return [on_device_inputs.example(inputs, i, names) for i in range(count)]


def _lite_top(model: bytes, signature: str, inputs: dict[str, np.ndarray]):
    runner = Interpreter(model_content=model).get_signature_runner(signature)
    return [runner(**features) for features in signature_inputs(inputs, runner)]


def parity_report(saved_model, model: bytes, inputs: dict[str, np.ndarray]) -> list[str]:
    """One line per context where TFLite and the SavedModel disagree (empty when they agree)."""
    problems = []
    for signature in ON_DEVICE_SIGNATURES:
        lite = _lite_top(model, signature, inputs)
        saved_signature = saved_model.signatures[signature]
        names = list(saved_signature.structured_input_signature[1])
        for row, lite_top in enumerate(lite):
            features = on_device_inputs.example(inputs, row, names)
            saved = saved_signature(**{k: tf.constant(v) for k, v in features.items()})
            saved_ids, saved_scores = saved[TOP_IDS].numpy(), saved[TOP_SCORES].numpy()
            if not np.array_equal(saved_ids, lite_top[TOP_IDS]):
                problems.append(
                    f"{signature} context {row}: ids {lite_top[TOP_IDS].tolist()} != "
                    f"SavedModel {saved_ids.tolist()}"
                )
            elif not np.allclose(
                lite_top[TOP_SCORES], saved_scores, rtol=SCORE_TOLERANCE, atol=SCORE_TOLERANCE
            ):
                problems.append(f"{signature} context {row}: scores differ beyond tolerance")
    return problems


def hit_rate(model: bytes, inputs: dict[str, np.ndarray], labels: np.ndarray) -> float:
    """HR@K of ``recommend_unseen`` (the signature an app calls) on these examples."""
    tops = _lite_top(model, RECOMMEND_UNSEEN, inputs)
    return float(np.mean([label in top[TOP_IDS] for top, label in zip(tops, labels, strict=True)]))


def input_spec(config) -> list[dict[str, Any]]:
    spec = []
    for feature in input_config.input_features(config):
        spec.append(
            {
                "name": feature.feature_name,
                "length": feature.feature_length,
                "dtype": "float32" if feature.feature_type == FLOAT else "int32",
                "values": (
                    "vocabulary rows (see string_vocabularies; 0 = padding)"
                    if feature.feature_type == STRING
                    else "raw values"
                    if feature.feature_type == FLOAT
                    else "raw ids"
                ),
                "vocab_name": feature.vocab_name,
                "padding_value": ids.PADDING,
                "order": "oldest first, newest last; shorter histories padded on the left",
                **({"unknown_id": ids.UNKNOWN_RAW_ID} if feature.feature_type == INT else {}),
            }
        )
    spec.append(
        {
            "name": EXCLUDED_MOVIES,
            "length": input_config.excluded_movies_length(config),
            "dtype": "int32",
            "values": "raw ids of every movie the user watched (recommend_unseen only)",
            "vocab_name": config.label_feature.vocab_name,
            "padding_value": ids.PADDING,
            "unknown_id": ids.UNKNOWN_RAW_ID,
            "order": "any; a longer history keeps its most recent movies",
        }
    )
    return spec


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        pushed = artifact_utils.get_single_instance(output_dict["pushed_model"])
        blessing = artifact_utils.get_single_instance(input_dict["model_blessing"])
        if not blessing.get_int_custom_property("blessed"):
            logging.warning("Model not blessed: nothing pushed.")
            pushed.set_int_custom_property("pushed", 0)
            return
        model = artifact_utils.get_single_instance(input_dict["model"])
        saved_model_dir = path_utils.serving_model_path(model.uri)
        config = input_config.parse(exec_properties[names.INPUT_CONFIG_KEY], "TFLitePusher")
        transform_output = tft.TFTransformOutput(
            artifact_utils.get_single_instance(input_dict["transform_graph"]).uri
        )
        vocabularies = on_device_inputs.string_vocabularies(transform_output, config)
        inputs, labels = read_eval_inputs(
            artifact_utils.get_single_instance(input_dict["examples"]).uri,
            config,
            vocabularies,
            exec_properties["parity_examples"],
        )
        contexts = len(labels)

        float_model = convert(saved_model_dir)
        problems = parity_report(tf.saved_model.load(saved_model_dir), float_model, inputs)
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
            quantized_model = convert(saved_model_dir, quantize=True)
            quantized_hr = hit_rate(quantized_model, inputs, labels)
            kept = quantized_hr >= 0.99 * float_hr
            quantized.update(hr_at_k=quantized_hr, pushed=kept, bytes=len(quantized_model))
            if kept:
                files[QUANTIZED_FILE] = quantized_model

        evaluation = artifact_utils.get_single_instance(input_dict["evaluation"])
        report = artifact_utils.get_single_instance(input_dict["report"])
        sidecar = self._sidecar(
            config,
            transform_output,
            exec_properties,
            model,
            blessing,
            evaluation,
            report,
            contexts,
            quantized,
        )
        files[SIDECAR_FILE] = json.dumps(sidecar, indent=1, ensure_ascii=False).encode()
        version = str(int(time.time()))
        destination = os.path.join(exec_properties["push_destination"], version)
        for target in (destination, pushed.uri):
            tf.io.gfile.makedirs(target)
            for name, content in files.items():
                with tf.io.gfile.GFile(os.path.join(target, name), "wb") as handle:
                    handle.write(content)
        pushed.set_int_custom_property("pushed", 1)
        pushed.set_string_custom_property("pushed_destination", destination)
        pushed.set_string_custom_property("pushed_version", version)
        pushed.set_int_custom_property("tflite_bytes", len(float_model))
        logging.info("Pushed %s (%d bytes) to %s", MODEL_FILE, len(float_model), destination)

    @staticmethod
    def _sidecar(
        config,
        transform_output,
        exec_properties,
        model,
        blessing,
        evaluation,
        report,
        parity_contexts: int,
        quantized: dict,
    ) -> dict[str, Any]:
        label = config.label_feature
        movie_ids = [int(v) for v in transform_output.vocabulary_by_name(label.vocab_name)]
        data_dir = spans.catalogue_dir(exec_properties["data_dir"])  # span data: the latest
        movies, _ = movielens.read_movies(data_dir, movielens.detect_layout(data_dir))
        top_k = int(json.loads(exec_properties[names.HPARAMS_KEY]).get("num_predictions", 10))
        sidecar = {
            "model_file": MODEL_FILE,
            "signatures": {
                RECOMMEND: "top-K movies for the history",
                RECOMMEND_UNSEEN: (
                    "top-K movies, never one of the history or of excluded_movie_ids (what "
                    "an app shows: pass the whole watch history)"
                ),
            },
            "inputs": input_spec(config),
            "outputs": {TOP_IDS: "int32 raw movie ids, best first", TOP_SCORES: "float32"},
            "k": top_k,
            "string_vocabularies": {
                name: [v.decode("utf-8", "replace") for v in values]
                for name, values in on_device_inputs.string_vocabularies(
                    transform_output, config
                ).items()
            },
            # The values an app can offer for the user's profile inputs that take raw ints.
            "int_vocabularies": {
                f.vocab_name: sorted(
                    int(v) for v in transform_output.vocabulary_by_name(f.vocab_name)
                )
                for f in input_config.global_features(config)
                if f.feature_type == INT and f.vocab_name
            },
            "movies": {
                str(m): {
                    "title": movies[m].title,
                    "genres": list(movies[m].genres),
                    "year": movies[m].year,
                }
                for m in movie_ids
                if m in movies
            },
            # Eval split: the gate's figures (TFMA); test split: the quality report's.
            "metrics": _gate_metrics(evaluation.uri),
            "quality": quality_report.read(report.uri)["test"][quality_report.CANDIDATE][
                quality.SEEN_EXCLUDED
            ]["overall"],
            "parity": {"contexts": parity_contexts, "score_tolerance": SCORE_TOLERANCE},
            "quantized_variant": quantized,
            "lineage": {
                "model_artifact_id": model.id,
                "model_uri": model.uri,
                "blessing_artifact_id": blessing.id,
                "evaluation_artifact_id": evaluation.id,
                "report_artifact_id": report.id,
            },
        }
        # Each movie's year and genre input values: what every client concatenates.
        return movie_inputs.with_movie_inputs(sidecar)


def _gate_metrics(evaluation_uri: str) -> dict[str, float]:
    """The blessed model's overall eval figures, which the sidecar must carry: a push never
    ships without them."""
    metrics = tfma_results.model_metrics(evaluation_uri).get(tfma_results.OVERALL)
    if not metrics:
        raise ValueError(f"the Evaluator's output has no overall metrics: {evaluation_uri}")
    return metrics


class TFLitePusherSpec(types.ComponentSpec):
    PARAMETERS = {
        "push_destination": ExecutionParameter(type=str),
        "data_dir": ExecutionParameter(type=str),
        names.INPUT_CONFIG_KEY: ExecutionParameter(type=str),
        names.HPARAMS_KEY: ExecutionParameter(type=str),
        "parity_examples": ExecutionParameter(type=int),
        "quantize": ExecutionParameter(type=int),
    }
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "model_blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph),
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "evaluation": ChannelParameter(type=standard_artifacts.ModelEvaluation),
        "report": ChannelParameter(type=artifacts.EvaluationReport),
    }
    OUTPUTS = {"pushed_model": ChannelParameter(type=standard_artifacts.PushedModel)}


class TFLitePusher(base_component.BaseComponent):
    """Pushes a blessed model as TFLite (float, and int8-weights when it keeps quality)."""

    SPEC_CLASS = TFLitePusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(
        self,
        *,
        model,
        model_blessing,
        transform_graph,
        examples,
        evaluation,
        report,
        push_destination: str,
        data_dir: str,
        input_config_text: str,
        hparams: dict,
        parity_examples: int = 300,
        quantize: bool = True,
    ):
        super().__init__(
            spec=TFLitePusherSpec(
                model=model,
                model_blessing=model_blessing,
                transform_graph=transform_graph,
                examples=examples,
                evaluation=evaluation,
                report=report,
                push_destination=push_destination,
                data_dir=data_dir,
                input_config=input_config_text,
                hparams=json.dumps(hparams),
                parity_examples=parity_examples,
                quantize=int(quantize),
                pushed_model=types.Channel(type=standard_artifacts.PushedModel),
            )
        )
