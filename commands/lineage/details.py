"""Per component class: what one of its executions read, ran with and produced."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from commands.lineage import artifacts
from commands.lineage.store import Execution, Snapshot
from components import names
from components.example_gen.ingest_record import REPORT_FILE

# The Evaluator's input for the latest blessed model, which the candidate is compared with.
BASELINE_INPUT = "baseline_model"
# The Trainer's input for the model a warm start began from (the latest blessed model).
BASE_MODEL_INPUT = "base_model"
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
    examples = snapshot.output(execution, "examples")
    if examples is None:
        return {}
    report = artifacts.read_json(os.path.join(examples.uri, REPORT_FILE)) or {}
    return {
        "data_dir": execution.properties.get("input_base"),
        "files": artifacts.data_files(examples),
        **artifacts.example_counts(examples),
        "settings": ingest_settings(execution),
        "spans": report.get("spans"),
    }


def schema_gen(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    schema = snapshot.output(execution, "schema")
    summary = artifacts.schema_summary(schema) if schema else {}
    return {"source_file": execution.properties.get("schema_file"), **summary}


def transform(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    transform_graph = snapshot.output(execution, "transform_graph")
    return {"vocabularies": artifacts.vocabularies(transform_graph) if transform_graph else None}


def _model_start(snapshot: Snapshot, execution: Execution) -> dict[str, Any] | None:
    """How the Trainer's model started: from scratch (and why), or warm from which model
    (the ``base_model`` input event: its artifact, Trainer execution and run)."""
    model = snapshot.output(execution, "model")
    if model is None:
        return None
    recorded = artifacts.read_json(
        os.path.join(model.uri, names.SERVING_MODEL_DIR, names.WARM_START_STARTED_FILE)
    )
    start = {
        "started": model.properties.get("started_from"),
        "reason": (recorded or {}).get("reason"),
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
    model_run = snapshot.output(execution, "model_run")
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
    blessing = snapshot.output(execution, "blessing")
    evaluation = snapshot.output(execution, "evaluation")
    metrics = artifacts.evaluation_metrics(evaluation) if evaluation else {}
    gate = artifacts.read_json(os.path.join(blessing.uri, names.GATE_FILE)) if blessing else None
    return {
        "blessed": bool(blessing.properties.get(names.BLESSED_PROPERTY)) if blessing else None,
        "thresholds": artifacts.thresholds(execution.properties.get("eval_config")),
        "gate_rules": (gate or {}).get("rules"),
        "metrics": metrics.get("candidate"),
        "baseline": _baseline(snapshot, execution, metrics),
    }


def quality_report(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    """The test split's headline figures (seen movies excluded) of every model scored."""
    report = snapshot.output(execution, "report")
    content = (
        artifacts.read_json(os.path.join(report.uri, names.REPORT_METRICS_FILE)) if report else None
    )
    if not content:
        return {}
    return {
        "blessed": content["blessed"],
        "test_seen_excluded": {
            model: table["seen_excluded"]["overall"] for model, table in content["test"].items()
        },
        "report": os.path.join(report.uri, names.REPORT_HTML_FILE),
    }


def pusher(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    pushed = snapshot.output(execution, "pushed_model")
    folder = artifacts.pushed_folder(pushed) if pushed else {}
    # The sidecar names the artifacts the pusher converted; they must be its MLMD inputs.
    inputs = {
        "model_artifact_id": snapshot.input(execution, "model"),
        "blessing_artifact_id": snapshot.input(execution, "model_blessing"),
        "evaluation_artifact_id": snapshot.input(execution, "evaluation"),
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
    "MovieLensExampleGen": example_gen,
    "ImportSchemaGen": schema_gen,
    "Transform": transform,
    "Trainer": trainer,
    "Evaluator": evaluator,
    "QualityReport": quality_report,
    "TFLitePusher": pusher,
}


def of(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    describe = BY_CLASS.get(execution.component_class)
    return describe(snapshot, execution) if describe else {}
