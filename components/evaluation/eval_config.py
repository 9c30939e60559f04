"""The Evaluator's TFMA configuration: recall@K over the whole catalogue, and the gate.

Recall@K of the serving signature's sorted top-K movie ids: with one label per example it
is the hit rate HR@K (components.evaluation.hit_rate). A model is blessed only if recall at the
gate's K clears ``lower_bound`` and drops at most ``max_regression`` below the baseline
(the latest blessed model; the first model only needs the bound).
"""

from __future__ import annotations

import dataclasses
import json

import tensorflow_model_analysis as tfma

from components.evaluation import ranking
from components.evaluation.hit_rate import HitRate
from components.export.layout import TOP_IDS
from configs import features as raw


@dataclasses.dataclass(frozen=True)
class GateSettings:
    top_ks: tuple[int, ...] = ranking.TOP_KS
    gate_k: int = ranking.DEFAULT_K
    # Defaults suit the embedded ml-latest-small (popularity reaches about 0.01 there);
    # for ML-1M's leave-last-out eval split use about 0.10 (a CNN reaches 0.15).
    lower_bound: float = 0.01
    max_regression: float = 0.01
    # Blessing also needs recall@K at least this much above first-order Markov's (relative).
    min_lift_over_markov: float = 0.05

    def __post_init__(self) -> None:
        if self.gate_k not in self.top_ks:
            raise ValueError(f"gate_k {self.gate_k} must be one of top_ks {self.top_ks}")


def make_eval_config(label_key: str, gate: GateSettings) -> tfma.EvalConfig:
    metrics = [tfma.MetricConfig(class_name="ExampleCount")]
    for k in gate.top_ks:
        thresholds = []
        if k == gate.gate_k:
            threshold = tfma.MetricThreshold(
                value_threshold=tfma.GenericValueThreshold(lower_bound={"value": gate.lower_bound}),
                change_threshold=tfma.GenericChangeThreshold(
                    direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                    absolute={"value": -gate.max_regression},
                ),
            )
            # The gate judges the overall slice; small history buckets are only reported.
            thresholds.append(
                tfma.PerSliceMetricThreshold(
                    slicing_specs=[tfma.SlicingSpec()], threshold=threshold
                )
            )
        config = {"top_k": k, "name": ranking.recall_name(k), "prediction_ids_key": TOP_IDS}
        metrics.append(
            tfma.MetricConfig(
                class_name=HitRate.__name__,
                module=HitRate.__module__,
                config=json.dumps(config),
                per_slice_thresholds=thresholds,
            )
        )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=label_key,
                preprocessing_function_names=[],
            )
        ],
        slicing_specs=[
            tfma.SlicingSpec(),
            tfma.SlicingSpec(feature_keys=[raw.HISTORY_BUCKET]),
        ],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
    )


def gate_thresholds(eval_config: tfma.EvalConfig) -> tuple[float, float]:
    """(lower bound, max regression) of the gate's threshold, as make_eval_config set them."""
    for spec in eval_config.metrics_specs:
        for metric in spec.metrics:
            for per_slice in metric.per_slice_thresholds:
                threshold = per_slice.threshold
                return (
                    threshold.value_threshold.lower_bound.value,
                    -threshold.change_threshold.absolute.value,
                )
    raise ValueError("the eval config has no gate threshold")
