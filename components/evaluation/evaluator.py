"""Evaluator: TFX's Evaluator, whose blessing also requires beating first-order Markov.

TFMA evaluates the candidate (and the latest blessed model) on the eval split through the
serving signature, which never returns a movie the user watched: the same history-excluded
recall@K an app shows. Its thresholds are the absolute bound and the tolerated regression
against the latest blessed model (components.evaluation.eval_config). This executor then
adds the third rule: recall@K must beat first-order Markov's on the same examples (from
FitBaselines) by ``min_lift_over_markov``. A model that loses is never blessed, so it is
neither pushed nor ever the baseline of a later run. Every rule, its figures and whether
it passed go into ``gate.json`` in the blessing's folder.

Extending the Evaluator, rather than adding a gate after it, keeps one ModelBlessing per
run: the latest-blessed-model resolver (and its Kubeflow V2 query, which matches any
blessed ModelBlessing) can only ever find a model that passed every rule.
"""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf
import tensorflow_model_analysis as tfma
from absl import logging
from google.protobuf import json_format
from tfx import types
from tfx.components.evaluator import constants
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.utils import json_utils

import movie_recs as artifacts
from components import names
from components.contracts.gate_result import GateResult
from components.evaluation import fit_baselines, quality, ranking
from components.evaluation.eval_config import GateSettings, gate_thresholds
from components.evaluation.tfma_results import BASELINE, CANDIDATE, OVERALL, model_metrics
from components.example_gen import timelines

BASELINES_KEY = names.BASELINES_KEY
MIN_LIFT_KEY = "min_lift_over_markov"


def markov_recall(baselines_uri: str, k: int) -> tuple[float, int]:
    """First-order Markov's recall@K on the eval split (seen movies excluded), and the number
    of eval examples it was measured on (the candidate's, too)."""
    table = fit_baselines.read_metrics(baselines_uri)[timelines.EVAL]
    overall = table["markov"][quality.SEEN_EXCLUDED]["overall"]
    return overall[ranking.hr_name(k)], int(overall["examples"])


def noise_note(candidate: float, markov: float, examples: int) -> str:
    """Whether the candidate and Markov are shown to differ on ``examples`` eval examples."""
    noise = ranking.noise_of_gap(candidate, markov, examples)
    verdict = "within" if ranking.within_noise(candidate, markov, examples) else "beyond"
    return (
        f"the gap {candidate - markov:+.4f} is {verdict} the noise (+-{noise:.4f}, "
        f"{ranking.NOISE_STANDARD_ERRORS:g} standard errors over {examples} examples)"
    )


def rules(
    evaluation_uri: str, baselines_uri: str, gate: GateSettings, tfma_failures: list[str]
) -> list[dict[str, Any]]:
    """Each rule of the gate with its figures and whether it passed.

    The first two are TFMA's thresholds (their verdict is TFMA's validation); the Markov
    rule is decided here.
    """
    name = ranking.recall_name(gate.gate_k)
    candidate = model_metrics(evaluation_uri, CANDIDATE)[OVERALL][name]
    baseline = model_metrics(evaluation_uri, BASELINE).get(OVERALL, {}).get(name)
    markov, examples = markov_recall(baselines_uri, gate.gate_k)
    lift = candidate / markov - 1 if markov else float("inf")
    regression = {"rule": "no regression against the latest blessed model"}
    if baseline is None:
        regression.update(passed=True, detail="no blessed model yet: not applied")
    else:
        regression.update(
            passed="change" not in tfma_failures,
            value=candidate - baseline,
            baseline_model=baseline,
            detail=f"{candidate - baseline:+.4f} (>= -{gate.max_regression}; "
            f"latest blessed model {baseline:.4f})",
        )
    return [
        {
            "rule": f"{name} on the eval split reaches the bound",
            "passed": "value" not in tfma_failures,
            "value": candidate,
            "detail": f"{candidate:.4f} (>= {gate.lower_bound})",
        },
        regression,
        {
            "rule": f"{name} beats first-order Markov's by the margin",
            "passed": lift >= gate.min_lift_over_markov,
            "value": lift,
            "markov": markov,
            "within_noise": ranking.within_noise(candidate, markov, examples),
            "detail": f"lift {lift:+.1%} (>= {gate.min_lift_over_markov:+.0%}; this model "
            f"{candidate:.4f}, first-order Markov {markov:.4f}; "
            f"{noise_note(candidate, markov, examples)})",
        },
    ]


def tfma_failures(evaluation_uri: str) -> list[str]:
    """TFMA's failed thresholds, each "value" (the bound) or "change" (vs the baseline)."""
    validation = tfma.load_validation_result(evaluation_uri)
    return [
        "change" if failure.metric_key.is_diff else "value"
        for per_slice in validation.metric_validations_per_slice
        for failure in per_slice.failures
    ]


class Executor(evaluator_executor.Executor):
    """TFX's Evaluator, then the Markov rule on its blessing."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        ours = (names.GATE_K_KEY, MIN_LIFT_KEY)
        tfx_properties = {k: v for k, v in exec_properties.items() if k not in ours}
        tfx_inputs = {k: v for k, v in input_dict.items() if k != BASELINES_KEY}
        super().Do(tfx_inputs, output_dict, tfx_properties)

        evaluation = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EVALUATION_KEY]
        )
        blessing = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.BLESSING_KEY]
        )
        baselines = artifact_utils.get_single_instance(input_dict[BASELINES_KEY])
        gate = _gate_settings(exec_properties)
        checked = rules(evaluation.uri, baselines.uri, gate, tfma_failures(evaluation.uri))
        blessed = all(rule["passed"] for rule in checked)
        _write_blessing(blessing, blessed)
        GateResult(blessed=blessed, rules=checked).write(blessing.uri)
        for rule in checked:
            logging.info("Gate: %s: %s", "passed" if rule["passed"] else "FAILED", rule)


def _gate_settings(exec_properties: dict[str, Any]) -> GateSettings:
    """The gate as compiled: its K and margin, and the thresholds TFMA was given."""
    eval_config = tfma.EvalConfig()
    json_format.Parse(exec_properties[standard_component_specs.EVAL_CONFIG_KEY], eval_config)
    lower_bound, max_regression = gate_thresholds(eval_config)
    return GateSettings(
        gate_k=int(exec_properties[names.GATE_K_KEY]),
        lower_bound=lower_bound,
        max_regression=max_regression,
        min_lift_over_markov=float(exec_properties[MIN_LIFT_KEY]),
    )


def _write_blessing(blessing: types.Artifact, blessed: bool) -> None:
    """Makes the blessing say ``blessed``, as the Evaluator writes it (file and property)."""
    for name in (constants.BLESSED_FILE_NAME, constants.NOT_BLESSED_FILE_NAME):
        path = os.path.join(blessing.uri, name)
        if tf.io.gfile.exists(path):
            tf.io.gfile.remove(path)
    name = constants.BLESSED_FILE_NAME if blessed else constants.NOT_BLESSED_FILE_NAME
    with tf.io.gfile.GFile(os.path.join(blessing.uri, name), "w") as handle:
        handle.write("")
    value = constants.BLESSED_VALUE if blessed else constants.NOT_BLESSED_VALUE
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY, value)


class EvaluatorSpec(standard_component_specs.EvaluatorSpec):
    """TFX's Evaluator spec, plus the baselines and the Markov rule's K and margin."""

    PARAMETERS = {
        **standard_component_specs.EvaluatorSpec.PARAMETERS,
        names.GATE_K_KEY: ExecutionParameter(type=int),
        MIN_LIFT_KEY: ExecutionParameter(type=float),
    }
    INPUTS = {
        **standard_component_specs.EvaluatorSpec.INPUTS,
        BASELINES_KEY: ChannelParameter(type=artifacts.Baselines),
    }


class Evaluator(base_beam_component.BaseBeamComponent):
    """TFX's Evaluator with the baseline rule (see the module docstring). Its class name is
    TFX's, so tools keyed by component class (lineage) treat both alike."""

    SPEC_CLASS = EvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(
        self,
        *,
        examples: types.BaseChannel,
        model: types.BaseChannel,
        baseline_model: types.BaseChannel,
        baselines: types.BaseChannel,
        eval_config: tfma.EvalConfig,
        gate: GateSettings,
        example_splits: list[str],
    ):
        super().__init__(
            spec=EvaluatorSpec(
                examples=examples,
                model=model,
                baseline_model=baseline_model,
                baselines=baselines,
                eval_config=eval_config,
                example_splits=json_utils.dumps(example_splits),
                fairness_indicator_thresholds=json_utils.dumps(None),
                gate_k=gate.gate_k,
                min_lift_over_markov=gate.min_lift_over_markov,
                evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
                blessing=types.Channel(type=standard_artifacts.ModelBlessing),
            )
        )
