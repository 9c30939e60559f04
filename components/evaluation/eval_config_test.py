"""The Evaluator's TFMA EvalConfig: recall@K of the serving signature's top ids for every K,
one gate at the gate's K (a lower bound and a regression rule on the overall slice), and the
gate settings' validation."""

from __future__ import annotations

import json

import pytest
import tensorflow_model_analysis as tfma

from components.evaluation import eval_config
from components.evaluation.eval_config import GateSettings
from components.evaluation.hit_rate import HitRate
from components.evaluation.ranking import recall_name
from components.export.layout import TOP_IDS
from configs import features as raw

GATE = GateSettings(top_ks=(1, 5, 10, 20), gate_k=5, lower_bound=0.2, max_regression=0.03)


def hit_rates(config: tfma.EvalConfig) -> dict[str, tfma.MetricConfig]:
    (spec,) = config.metrics_specs
    return {json.loads(m.config)["name"]: m for m in spec.metrics if m.class_name != "ExampleCount"}


def test_the_model_spec_reads_the_label_from_the_serving_signature():
    config = eval_config.make_eval_config(raw.LABEL_MOVIE_ID, GATE)
    (spec,) = config.model_specs
    assert spec.signature_name == "serving_default"
    assert spec.label_key == raw.LABEL_MOVIE_ID
    assert list(spec.preprocessing_function_names) == []


def test_every_k_is_a_hit_rate_of_the_top_ids_named_by_recall_name():
    config = eval_config.make_eval_config(raw.LABEL_MOVIE_ID, GATE)
    (spec,) = config.metrics_specs
    assert spec.metrics[0].class_name == "ExampleCount"
    metrics = hit_rates(config)
    assert list(metrics) == [recall_name(k) for k in GATE.top_ks]
    assert list(metrics) == ["recall_at_1", "recall_at_5", "recall_at_10", "recall_at_20"]
    for k, metric in zip(GATE.top_ks, metrics.values(), strict=True):
        assert (metric.class_name, metric.module) == (HitRate.__name__, HitRate.__module__)
        assert json.loads(metric.config) == {
            "top_k": k,
            "name": recall_name(k),
            "prediction_ids_key": TOP_IDS,
        }


def test_only_the_gate_k_has_a_threshold_a_lower_bound_and_a_regression_rule():
    metrics = hit_rates(eval_config.make_eval_config(raw.LABEL_MOVIE_ID, GATE))
    gated = {name for name, m in metrics.items() if m.per_slice_thresholds}
    assert gated == {recall_name(5)}
    (per_slice,) = metrics[recall_name(5)].per_slice_thresholds
    # The gate judges the overall slice only.
    assert list(per_slice.slicing_specs) == [tfma.SlicingSpec()]
    threshold = per_slice.threshold
    assert threshold.value_threshold.lower_bound.value == pytest.approx(0.2)
    change = threshold.change_threshold
    assert change.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    # At most max_regression below the baseline: a negative absolute change bound.
    assert change.absolute.value == pytest.approx(-0.03)
    assert eval_config.gate_thresholds(
        eval_config.make_eval_config(raw.LABEL_MOVIE_ID, GATE)
    ) == pytest.approx((0.2, 0.03))


def test_results_are_sliced_overall_and_by_history_bucket():
    config = eval_config.make_eval_config(raw.LABEL_MOVIE_ID, GATE)
    assert list(config.slicing_specs) == [
        tfma.SlicingSpec(),
        tfma.SlicingSpec(feature_keys=[raw.HISTORY_BUCKET]),
    ]


def test_gate_thresholds_of_a_config_without_a_gate_fail():
    with pytest.raises(ValueError, match="no gate threshold"):
        eval_config.gate_thresholds(tfma.EvalConfig())


def test_the_default_gate_is_recall_at_10():
    defaults = GateSettings()
    assert defaults.gate_k == 10 and defaults.gate_k in defaults.top_ks
    metrics = hit_rates(eval_config.make_eval_config(raw.LABEL_MOVIE_ID, defaults))
    assert [n for n, m in metrics.items() if m.per_slice_thresholds] == [recall_name(10)]


def test_a_gate_k_that_is_not_reported_is_refused():
    with pytest.raises(ValueError, match=r"gate_k 7 must be one of top_ks \(1, 5, 10\)"):
        GateSettings(gate_k=7)
