"""What changed between two runs: input data, configuration, and results."""

from __future__ import annotations

import difflib
from typing import Any

from commands.lineage import artifacts, details, runs
from commands.lineage.store import CACHED, Run, Snapshot
from components import names


def _flat(values: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys, so that each leaf is compared on its own."""
    flat: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """{"changed": {key: {"a": .., "b": ..}}, "same": {key: value}} over both runs' keys."""
    changed, same = {}, {}
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            same[key] = a.get(key)
        else:
            changed[key] = {"a": a.get(key), "b": b.get(key)}
    return {"changed": changed, "same": same}


def facts(snapshot: Snapshot, run: Run) -> dict[str, Any]:
    """What characterises a finished run: the data it read, its settings and its results."""
    runs.require_finished(snapshot, run)
    example_gen = snapshot.of_class(run, names.EXAMPLE_GEN)
    examples = snapshot.output(example_gen, names.EXAMPLES_KEY)
    schema = snapshot.output(snapshot.of_class(run, "ImportSchemaGen"), "schema")
    trainer = snapshot.of_class(run, names.TRAINER)
    evaluator = snapshot.of_class(run, names.EVALUATOR)
    evaluation = details.evaluator(snapshot, evaluator) if evaluator else {}
    config = details.trainer_config(trainer) if trainer else {}
    counts = artifacts.example_counts(examples) if examples else {}
    executions = snapshot.run_executions(run)
    return {
        "data_files": {
            f["role"]: {"sha256": f["sha256"], "bytes": f["bytes"], "path": f["path"]}
            for f in (artifacts.data_files(examples) if examples else [])
        },
        "input_fingerprint": counts.pop("input_fingerprint", None),
        "example_counts": counts,
        "ingest_settings": details.ingest_settings(example_gen) if example_gen else None,
        "schema": {"sha256": artifacts.schema_summary(schema)["sha256"]} if schema else {},
        "input_config": config.get("input_config"),
        "hparams": config.get("hparams"),
        "thresholds": evaluation.get("thresholds"),
        "metrics": evaluation.get("metrics"),
        "outcome": {
            "blessed": evaluation.get("blessed"),
            "baseline_model_artifact_id": (evaluation.get("baseline") or {}).get(
                "model_artifact_id"
            ),
            "pushed_version": runs.pushed_version(snapshot, run),
        },
        "executed": [e.component for e in executions if e.state != CACHED],
        "cached": [e.component for e in executions if e.state == CACHED],
    }


def _config_diff(a: str | None, b: str | None, run_a: Run, run_b: Run) -> dict[str, Any]:
    lines = list(
        difflib.unified_diff(
            (a or "").splitlines(),
            (b or "").splitlines(),
            f"run {run_a.index} input config",
            f"run {run_b.index} input config",
            lineterm="",
        )
    )
    return {"changed": bool(lines), "unified_diff": lines}


def _metrics(a: dict[str, float] | None, b: dict[str, float] | None) -> dict[str, Any]:
    a, b = a or {}, b or {}
    return {
        name: {
            "a": a.get(name),
            "b": b.get(name),
            "delta": b[name] - a[name] if name in a and name in b else None,
        }
        for name in [*a, *(name for name in b if name not in a)]
    }


def diff(snapshot: Snapshot, ref_a: str, ref_b: str) -> dict[str, Any]:
    run_a, run_b = runs.resolve(snapshot, ref_a), runs.resolve(snapshot, ref_b)
    a, b = facts(snapshot, run_a), facts(snapshot, run_b)
    return {
        "run_a": {"run": run_a.name, "index": run_a.index},
        "run_b": {"run": run_b.name, "index": run_b.index},
        "data_files": _compare(_flat(a["data_files"]), _flat(b["data_files"])),
        "input_fingerprint": _compare(
            {"input_fingerprint": a["input_fingerprint"]},
            {"input_fingerprint": b["input_fingerprint"]},
        ),
        "example_counts": _compare(_flat(a["example_counts"]), _flat(b["example_counts"])),
        "ingest_settings": _compare(_flat(a["ingest_settings"]), _flat(b["ingest_settings"])),
        "schema": _compare(a["schema"], b["schema"]),
        "input_config": _config_diff(a["input_config"], b["input_config"], run_a, run_b),
        "hparams": _compare(a["hparams"] or {}, b["hparams"] or {}),
        "thresholds": _compare(_flat(a["thresholds"]), _flat(b["thresholds"])),
        "metrics": _metrics(a["metrics"], b["metrics"]),
        "outcome": _compare(a["outcome"], b["outcome"]),
        "components": {
            "a": {"executed": a["executed"], "cached": a["cached"]},
            "b": {"executed": b["executed"], "cached": b["cached"]},
        },
    }
