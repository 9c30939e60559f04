"""Output: readable text, DOT, and DOT rendered to SVG/PNG by Graphviz."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from commands.lineage.details import BASELINE_INPUT
from commands.lineage.store import LineageError
from components import names

GRAPHVIZ_HINT = "install Graphviz (`make graphviz`: apt-get install graphviz) or use --format dot"


def _seconds(value: float | None) -> str:
    return "running" if value is None else f"{value:.1f} s"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return "-" if value is None else str(value)


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


# --- runs -------------------------------------------------------------------------------


def runs_text(summaries: list[dict[str, Any]]) -> str:
    lines = []
    for run in summaries:
        pushed = f"pushed {run['pushed_version']}" if run["pushed_version"] else "nothing pushed"
        lines.append(
            f"run {run['index']}  {run['run']}  {run['status']}  {run['started']} -> "
            f"{run['finished'] or 'now'}  ({_seconds(run['duration_s'])})  {pushed}"
        )
        if run.get("abandoned"):
            lines.append(f"    {run['abandoned']}")
        rows = [["execution", "component", "state", "cached", "duration"]]
        rows += [
            [
                str(c["execution_id"]),
                c["component"],
                c["state"],
                "yes" if c["cached"] else "no",
                _seconds(c["duration_s"]),
            ]
            for c in run["components"]
        ]
        lines += [*_table(rows, "    "), ""]
    return "\n".join(lines).rstrip() + "\n"


# --- model ------------------------------------------------------------------------------


def _files_text(files: list[dict[str, Any]]) -> list[str]:
    rows = [
        [
            f["role"],
            f["path"] or "-",
            f"{f['bytes']:,} bytes" if f["bytes"] is not None else "size not recorded",
            f"sha256 {f['sha256']}" if f["sha256"] else "sha256 not recorded",
        ]
        for f in files
    ]
    return _table(rows, "    ") if rows else ["    (no input files recorded)"]


def _example_gen_text(details: dict[str, Any]) -> list[str]:
    splits = " ".join(f"{k}={v}" for k, v in details["splits"].items())
    rejected = ", ".join(f"{k}={v}" for k, v in details["rejected"].items()) or "none"
    lines = [
        f"data folder {details['data_dir']}: examples {splits}",
        f"rating lines {_value(details['rating_lines'])}, accepted "
        f"{_value(details['accepted_ratings'])}, rejected: {rejected}",
    ]
    spans = details.get("spans")
    if spans:
        lines.append(
            f"spans: held out span {spans['held_out_span']} (eval, test); train on spans "
            f"{spans['first_example_span']}..{spans['held_out_span'] - 1}; read spans "
            f"{spans['spans_read'][0]}..{spans['spans_read'][-1]} (history)"
        )
    return lines


def _start_text(start: dict[str, Any] | None) -> str:
    if not start:
        return "started: not recorded"
    base = start.get("base_model")
    if start["started"] == "warm_start" and base:
        return (
            f"started: warm start from model artifact {base['model_artifact_id']} "
            f"(Trainer execution {base['trainer_execution_id']}, run {base['run']})"
        )
    return f"started: {start['started']} ({start.get('reason') or 'reason not recorded'})"


def _schema_text(details: dict[str, Any]) -> list[str]:
    features = details.get("features")
    return [
        f"schema from {details.get('source_file')} (sha256 {_value(details.get('sha256'))})",
        f"{len(features)} features: {', '.join(features)}" if features else "features unknown",
    ]


def _transform_text(details: dict[str, Any]) -> list[str]:
    sizes = details.get("vocabularies")
    if sizes is None:
        return ["vocabularies: not found"]
    return ["vocabularies: " + ", ".join(f"{name} {n} entries" for name, n in sizes.items())]


def _metrics_text(metrics: dict[str, float] | None) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in (metrics or {}).items()) or "-"


def _trainer_text(details: dict[str, Any]) -> list[str]:
    hparams = details.get("hparams") or {}
    lines = [_start_text(details.get("start"))]
    lines.append("hyper-parameters: " + ", ".join(f"{k}={_value(v)}" for k, v in hparams.items()))
    training = details.get("training_metrics")
    if training:
        lines.append(f"training metrics after {training['epochs']} epoch(s):")
        lines += [
            f"  {subset}: {_metrics_text(values)}"
            for subset, values in training.items()
            if subset != "epochs"
        ]
    else:
        lines.append("training metrics: not recorded")
    lines.append("input config:")
    lines += [f"  | {line}" for line in (details.get("input_config") or "").splitlines()]
    return lines


def _threshold_text(name: str, threshold: dict[str, Any]) -> str:
    parts = []
    for bound, value in threshold.get("value_threshold", {}).items():
        parts.append(f"{name} {'>=' if bound == 'lower_bound' else '<='} {value}")
    change = threshold.get("change_threshold", {})
    if "absolute" in change:
        higher = change.get("direction") == "HIGHER_IS_BETTER"
        parts.append(f"{name} - baseline {'>=' if higher else '<='} {change['absolute']}")
    return ", ".join(parts)


def _evaluator_text(details: dict[str, Any]) -> list[str]:
    blessed = {True: "BLESSED", False: "NOT BLESSED", None: "blessing unknown"}[details["blessed"]]
    thresholds = [_threshold_text(n, t) for n, t in (details.get("thresholds") or {}).items()]
    lines = [
        f"{blessed}; thresholds: {'; '.join(thresholds) or 'none'}",
        f"metrics (overall): {_metrics_text(details.get('metrics'))}",
    ]
    for rule in details.get("gate_rules") or []:
        lines.append(
            f"{'passed' if rule['passed'] else 'FAILED'}: {rule['rule']}: {rule['detail']}"
        )
    baseline = details.get("baseline")
    if baseline:
        lines += [
            f"baseline: model artifact {baseline['model_artifact_id']} (Trainer execution "
            f"{baseline['trainer_execution_id']}, run {baseline['run']})",
            f"baseline metrics: {_metrics_text(baseline.get('metrics'))}",
        ]
    else:
        lines.append("baseline: none (no blessed model before)")
    return lines


def _quality_report_text(details: dict[str, Any]) -> list[str]:
    lines = ["test split (each user's next movie), seen movies excluded:"]
    lines += [
        f"  {model}: {_metrics_text(values)}"
        for model, values in details.get("test_seen_excluded", {}).items()
    ]
    return [*lines, f"report: {details.get('report')}"]


def _pusher_text(details: dict[str, Any]) -> list[str]:
    if details.get("missing"):
        return [f"pushed to {details.get('path')} (folder missing now)"]
    files = ", ".join(f"{n} {b:,} bytes" for n, b in (details.get("files") or {}).items())
    signatures = ", ".join(details.get("signatures") or {}) or "-"
    return [
        f"pushed to {details['path']}: {files}",
        f"model.tflite sha256 {details.get('tflite_sha256')}; signatures: {signatures}; "
        f"k={details.get('k')}",
        "sidecar lineage ids match ML Metadata: "
        + {True: "yes", False: "NO", None: "no sidecar lineage"}[
            details.get("sidecar_matches_mlmd")
        ],
    ]


STEP_TEXT = {
    names.EXAMPLE_GEN: _example_gen_text,
    "ImportSchemaGen": _schema_text,
    names.TRANSFORM: _transform_text,
    names.TRAINER: _trainer_text,
    names.EVALUATOR: _evaluator_text,
    names.QUALITY_REPORT: _quality_report_text,
    names.PUSHER: _pusher_text,
}


def _step_text(number: int, step: dict[str, Any]) -> list[str]:
    reused = "".join(
        f", reused from cache by execution {r['execution_id']} in run {r['run']}"
        for r in step["reused_by"]
    )
    lines = [
        f"[{number}] {step['component']}: execution {step['execution_id']} {step['state']}, "
        f"run {step['run']}, {step['started']}, {_seconds(step['duration_s'])}{reused}"
    ]
    lines += [f"      in  {a['key']}: {a['type']} {a['artifact_id']}" for a in step["inputs"]]
    lines += [f"      out {a['key']}: {a['type']} {a['artifact_id']}" for a in step["outputs"]]
    render = STEP_TEXT.get(step["component_class"])
    if render and step["details"]:
        lines += [f"      {line}" for line in render(step["details"])]
    return lines


def model_text(provenance: dict[str, Any]) -> str:
    pushed = provenance["pushed_model"]
    lines = [
        f"Pushed model {pushed['artifact_id']} (version {pushed['version']}): {pushed['path']}",
        f"  pushed by run {pushed['run_index']} ({pushed['run']})",
        "",
        "Input files (as MovieLensExampleGen read them):",
        *_files_text(provenance["data_files"]),
        "",
        "Executions, inputs first:",
    ]
    for number, step in enumerate(provenance["steps"], start=1):
        lines += _step_text(number, step)
    return "\n".join(lines) + "\n"


# --- diff -------------------------------------------------------------------------------


def _section_text(title: str, comparison: dict[str, Any], show_same: bool = False) -> list[str]:
    changed, same = comparison["changed"], comparison["same"]
    if not changed:
        lines = [f"{title}: unchanged"]
        if show_same:
            lines += [f"    {key}: {_value(value)}" for key, value in same.items()]
        return lines
    lines = [f"{title}: {len(changed)} changed"]
    lines += [f"    {k}: {_value(v['a'])} -> {_value(v['b'])}" for k, v in changed.items()]
    if show_same:
        lines += [f"    {key}: {_value(value)} (same)" for key, value in same.items()]
    return lines


def _data_files_text(comparison: dict[str, Any]) -> list[str]:
    """One line per input file: its checksum, size and path, or how they changed."""
    changed, same = comparison["changed"], comparison["same"]
    lines = ["Data files: " + (f"{len(changed)} changed" if changed else "unchanged")]
    roles = dict.fromkeys(key.split(".")[0] for key in [*same, *changed])
    for role in roles:
        fields = [
            f"{field} {_value(same[key])}"
            if key in same
            else f"{field} CHANGED {_value(changed[key]['a'])} -> {_value(changed[key]['b'])}"
            for field in ("sha256", "bytes", "path")
            if (key := f"{role}.{field}") in same or key in changed
        ]
        lines.append(f"    {role}: " + ", ".join(fields))
    return lines


def diff_text(diff: dict[str, Any]) -> str:
    a, b = diff["run_a"], diff["run_b"]
    lines = [f"run {a['index']} ({a['run']}) -> run {b['index']} ({b['run']})", ""]
    lines += _data_files_text(diff["data_files"])
    lines += _section_text("Input fingerprint", diff["input_fingerprint"])
    lines += _section_text("Example counts", diff["example_counts"])
    lines += _section_text("Ingest settings", diff["ingest_settings"])
    lines += _section_text("Schema", diff["schema"])
    config = diff["input_config"]
    lines.append("Input config: " + ("changed" if config["changed"] else "unchanged"))
    lines += [f"    {line}" for line in config["unified_diff"]]
    lines += _section_text("Hyper-parameters", diff["hparams"])
    lines += _section_text("Thresholds", diff["thresholds"])
    lines.append("Evaluation metrics (overall):")
    lines += [
        f"    {name}: {_value(m['a'])} -> {_value(m['b'])}"
        + (f" ({m['delta']:+.4f})" if m["delta"] is not None else "")
        for name, m in diff["metrics"].items()
    ]
    lines += _section_text("Outcome", diff["outcome"], show_same=True)
    for side, run in (("a", a), ("b", b)):
        components = diff["components"][side]
        lines.append(
            f"Run {run['index']} executed: {', '.join(components['executed']) or '-'}; "
            f"cached: {', '.join(components['cached']) or '-'}"
        )
    return "\n".join(lines) + "\n"


# --- graphs -----------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# Executions are coloured by run, so that what a run reused from an older one stands out.
RUN_COLOURS = ("lightblue", "palegreen", "plum", "lightsalmon", "khaki", "lightcyan")


def _execution_label(node: dict[str, Any]) -> str:
    return (
        f"{node['component']}\nexecution {node['execution_id']}, run {node['run_index']}\n"
        f"{node['state']} {_seconds(node['duration_s'])}"
    )


def dot(graph: dict[str, Any], title: str) -> str:
    """Graphviz DOT: executions as boxes coloured by run, artifacts as ellipses, one edge
    per event (dashed for a cached execution, a baseline input or a resolver's pick)."""
    lines = [
        "digraph lineage {",
        "  rankdir=LR;",
        f"  label={_quote(title)};",
        "  labelloc=t;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph["nodes"]:
        if node["kind"] == "execution":
            colour = RUN_COLOURS[(node["run_index"] or 0) % len(RUN_COLOURS)]
            style = "filled,dashed" if node["state"] == "CACHED" else "filled"
            attributes = f"shape=box, style={_quote(style)}, fillcolor={colour}"
            label = _execution_label(node)
        else:
            attributes = "shape=ellipse"
            label = f"{node['type']}\nartifact {node['artifact_id']}"
        lines.append(f"  {_quote(node['id'])} [{attributes}, label={_quote(label)}];")
    for edge in graph["edges"]:
        dashed = edge["key"] == BASELINE_INPUT or edge["event"] == "INTERNAL_OUTPUT"
        style = ", style=dashed" if dashed else ""
        ends = f"{_quote(edge['from'])} -> {_quote(edge['to'])}"
        lines.append(f"  {ends} [label={_quote(edge['key'])}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_graph(dot_text: str, image_format: str, out: str) -> None:
    """Writes ``dot_text`` as an SVG or PNG image with Graphviz's ``dot``."""
    binary = shutil.which("dot")
    if binary is None:
        raise LineageError(f"--format {image_format} needs Graphviz's `dot`: {GRAPHVIZ_HINT}")
    result = subprocess.run(
        [binary, f"-T{image_format}", "-o", out],
        input=dot_text.encode(),
        capture_output=True,
        check=False,
    )
    if result.returncode:
        raise LineageError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
