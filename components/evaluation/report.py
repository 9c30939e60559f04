"""EvaluationReport: the Evaluator's result as a person reads it (text in the log, HTML file).

TFMA's own rendering needs a notebook; this writes ``summary.txt`` and ``report.html`` with
recall@K per slice (overall and by history length), the baseline's figures when there was
one, the gate's thresholds and whether the model was blessed.
"""

import html
import os

import tensorflow as tf
import tensorflow_model_analysis as tfma
from absl import logging
from tfx import v1 as tfx

# The artifact type lives in the top-level movie_recs module, which the Kubeflow / Vertex
# container imports by the type's name (see movie_recs/__init__.py).
from movie_recs import EvaluationReport

CANDIDATE, BASELINE = "candidate", "baseline"


def _metrics(evaluation_uri: str, model_name: str | None) -> dict[str, dict[str, float]]:
    """Slice name -> metric name -> value, for one model of the evaluation."""
    try:
        result = tfma.load_eval_result(evaluation_uri, model_name=model_name)
    except Exception:  # TFMA raises various errors when the model is not in the result
        return {}
    table = {}
    for slice_key, outputs in result.slicing_metrics:
        name = "overall" if not slice_key else ", ".join(f"{k}={v}" for k, v in slice_key)
        values = {}
        for sub_keys in outputs.values():
            for metrics in sub_keys.values():
                for metric, value in metrics.items():
                    if "doubleValue" in value:
                        values[metric] = value["doubleValue"]
        table[name] = values
    return dict(sorted(table.items(), key=lambda item: (item[0] != "overall", item[0])))


def candidate_metrics(evaluation_uri: str) -> dict[str, dict[str, float]]:
    """The evaluated model's metrics per slice (named "candidate" when a baseline ran too)."""
    return _metrics(evaluation_uri, CANDIDATE) or _metrics(evaluation_uri, None)


def _failures(evaluation_uri: str) -> list[str]:
    validation = tfma.load_validation_result(evaluation_uri)
    failures = []
    for per_slice in validation.metric_validations_per_slice:
        for failure in per_slice.failures:
            threshold = str(failure.metric_threshold).replace("\n", " ").strip()
            value = failure.metric_value.double_value.value
            model = "change vs baseline" if failure.metric_key.is_diff else "value"
            failures.append(
                f"{failure.metric_key.name} {model} {value:.4f} misses threshold {{{threshold}}}"
            )
    return failures


def render(evaluation_uri: str, blessed: bool) -> tuple[str, str]:
    """(text, html) for an evaluation artifact's folder."""
    candidate = candidate_metrics(evaluation_uri)
    baseline = _metrics(evaluation_uri, BASELINE)
    failures = _failures(evaluation_uri)
    metric_names = sorted(
        {
            m
            for values in candidate.values()
            for m in values
            if m.startswith("recall_at") or m == "example_count"
        }
    )
    verdict = "BLESSED" if blessed else "NOT BLESSED"
    lines = [f"Evaluation: {verdict}"]
    lines += [f"  failed: {failure}" for failure in failures]
    header = ["slice", *metric_names]
    rows = []
    for name, values in candidate.items():
        rows.append([name, *(f"{values.get(m, float('nan')):.4f}" for m in metric_names)])
        if name in baseline:
            rows.append(
                [
                    f"  baseline {name}",
                    *(f"{baseline[name].get(m, float('nan')):.4f}" for m in metric_names),
                ]
            )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append(
            "  "
            + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        )
    text = "\n".join(lines)

    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    failed = "".join(f"<li>{html.escape(f)}</li>" for f in failures)
    page = (
        "<!doctype html><meta charset='utf-8'><title>Model evaluation</title>"
        "<style>body{font-family:sans-serif}td,th{padding:4px 10px;text-align:right}"
        "td:first-child{text-align:left}</style>"
        f"<h1>Model evaluation: {verdict}</h1>"
        f"<ul>{failed}</ul><table><tr>{cells}</tr>{body}</table>"
    )
    return text, page


@tfx.dsl.components.component
def EvaluationReporter(
    evaluation: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    blessing: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    report: tfx.dsl.components.OutputArtifact[EvaluationReport],
) -> None:
    """Logs the evaluation summary and writes summary.txt and report.html."""
    blessed = bool(blessing.get_int_custom_property("blessed"))
    text, page = render(evaluation.uri, blessed)
    logging.info("\n%s", text)
    tf.io.gfile.makedirs(report.uri)
    with tf.io.gfile.GFile(os.path.join(report.uri, "summary.txt"), "w") as handle:
        handle.write(text + "\n")
    with tf.io.gfile.GFile(os.path.join(report.uri, "report.html"), "w") as handle:
        handle.write(page)
