"""Per component class: what one of its executions read, ran with and produced."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from commands.lineage import artifacts
from commands.lineage.store import Execution, Snapshot
from components import names
from components.contracts.gate_result import GateResult
from components.contracts.ingest_report import IngestReport
from components.contracts.model_start import ModelStart
from components.contracts.quality_metrics import QualityMetrics

# The Evaluator's input for the latest blessed model, which the candidate is compared with.
BASELINE_INPUT = names.BASELINE_MODEL_KEY
# The Trainer's input for the model a warm start began from (the latest blessed model).
BASE_MODEL_INPUT = names.BASE_MODEL_KEY
# Inputs that name an earlier run's model (a reference, not an ingredient of the data).
EARLIER_MODEL_INPUTS = (BASELINE_INPUT, BASE_MODEL_INPUT)


def ingest_settings(execution: Execution) -> dict[str, Any] | None:
    """ExampleGen's settings: a google.protobuf.Struct packed in its custom_config JSON."""
    custom_config = execution.properties.get("custom_config")
    if not custom_config:
        return None
    return json.loads(custom_config).get("custom_config", {}).get("value")


def trainer_config(execution: Execution) -> dict[str, Any]:
    """The input config text and hyper-parameters the Trainer ran with."""
    custom = json.loads(execution.properties.get("custom_config") or "{}")
    return {
        "input_config": custom.get(names.INPUT_CONFIG_KEY),
        "hparams": custom.get(names.HPARAMS_KEY),
    }


def example_gen(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    examples = snapshot.output(execution, names.EXAMPLES_KEY)
    if examples is None:
        return {}
    report = IngestReport.read_or_none(examples.uri)
    return {
        "data_dir": execution.properties.get("input_base"),
        "files": artifacts.data_files(examples),
        **artifacts.example_counts(examples),
        "settings": ingest_settings(execution),
        "spans": report.spans if report else None,
    }


def schema_gen(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    schema = snapshot.output(execution, "schema")
    summary = artifacts.schema_summary(schema) if schema else {}
    return {"source_file": execution.properties.get("schema_file"), **summary}


def transform(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    transform_graph = snapshot.output(execution, names.TRANSFORM_GRAPH_KEY)
    return {"vocabularies": artifacts.vocabularies(transform_graph) if transform_graph else None}


def _model_start(snapshot: Snapshot, execution: Execution) -> dict[str, Any] | None:
    """How the Trainer's model started: from scratch (and why), or warm from which model
    (the ``base_model`` input event: its artifact, Trainer execution and run)."""
    model = snapshot.output(execution, names.MODEL_KEY)
    if model is None:
        return None
    recorded = ModelStart.read_or_none(os.path.join(model.uri, names.SERVING_MODEL_DIR))
    start = {
        "started": model.properties.get(names.STARTED_FROM_PROPERTY),
        "reason": recorded.reason if recorded else None,
    }
    base = snapshot.input(execution, BASE_MODEL_INPUT)
    if base is not None and start["started"] == "warm_start":
        producer = snapshot.producer(base.id)
        start["base_model"] = {
            "model_artifact_id": base.id,
            "trainer_execution_id": producer.id if producer else None,
            "run": producer.run if producer else None,
            "uri": base.uri,
        }
    return start if start["started"] else None


def trainer(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    model_run = snapshot.output(execution, names.MODEL_RUN_KEY)
    return {
        **trainer_config(execution),
        "training_metrics": artifacts.training_metrics(model_run) if model_run else None,
        "start": _model_start(snapshot, execution),
    }


def _baseline(snapshot: Snapshot, execution: Execution, metrics: dict) -> dict[str, Any] | None:
    """The model the Evaluator compared with: its artifact, Trainer execution and run."""
    baseline = snapshot.input(execution, BASELINE_INPUT)
    if baseline is None:
        return None
    trainer_execution = snapshot.producer(baseline.id)
    return {
        "model_artifact_id": baseline.id,
        "trainer_execution_id": trainer_execution.id if trainer_execution else None,
        "run": trainer_execution.run if trainer_execution else None,
        "metrics": metrics.get("baseline"),
    }


def evaluator(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    """Blessing, thresholds, overall metrics and the baseline of an Evaluator execution."""
    blessing = snapshot.output(execution, names.BLESSING_KEY)
    evaluation = snapshot.output(execution, names.EVALUATION_KEY)
    metrics = artifacts.evaluation_metrics(evaluation) if evaluation else {}
    gate = GateResult.read_or_none(blessing.uri) if blessing else None
    return {
        "blessed": bool(blessing.properties.get(names.BLESSED_PROPERTY)) if blessing else None,
        "thresholds": artifacts.thresholds(execution.properties.get("eval_config")),
        "gate_rules": gate.rules if gate else None,
        "metrics": metrics.get("candidate"),
        "baseline": _baseline(snapshot, execution, metrics),
    }


def quality_report(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    """The test split's headline figures (seen movies excluded) of every model scored."""
    report = snapshot.output(execution, names.REPORT_KEY)
    content = QualityMetrics.read_or_none(report.uri) if report else None
    if not content:
        return {}
    return {
        "blessed": content.blessed,
        "test_seen_excluded": {
            model: table["seen_excluded"]["overall"] for model, table in content.test.items()
        },
        "report": os.path.join(report.uri, names.REPORT_HTML_FILE),
    }


def pusher(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    pushed = snapshot.output(execution, names.PUSHED_MODEL_KEY)
    folder = artifacts.pushed_folder(pushed) if pushed else {}
    # The sidecar names the artifacts the pusher converted; they must be its MLMD inputs.
    inputs = {
        "model_artifact_id": snapshot.input(execution, names.MODEL_KEY),
        "blessing_artifact_id": snapshot.input(execution, "model_blessing"),
        "evaluation_artifact_id": snapshot.input(execution, names.EVALUATION_KEY),
    }
    recorded = folder.get("sidecar_lineage")
    if recorded is not None:
        folder["sidecar_matches_mlmd"] = all(
            artifact is not None and recorded.get(key) == artifact.id
            for key, artifact in inputs.items()
        )
    return folder


# Keyed by component class (an execution type's last part), not by the pipeline's node ids.
BY_CLASS: dict[str, Callable[[Snapshot, Execution], dict[str, Any]]] = {
    names.EXAMPLE_GEN: example_gen,
    "ImportSchemaGen": schema_gen,
    names.TRANSFORM: transform,
    names.TRAINER: trainer,
    names.EVALUATOR: evaluator,
    names.QUALITY_REPORT: quality_report,
    names.PUSHER: pusher,
}


def of(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    describe = BY_CLASS.get(execution.component_class)
    return describe(snapshot, execution) if describe else {}
