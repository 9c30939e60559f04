"""HitRate: a TFMA metric for recall@K of a single next-movie label over top-K ids (the
label's rank in the list, ``ranking.rank_in_list``; its name is ``ranking.recall_name``).

TFMA's SetMatchRecall computes the same figure but fails when a baseline model is evaluated
beside the candidate (TFMA 0.47 does not key its preprocessed inputs by model), so the gate
uses this small metric: the share of examples whose label is among the first K ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types

from components.evaluation import ranking
from components.export import layout


def _for_model(value: Any, model_name: str) -> Any:
    # With several models TFMA keys labels and predictions by model name.
    if isinstance(value, Mapping) and model_name in value:
        return value[model_name]
    return value


class _HitRateCombiner(beam.CombineFn):
    def __init__(self, key: metric_types.MetricKey, top_k: int, ids_key: str):
        self._key = key
        self._top_k = top_k
        self._ids_key = ids_key

    def create_accumulator(self) -> list[int]:
        return [0, 0]  # hits, examples

    def add_input(self, accumulator: list[int], inputs: metric_types.StandardMetricInputs):
        label = np.asarray(_for_model(inputs.label, self._key.model_name)).reshape(-1)
        predictions = _for_model(inputs.prediction, self._key.model_name)
        top = np.asarray(predictions[self._ids_key]).reshape(-1)[: self._top_k]
        accumulator[0] += int(ranking.rank_in_list(top, label) < self._top_k)
        accumulator[1] += 1
        return accumulator

    def merge_accumulators(self, accumulators) -> list[int]:
        hits = examples = 0
        for accumulator_hits, accumulator_examples in accumulators:
            hits += accumulator_hits
            examples += accumulator_examples
        return [hits, examples]

    def extract_output(self, accumulator: list[int]) -> dict:
        hits, examples = accumulator
        return {self._key: hits / examples if examples else float("nan")}


def _computations(
    top_k: int,
    name: str,
    prediction_ids_key: str,
    model_names: list[str] | None = None,
    example_weighted: bool = False,
    **_: Any,
) -> metric_types.MetricComputations:
    computations = []
    for model_name in model_names or [""]:
        key = metric_types.MetricKey(
            name=name, model_name=model_name, example_weighted=example_weighted
        )
        computations.append(
            metric_types.MetricComputation(
                keys=[key],
                preprocessors=None,
                combiner=_HitRateCombiner(key, top_k, prediction_ids_key),
            )
        )
    return computations


class HitRate(metric_types.Metric):
    """Share of examples whose label is among the top ``top_k`` predicted ids."""

    def __init__(
        self,
        top_k: int = ranking.DEFAULT_K,
        name: str | None = None,
        prediction_ids_key: str = layout.TOP_IDS,
    ):
        super().__init__(
            _computations,
            top_k=top_k,
            name=name or ranking.recall_name(top_k),
            prediction_ids_key=prediction_ids_key,
        )
