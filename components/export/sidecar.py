"""The JSON sidecar pushed beside the .tflite: input spec, K, titles, figures, lineage ids."""

from __future__ import annotations

from typing import Any

from components.contracts.quality_metrics import CANDIDATE, QualityMetrics
from components.evaluation import quality, tfma_results
from components.export import movie_inputs, on_device_inputs
from components.export.conversion import SCORE_TOLERANCE
from components.export.layout import (
    EXCLUDED_MOVIES,
    MODEL_FILE,
    RECOMMEND,
    RECOMMEND_UNSEEN,
    TOP_IDS,
    TOP_SCORES,
)
from components.transform import ids
from configs import input_config
from configs.input_config_pb2 import FLOAT, INT, STRING


def input_spec(config) -> list[dict[str, Any]]:
    """Each input of the on-device signatures: name, length, type, padding, unknown id."""
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


def build(
    config,
    transform_output,
    movies: dict[int, dict[str, Any]],
    top_k: int,
    model,
    blessing,
    evaluation,
    report,
    parity_contexts: int,
    quantized: dict,
) -> dict[str, Any]:
    """What ships beside the .tflite: how to call it, what it answers with, the movies it
    knows, its figures, and where it came from."""
    label = config.label_feature
    movie_ids = [int(v) for v in transform_output.vocabulary_by_name(label.vocab_name)]
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
            f.vocab_name: sorted(int(v) for v in transform_output.vocabulary_by_name(f.vocab_name))
            for f in input_config.global_features(config)
            if f.feature_type == INT and f.vocab_name
        },
        "movies": {str(m): movies[m] for m in movie_ids if m in movies},
        # Eval split: the gate's figures (TFMA); test split: the quality report's.
        "metrics": gate_metrics(evaluation.uri),
        "quality": QualityMetrics.read(report.uri).overall(CANDIDATE, quality.SEEN_EXCLUDED),
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


def gate_metrics(evaluation_uri: str) -> dict[str, float]:
    """The blessed model's overall eval figures, which the sidecar must carry: a push never
    ships without them."""
    metrics = tfma_results.model_metrics(evaluation_uri).get(tfma_results.OVERALL)
    if not metrics:
        raise ValueError(f"the Evaluator's output has no overall metrics: {evaluation_uri}")
    return metrics
