"""Reading the Evaluator's TFMA results: the one reader of its metrics (gate, report, push,
lineage).

With a baseline model TFMA names the two models "candidate" and "baseline"; without one
the only model has no name. Diffs against the baseline are left out.
"""

from __future__ import annotations

import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.slicer import slicer_lib

CANDIDATE, BASELINE = "candidate", "baseline"
OVERALL = "overall"


def _slice_name(slice_key_proto) -> str:
    key = slicer_lib.deserialize_slice_key(slice_key_proto)
    return ", ".join(f"{k}={v}" for k, v in key) if key else OVERALL


def model_metrics(evaluation_uri: str, model: str = CANDIDATE) -> dict[str, dict[str, float]]:
    """slice -> metric -> value for ``model`` (overall first); empty when the evaluation
    has no such model (e.g. no baseline on a first run)."""
    table: dict[str, dict[str, float]] = {}
    for metrics_for_slice in tfma.load_metrics(evaluation_uri):
        values = {}
        for entry in metrics_for_slice.metric_keys_and_values:
            key = entry.key
            if key.is_diff:
                continue
            # The lone model of a run without a baseline is the candidate.
            if key.model_name not in (model, "" if model == CANDIDATE else None):
                continue
            if entry.value.HasField("double_value"):
                values[key.name] = entry.value.double_value.value
        if values:
            table[_slice_name(metrics_for_slice.slice_key)] = values
    return dict(sorted(table.items(), key=lambda item: (item[0] != OVERALL, item[0])))
