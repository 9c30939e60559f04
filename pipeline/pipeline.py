"""The TFX pipeline: wiring only. Each component's logic lives in components/."""

from __future__ import annotations

from typing import Any

from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec
from tfx.orchestration import data_types
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import range_config_pb2

from components import names
from components.evaluation.eval_config import make_eval_config
from components.evaluation.evaluator import Evaluator
from components.evaluation.fit_baselines import FitBaselines
from components.evaluation.report import QualityReport
from components.example_gen.component import MovieLensExampleGen
from components.model import cloud_trainer, trainer_executor
from components.pusher.component import TFLitePusher
from components.validation.anomalies_gate import AnomaliesGate
from configs import input_config
from pipeline import paths
from pipeline.options import PipelineSettings


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_dir: str | tfx.dsl.experimental.RuntimeParameter,
    settings: PipelineSettings,
    push_destination: str,
    schema_dir: str = paths.SCHEMA_DIR,
    metadata_connection_config=None,
    beam_pipeline_args: list[str] | None = None,
    enable_cache: bool = True,
    until: str | None = None,
    range_config: range_config_pb2.RangeConfig | data_types.RuntimeParameter | None = None,
    trainer_cloud: dict[str, Any] | None = None,
) -> tfx_pipeline.Pipeline:
    """ExampleGen -> statistics, schema, validation -> Transform -> Trainer -> Evaluator
    (recall@K gate: a bound, the latest blessed model, first-order Markov fitted by
    FitBaselines) -> QualityReport (the test split) -> TFLitePusher.

    ``until`` names the last component to include (e.g. "Transform" for the data part).
    ``data_dir`` may be a runtime parameter (Kubeflow: chosen when a run is submitted).
    Span data (``settings.ingest.spans``): ``range_config`` says which span a run holds
    out (default: the latest; a runtime parameter on Kubeflow). With ``warm_start`` the
    latest blessed model also feeds the Trainer as its base model.
    ``trainer_cloud``: the Trainer runs on Vertex AI Training (or as local replicas with the
    same TF_CONFIG) with these custom-config keys (components.model.cloud_trainer); None:
    in the pipeline's own container, one process.
    """
    input_config_text, hparams, gate = settings.input_config_text, settings.hparams, settings.gate
    example_gen = MovieLensExampleGen(
        input_base=data_dir, settings=settings.ingest, range_config=range_config
    )
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs[names.EXAMPLES_KEY])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=f"{schema_dir}/schema.pbtxt")
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    anomalies_gate = AnomaliesGate(anomalies=example_validator.outputs["anomalies"])
    transform = tfx.components.Transform(
        examples=example_gen.outputs[names.EXAMPLES_KEY],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=paths.PREPROCESSING_FN,
        custom_config={names.INPUT_CONFIG_KEY: input_config_text},
        # StatisticsGen already describes the raw data; Transform's own statistics would
        # double its run time on ML-1M.
        disable_statistics=True,
    )
    transform.add_upstream_node(anomalies_gate)
    # The latest blessed model: the Evaluator's baseline and, warm-starting, the base model.
    baseline_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    trainer = tfx.components.Trainer(
        run_fn=paths.RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs[names.TRANSFORM_GRAPH_KEY],
        schema=schema_gen.outputs["schema"],
        # Only when warm-starting: an input that changes with every blessing would
        # otherwise keep a rerun on unchanged data from being served from cache.
        base_model=baseline_resolver.outputs[names.MODEL_KEY]
        if hparams.warm_start is True
        else None,
        custom_config={
            names.INPUT_CONFIG_KEY: input_config_text,
            names.HPARAMS_KEY: hparams.to_dict(),
            names.GATE_K_KEY: gate.gate_k,
            **(trainer_cloud or {}),
        },
        # TFX's GenericExecutor, plus the record of how the model started; or TFX's Vertex
        # AI Training executor whose replicas run that one.
        custom_executor_spec=executor_spec.ExecutorClassSpec(
            cloud_trainer.Executor if trainer_cloud else trainer_executor.Executor
        ),
    )
    baselines = FitBaselines(examples=example_gen.outputs[names.EXAMPLES_KEY])

    label_key = input_config.parse(input_config_text).label_feature.feature_name
    evaluator = Evaluator(
        examples=example_gen.outputs[names.EXAMPLES_KEY],
        model=trainer.outputs[names.MODEL_KEY],
        baseline_model=baseline_resolver.outputs[names.MODEL_KEY],
        baselines=baselines.outputs["baselines_model"],
        eval_config=make_eval_config(label_key, gate),
        gate=gate,
        example_splits=["eval"],
    )
    quality_report = QualityReport(
        examples=example_gen.outputs[names.EXAMPLES_KEY],
        model=trainer.outputs[names.MODEL_KEY],
        baseline_model=baseline_resolver.outputs[names.MODEL_KEY],
        baselines=baselines.outputs["baselines_model"],
        blessing=evaluator.outputs[names.BLESSING_KEY],
    )
    pusher = TFLitePusher(
        model=trainer.outputs[names.MODEL_KEY],
        model_blessing=evaluator.outputs[names.BLESSING_KEY],
        transform_graph=transform.outputs[names.TRANSFORM_GRAPH_KEY],
        examples=example_gen.outputs[names.EXAMPLES_KEY],
        evaluation=evaluator.outputs[names.EVALUATION_KEY],
        report=quality_report.outputs[names.REPORT_KEY],
        push_destination=push_destination,
        input_config_text=input_config_text,
        hparams=hparams.to_dict(),
    )

    components = [
        example_gen,
        statistics_gen,
        schema_gen,
        example_validator,
        anomalies_gate,
        transform,
        trainer,
        baselines,
        baseline_resolver,
        evaluator,
        quality_report,
        pusher,
    ]
    if hparams.warm_start is True:  # the Trainer reads the resolver: keep it before
        components.remove(baseline_resolver)
        components.insert(components.index(trainer), baseline_resolver)
    if until:
        component_ids = [c.id for c in components]
        if until not in component_ids:
            raise ValueError(f"--until must name a component: {component_ids}")
        last = component_ids.index(until)
        kept, dropped = components[: last + 1], components[last + 1 :]
        for component in kept:
            for later in dropped:
                if later in component.downstream_nodes:
                    component.remove_downstream_node(later)
        components = kept
    return tfx_pipeline.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args or paths.beam_args(),
    )
