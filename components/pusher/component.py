"""TFLitePusher: pushes a blessed model's on-device signatures as TFLite (see executor.py)."""

from __future__ import annotations

import json

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

import movie_recs as artifacts
from components import names
from components.pusher.executor import Executor


class TFLitePusherSpec(types.ComponentSpec):
    PARAMETERS = {
        "push_destination": ExecutionParameter(type=str),
        names.INPUT_CONFIG_KEY: ExecutionParameter(type=str),
        names.HPARAMS_KEY: ExecutionParameter(type=str),
        "parity_examples": ExecutionParameter(type=int),
        "quantize": ExecutionParameter(type=int),
    }
    INPUTS = {
        names.MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        "model_blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
        names.TRANSFORM_GRAPH_KEY: ChannelParameter(type=standard_artifacts.TransformGraph),
        names.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        names.EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        names.REPORT_KEY: ChannelParameter(type=artifacts.EvaluationReport),
    }
    OUTPUTS = {names.PUSHED_MODEL_KEY: ChannelParameter(type=standard_artifacts.PushedModel)}


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
                input_config=input_config_text,
                hparams=json.dumps(hparams),
                parity_examples=parity_examples,
                quantize=int(quantize),
                pushed_model=types.Channel(type=standard_artifacts.PushedModel),
            )
        )
