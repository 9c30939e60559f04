"""QualityReport: what the run's model is worth, on the headline protocol, as a person reads it.

After the gate, the test split (each user's last rating under leave-last-out) is scored for
the candidate, the latest blessed model before it, first-order Markov and popularity:
HR@1/5/10, NDCG@10 and MRR over a full ranking of every movie, with the user's whole watch
history excluded (what an app shows) and included, overall and per history-length bucket.
Beside them: the gate's rules with their figures. Written as summary.txt (also logged),
report.html, quality.png and metrics.json; the headline figures are custom properties of
the report artifact in ML Metadata.
"""

# No `from __future__ import annotations`: TFX reads the component function's type hints.
import html
import os
from typing import Any

import tensorflow as tf
from absl import logging
from tfx import v1 as tfx
from tfx.utils import path_utils

import movie_recs as artifacts
from components import names
from components.contracts.gate_result import GateResult
from components.contracts.ingest_report import IngestReport
from components.contracts.model_start import ModelStart
from components.contracts.quality_metrics import CANDIDATE, PREVIOUS, QualityMetrics
from components.evaluation import fit_baselines, quality, ranking
from components.evaluation.model_scorer import ModelScorer
from components.example_gen import timelines

SUMMARY_FILE = names.REPORT_SUMMARY_FILE
HTML_FILE = names.REPORT_HTML_FILE
CHART_FILE = names.REPORT_CHART_FILE
MODELS = {
    CANDIDATE: "this model",
    PREVIOUS: "latest blessed model",
    "markov": "first-order Markov",
    "popularity": "popularity",
}
METRICS = ranking.METRICS


def property_name(model: str, metric: str) -> str:
    """ML Metadata property of a test-split figure (seen excluded), e.g. test_markov_hr_at_10."""
    return f"test_{model}_{ranking.key_name(metric)}"


def score_test_split(
    examples_uri: str, model_dir: str, previous_dir: str | None, baselines_uri: str
) -> dict[str, dict]:
    """model name -> quality.evaluate's table on the test split."""
    scorers = {CANDIDATE: ModelScorer(model_dir)}
    if previous_dir:
        try:
            scorers[PREVIOUS] = ModelScorer(previous_dir)
        except ValueError as error:  # a model this version cannot score: reported, not fatal
            logging.warning("Latest blessed model not scored: %s", error)
    features = sorted({name for s in scorers.values() for name in s.feature_names})
    held_out = quality.read_held_out(examples_uri, timelines.TEST, features)
    results = {name: scorer.evaluate(held_out) for name, scorer in scorers.items()}
    results.update(fit_baselines.read_metrics(baselines_uri)[timelines.TEST])
    return {name: results[name] for name in MODELS if name in results}


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]


def _metric_rows(test: dict[str, dict], seen: str) -> list[list[str]]:
    rows = [["model", *METRICS]]
    for name, table in test.items():
        overall = table[seen]["overall"]
        rows.append([MODELS[name], *(f"{overall[m]:.4f}" for m in METRICS)])
    return rows


def _bucket_rows(test: dict[str, dict]) -> list[list[str]]:
    hr = ranking.hr_name(ranking.DEFAULT_K)
    first = next(iter(test.values()))[quality.SEEN_EXCLUDED]
    rows = [["history", "examples", *(MODELS[name] for name in test)]]
    for bucket, values in first.items():
        if bucket == "overall":
            continue
        cells = [f"{t[quality.SEEN_EXCLUDED][bucket][hr]:.4f}" for t in test.values()]
        rows.append([bucket, str(values["examples"]), *cells])
    return rows


def _noise_rows(test: dict[str, dict]) -> list[list[str]] | None:
    """Per figure, the candidate's gap to first-order Markov and whether it is beyond the
    noise (components.evaluation.ranking.noise_of_gap); None without both models."""
    if CANDIDATE not in test or "markov" not in test:
        return None
    ours = test[CANDIDATE][quality.SEEN_EXCLUDED]["overall"]
    markov = test["markov"][quality.SEEN_EXCLUDED]["overall"]
    examples = int(ours["examples"])
    rows = [["figure", "gap", "noise (+-)", "verdict"]]
    for metric in METRICS:
        gap = ours[metric] - markov[metric]
        noise = ranking.noise_of_gap(ours[metric], markov[metric], examples)
        shown = not ranking.within_noise(ours[metric], markov[metric], examples)
        verdict = ("ahead" if gap > 0 else "behind") if shown else "within the noise"
        rows.append([metric, f"{gap:+.4f}", f"{noise:.4f}", verdict])
    return rows


def _noise_title() -> str:
    return (
        f"This model against first-order Markov (test split, seen movies excluded; the noise "
        f"is {ranking.NOISE_STANDARD_ERRORS:g} standard errors of the gap):"
    )


def _rule_line(rule: dict[str, Any]) -> str:
    return f"{'passed' if rule['passed'] else 'FAILED'}  {rule['rule']}: {rule['detail']}"


def model_start(serving_model_dir: str) -> dict[str, Any] | None:
    """How the model started (components.model.warm_start), None if it did not say."""
    started = ModelStart.read_if_present(serving_model_dir)
    return started.to_json() if started else None


def held_out_spans(examples_uri: str) -> dict[str, Any] | None:
    """For span data, which span the examples hold out and which spans train (ingest)."""
    report = IngestReport.read_if_present(examples_uri)
    return report.spans if report else None


def start_line(start: dict[str, Any] | None) -> str:
    """One line on how the model started."""
    if not start:
        return "Model started: not recorded"
    if start["started"] != "warm_start":
        return f"Model started: from scratch ({start['reason']})"
    artifact = start.get("base_model_artifact_id")
    carried = "; ".join(
        f"{t['vocabulary']}: {t['carried']} rows carried by value, {t['new']} new, "
        f"{t['dropped']} dropped"
        for t in start.get("tables", {}).values()
    )
    which = f"model artifact {artifact} " if artifact else ""
    return f"Model started: warm start from {which}{start['base_model_uri']} ({carried})"


def spans_line(held_out: dict[str, Any] | None) -> str | None:
    if not held_out:
        return None
    first, span = held_out["first_example_span"], held_out["held_out_span"]
    trained = f"span {first}" if first == span - 1 else f"spans {first}..{span - 1}"
    return (
        f"Span data: eval and test are the positions of span {span} (the newest); "
        f"the model trained on {trained}"
    )


def _context_lines(content: dict[str, Any]) -> list[str]:
    lines = [start_line(content.get("model_start"))]
    spans = spans_line(content.get("spans"))
    return [*lines, spans] if spans else lines


def _noise_lines(test: dict[str, dict]) -> list[str]:
    rows = _noise_rows(test)
    return [_noise_title(), *_table(rows)] if rows else []


def render_text(content: dict[str, Any]) -> str:
    test = content["test"]
    examples = next(iter(test.values()))[quality.SEEN_EXCLUDED]["overall"]["examples"]
    lines = [
        f"Quality report: {'BLESSED' if content['blessed'] else 'NOT BLESSED'}",
        *_context_lines(content),
        "Gate (eval split, seen movies excluded):",
        *(f"  {_rule_line(rule)}" for rule in content["gate"]["rules"]),
        f"Test split ({examples} examples: each user's next movie), seen movies excluded:",
        *_table(_metric_rows(test, quality.SEEN_EXCLUDED)),
        *_noise_lines(test),
        "Seen movies included:",
        *_table(_metric_rows(test, quality.SEEN_INCLUDED)),
        f"HR@{ranking.DEFAULT_K} by history length (earlier ratings), seen movies excluded:",
        *_table(_bucket_rows(test)),
    ]
    return "\n".join(lines)


def _html_table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in rows[1:]
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _noise_html(test: dict[str, dict]) -> str:
    rows = _noise_rows(test)
    return f"<p>{html.escape(_noise_title())}</p>{_html_table(rows)}" if rows else ""


def render_html(content: dict[str, Any]) -> str:
    verdict = "BLESSED" if content["blessed"] else "NOT BLESSED"
    rules = "".join(f"<li>{html.escape(_rule_line(r))}</li>" for r in content["gate"]["rules"])
    test = content["test"]
    return (
        "<!doctype html><meta charset='utf-8'><title>Model quality</title>"
        "<style>body{font-family:sans-serif;max-width:60em}td,th{padding:4px 10px;"
        "text-align:right}td:first-child,th:first-child{text-align:left}</style>"
        f"<h1>Model quality: {verdict}</h1>"
        + "".join(f"<p>{html.escape(line)}</p>" for line in _context_lines(content))
        + f"<h2>Gate (eval split)</h2><ul>{rules}</ul>"
        "<h2>Test split: each user's next movie</h2>"
        f"<img src='{CHART_FILE}' alt='HR@K, NDCG@10 and MRR of each model' width='720'>"
        "<h3>Seen movies excluded (what an app shows)</h3>"
        + _html_table(_metric_rows(test, quality.SEEN_EXCLUDED))
        + _noise_html(test)
        + "<h3>Seen movies included</h3>"
        + _html_table(_metric_rows(test, quality.SEEN_INCLUDED))
        + f"<h3>HR@{ranking.DEFAULT_K} by history length</h3>"
        + _html_table(_bucket_rows(test))
    )


def write_chart(test: dict[str, dict], path: str) -> None:
    """Grouped bars: each metric (seen excluded), one bar per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    width = 0.8 / len(test)
    for index, (name, table) in enumerate(test.items()):
        overall = table[quality.SEEN_EXCLUDED]["overall"]
        positions = [m + (index - (len(test) - 1) / 2) * width for m in range(len(METRICS))]
        bars = axes.bar(positions, [overall[m] for m in METRICS], width, label=MODELS[name])
        axes.bar_label(bars, fmt="%.3f", fontsize=6, rotation=90, padding=2)
    axes.set_xticks(range(len(METRICS)), [m.upper() for m in METRICS])
    axes.set_ylabel("test split, seen movies excluded")
    axes.set_ylim(0, max(1e-3, axes.get_ylim()[1] * 1.15))
    axes.legend(fontsize=8)
    axes.set_title("Next-movie quality: full ranking of every movie")
    figure.tight_layout()
    with tf.io.gfile.GFile(path, "wb") as handle:
        figure.savefig(handle, format="png")
    plt.close(figure)


def summary_block(content: dict[str, Any]) -> str:
    """A few lines for a run's console summary: the verdict, failed rules, test figures."""
    hr, ndcg = ranking.hr_name(ranking.DEFAULT_K), ranking.ndcg_name()
    lines = [f"Gate: {'BLESSED' if content['blessed'] else 'NOT BLESSED'}"]
    lines += [f"  {_rule_line(r)}" for r in content["gate"]["rules"] if not r["passed"]]
    lines += _context_lines(content)
    lines.append(
        f"Test split (each user's next movie, seen movies excluded), {hr.upper()} / {ndcg.upper()}:"
    )
    for name, table in content["test"].items():
        overall = table[quality.SEEN_EXCLUDED]["overall"]
        lines.append(f"  {MODELS[name]:<22} {overall[hr]:.4f} / {overall[ndcg]:.4f}")
    rows = _noise_rows(content["test"])
    if rows:
        verdicts = {}
        for metric, _, _, verdict in rows[1:]:
            verdicts.setdefault(verdict, []).append(metric)
        parts = [f"{verdict} at {', '.join(metrics)}" for verdict, metrics in verdicts.items()]
        lines.append(f"  this model against first-order Markov: {'; '.join(parts)}")
    return "\n".join(lines)


def read(report_uri: str) -> dict[str, Any]:
    """The report's metrics.json as the dict ``summary_block`` and the renderers take."""
    return QualityMetrics.read(report_uri).to_json()


@tfx.dsl.components.component
def QualityReport(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    baselines: tfx.dsl.components.InputArtifact[artifacts.Baselines],
    blessing: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    report: tfx.dsl.components.OutputArtifact[artifacts.EvaluationReport],
    baseline_model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
) -> None:
    """Scores the test split and writes the report (see the module docstring)."""
    gate = GateResult.read(blessing.uri)
    test = score_test_split(
        examples.uri,
        path_utils.serving_model_path(model.uri),
        path_utils.serving_model_path(baseline_model.uri) if baseline_model else None,
        baselines.uri,
    )
    metrics = QualityMetrics(
        blessed=gate.blessed,
        gate={"blessed": gate.blessed, "rules": gate.rules},
        test=test,
        model_start=model_start(path_utils.serving_model_path(model.uri)),
        spans=held_out_spans(examples.uri),
    )
    content = metrics.to_json()
    text = render_text(content)
    logging.info("\n%s", text)
    tf.io.gfile.makedirs(report.uri)
    files = {SUMMARY_FILE: text + "\n", HTML_FILE: render_html(content)}
    for name, data in files.items():
        with tf.io.gfile.GFile(os.path.join(report.uri, name), "w") as handle:
            handle.write(data)
    metrics.write(report.uri)
    write_chart(test, os.path.join(report.uri, CHART_FILE))
    report.set_int_custom_property(names.BLESSED_PROPERTY, int(gate.blessed))
    for name, table in test.items():
        for metric, value in table[quality.SEEN_EXCLUDED]["overall"].items():
            if metric in METRICS:
                report.set_float_custom_property(property_name(name, metric), value)
