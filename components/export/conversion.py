"""TFLite conversion of the on-device signatures, and the checks a push depends on.

The parity check runs the SavedModel and the standalone LiteRT interpreter on the same real
eval contexts: the same top-K ids in the same order (movies whose scores tie within the
tolerance may swap) and scores within tolerance. The int8 policy: a dynamic-range quantized
variant ships only when its HR@K on those contexts stays within ``INT8_MAX_RELATIVE_LOSS`` of
the float model's.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from components.evaluation import quality, ranking
from components.example_gen import timelines
from components.export import on_device_inputs
from components.export.layout import ON_DEVICE_SIGNATURES, RECOMMEND_UNSEEN, TOP_IDS, TOP_SCORES

SCORE_TOLERANCE = 1e-3
# The int8-weights variant may lose at most this share of the float model's HR@K.
INT8_MAX_RELATIVE_LOSS = 0.01
# Up to this many eval contexts decide it: at 300, one hit is 0.3% of HR and the decision is
# noise (ML-1M: 1 hit in 300 refused a variant that is 0.7% below float on all 6,040 users).
INT8_DECISION_CONTEXTS = 5000


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
            if not _same_ranking(lite_top[TOP_IDS], lite_top[TOP_SCORES], saved_ids, saved_scores):
                problems.append(
                    f"{signature} context {row}: ids {lite_top[TOP_IDS].tolist()} != "
                    f"SavedModel {saved_ids.tolist()}"
                )
            elif not np.allclose(
                lite_top[TOP_SCORES], saved_scores, rtol=SCORE_TOLERANCE, atol=SCORE_TOLERANCE
            ):
                problems.append(f"{signature} context {row}: scores differ beyond tolerance")
    return problems


def _same_ranking(
    lite_ids: np.ndarray, lite_scores: np.ndarray, saved_ids: np.ndarray, saved_scores: np.ndarray
) -> bool:
    """Whether two top-K lists agree up to ties: float32 kernels differ in the last bits, so
    two movies whose scores are within SCORE_TOLERANCE may come in either order (or trade
    the K-th place). Every other difference in ids is a disagreement."""
    if np.array_equal(lite_ids, saved_ids):
        return True
    saved_rank = {movie: rank for rank, movie in enumerate(saved_ids.tolist())}
    for rank, movie in enumerate(lite_ids.tolist()):
        if movie == saved_ids[rank]:
            continue
        # Where the SavedModel put this movie, or its K-th score when it fell off the list.
        other = saved_scores[saved_rank.get(movie, len(saved_ids) - 1)]
        if not np.isclose(lite_scores[rank], other, rtol=SCORE_TOLERANCE, atol=SCORE_TOLERANCE):
            return False
        if not np.isclose(saved_scores[rank], other, rtol=SCORE_TOLERANCE, atol=SCORE_TOLERANCE):
            return False
    return True


def hit_rate(model: bytes, inputs: dict[str, np.ndarray], labels: np.ndarray) -> float:
    """HR@K of ``recommend_unseen`` (the signature an app calls) on these examples."""
    lists = [top[TOP_IDS] for top in _lite_top(model, RECOMMEND_UNSEEN, inputs)]
    k = max((len(top) for top in lists), default=0)
    return ranking.hit_rate(ranking.ranks_in_lists(lists, labels), k)


def int8_variant(
    saved_model_dir: str, float_hr: float, inputs: dict[str, np.ndarray], labels: np.ndarray
) -> tuple[bytes | None, dict]:
    """The int8-weights model if it keeps quality (else None), and what was measured."""
    model = convert(saved_model_dir, quantize=True)
    quantized_hr = hit_rate(model, inputs, labels)
    kept = quantized_hr >= (1 - INT8_MAX_RELATIVE_LOSS) * float_hr
    figures = {
        "float_hr_at_k": float_hr,
        "hr_at_k": quantized_hr,
        "pushed": kept,
        "bytes": len(model),
        "contexts": len(labels),
    }
    return (model if kept else None), figures
