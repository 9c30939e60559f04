"""Continuous training measured: warm-started retrains vs retrains from scratch vs a stale model.

    python -m benchmarks.bench_continuous --data-dir ../shared/data/movielens/ml-1m \\
        [--work-dir outputs/bench-continuous] [--later-spans 3] [--train-minutes 10]

The data set is cut into monthly spans (``split-spans --period month --first-fraction
0.6``: span 1 holds about 60% of the ratings). The real pipeline (``pipeline.local_runner``
in a subprocess, default recipe and gate) then runs once per span t = 2, 3, ...: it holds
out span t, trains on every span before it and warm-starts from the latest blessed model
(a). For t >= 3 the same pipeline, in the same output folder, trains once more from
scratch on the same examples (``--hparam warm_start=false --until Trainer``, its data
components served from cache), which is (b); at t = 2 there is no model yet, so (a) and
(b) are the same first model, which is (c), the model never retrained, for every later
span. Popularity and first-order Markov are FitBaselines' own, fitted on the spans
before t.

Every model is scored on all of span t's positions (the eval and test splits together:
the positions whose label falls in span t), HR@10 and NDCG@10 over every movie with the
user's whole history excluded, through the model's on-device input path. Training time is
the Trainer component's wall time from ML Metadata (reading, training, export) and the
fit's own seconds from its training log. Scratch trainings get ``--train-minutes`` (the
best epoch so far is kept), so the benchmark ends in about an hour on 2 cores.

Prints the table, writes ``docs/continuous.png`` and the figures as JSON
(``docs/continuous_results.json``). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from tfx.utils import path_utils

from components import names
from components.data_formats import spans
from components.evaluation import fit_baselines, quality, ranking
from components.evaluation.model_scorer import ModelScorer
from components.example_gen import timelines
from components.model.callbacks import read_training_log
from pipeline import metadata, paths

DOCS = os.path.join(paths.REPO_ROOT, "docs")
PLOT = os.path.join(DOCS, "continuous.png")
RESULTS = os.path.join(DOCS, "continuous_results.json")
HR, NDCG = ranking.hr_name(10), ranking.ndcg_name()
TRAINER_TYPE = "tfx.components.trainer.component.Trainer"
SERIES = ("warm", "scratch", "stale", "markov", "popularity")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="a MovieLens data set (not spans)")
    parser.add_argument("--work-dir", default=os.path.join(paths.OUTPUT_DIR, "bench-continuous"))
    parser.add_argument("--first-fraction", type=float, default=0.6)
    parser.add_argument("--period", default="month")
    parser.add_argument(
        "--later-spans", type=int, default=3, help="spans evaluated after the first model's"
    )
    parser.add_argument(
        "--train-minutes", type=float, default=10.0, help="budget of each from-scratch training"
    )
    parser.add_argument("--runner-arg", action="append", default=[], help="extra runner flag")
    parser.add_argument("--docs-dir", default=DOCS, help="where the plot and the JSON go")
    return parser.parse_args(argv)


def run(argv: list[str], log: str) -> float:
    """Runs the local pipeline in a subprocess (its output in ``log``); wall seconds."""
    start = time.perf_counter()
    with open(log, "w") as handle:
        completed = subprocess.run(
            [sys.executable, "-m", "pipeline.local_runner", *argv],
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if completed.returncode:
        raise SystemExit(f"pipeline run failed ({completed.returncode}); see {log}")
    return time.perf_counter() - start


def latest_trainer(output_dir: str) -> dict:
    """The newest Trainer execution: wall seconds, its model and its training log."""
    store = metadata.store(output_dir)
    execution = max(store.get_executions_by_type(TRAINER_TYPE), key=lambda e: e.id)
    seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1e3
    model = metadata.latest_artifact(output_dir, "Model")
    model_run = metadata.latest_artifact(output_dir, "ModelRun")
    log = read_training_log(model_run.uri)
    return {
        "trainer_seconds": round(seconds, 1),
        "fit_seconds": log["train_seconds"],
        "epochs": log["epochs_trained"],
        "best_epoch": log["best_epoch"],
        "ended_by": log["ended_by"],
        "started": log.get("started", {}).get("started"),
        "model_id": model.id,
        "model_dir": path_utils.serving_model_path(model.uri),
    }


def blessed(output_dir: str) -> bool:
    blessing = metadata.latest_artifact(output_dir, "ModelBlessing")
    return bool(blessing.custom_properties[names.BLESSED_PROPERTY].int_value)


def held_out(examples_uri: str, features: list[str]) -> list[quality.HeldOut]:
    """Span t's positions: the eval and the test split (scored apart, pooled after)."""
    return [quality.read_held_out(examples_uri, s, features) for s in timelines.HELD_OUT_SPLITS]


def pooled(tables: list[dict]) -> dict[str, float]:
    """HR@10 and NDCG@10 (seen excluded) over the examples of several splits."""
    overall = [t[quality.SEEN_EXCLUDED]["overall"] for t in tables]
    count = sum(o["examples"] for o in overall)
    return {
        "examples": count,
        **{m: sum(o[m] * o["examples"] for o in overall) / count for m in (HR, NDCG)},
    }


def score_model(model_dir: str, examples_uri: str) -> dict[str, float]:
    scorer = ModelScorer(model_dir)
    return pooled([scorer.evaluate(h) for h in held_out(examples_uri, scorer.feature_names)])


def score_baselines(output_dir: str) -> dict[str, dict[str, float]]:
    uri = metadata.latest_artifact(output_dir, "movie_recs.Baselines").uri
    table = fit_baselines.read_metrics(uri)
    return {
        name: pooled([table[split][name] for split in timelines.HELD_OUT_SPLITS])
        for name in ("markov", "popularity")
    }


def measure(args: argparse.Namespace) -> dict:
    span_dir = os.path.join(args.work_dir, "spans")
    out = os.path.join(args.work_dir, "pipeline")
    logs = os.path.join(args.work_dir, "logs")
    os.makedirs(logs, exist_ok=True)
    if not spans.has_spans(span_dir):
        spans.split_spans(
            args.data_dir,
            span_dir,
            spans.Period.parse(args.period),
            first_fraction=args.first_fraction,
        )
    manifest = spans.read_manifest(span_dir)
    common = ["--data-dir", span_dir, "--output-dir", out, "--recall-lower-bound", "0.10"]
    common += args.runner_arg
    results, first_model = [], None
    for span in range(2, 3 + args.later_spans):
        entry = manifest["spans"][span - 1]
        row = {"span": span, "begin": entry["begin_utc"], "end": entry["end_utc"]}
        warm_flags = [*common, "--span", str(span), "--until", "Evaluator"]
        if first_model is None:  # the first model: from scratch, on the same budget
            warm_flags += ["--train-minutes", str(args.train_minutes)]
        row["warm_wall_seconds"] = run(warm_flags, os.path.join(logs, f"span{span}-warm.log"))
        row["warm"] = latest_trainer(out)
        row["warm"]["blessed"] = blessed(out)
        examples = metadata.latest_artifact(out, "Examples", names.EXAMPLE_GEN)
        row["examples"] = {
            split: examples.custom_properties[f"examples_{split}"].int_value
            for split in timelines.SPLITS
        }
        row["scores"] = {"warm": score_model(row["warm"]["model_dir"], examples.uri)}
        row["scores"].update(score_baselines(out))
        if first_model is None:
            first_model = row["warm"]["model_dir"]
            row["scratch"] = row["warm"]
            row["scores"]["scratch"] = row["scores"]["stale"] = row["scores"]["warm"]
        else:
            scratch_flags = [*common, "--span", str(span), "--until", "Trainer"]
            scratch_flags += ["--hparam", "warm_start=false"]
            scratch_flags += ["--train-minutes", str(args.train_minutes)]
            log = os.path.join(logs, f"span{span}-scratch.log")
            row["scratch_wall_seconds"] = run(scratch_flags, log)
            row["scratch"] = latest_trainer(out)
            row["scores"]["scratch"] = score_model(row["scratch"]["model_dir"], examples.uri)
            row["scores"]["stale"] = score_model(first_model, examples.uri)
        results.append(row)
        print(table_text([row]), flush=True)
    return {"manifest": manifest, "train_minutes": args.train_minutes, "spans": results}


def table_text(rows: list[dict]) -> str:
    head = ["span", "months (UTC)", "positions"]
    head += [f"{s} HR@10 / NDCG@10" for s in SERIES] + ["train s warm", "train s scratch"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for row in rows:
        scores = row["scores"]
        cells = [
            str(row["span"]),
            f"{(row['begin'] or '')[:10]} .. {row['end'][:10]}",
            f"{scores['warm']['examples']:,}",
        ]
        cells += [f"{scores[s][HR]:.4f} / {scores[s][NDCG]:.4f}" for s in SERIES]
        first = row["scratch"] is row["warm"]
        warm = row["warm"]
        how = "" if warm["started"] == "warm_start" else ", NOT warm: no blessed model"
        cells.append(
            "(first model)"
            if first
            else f"{warm['trainer_seconds']:.0f} ({warm['epochs']} ep{how})"
        )
        scratch = row["scratch"]
        cells.append(f"{scratch['trainer_seconds']:.0f} ({scratch['epochs']} ep)")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["spans"]
    labels = [f"span {r['span']}\n{r['end'][:7]}" for r in rows]
    figure, (quality_axes, time_axes) = plt.subplots(
        1, 2, figsize=(11, 4), dpi=100, gridspec_kw={"width_ratios": [3, 2]}
    )
    names = {
        "warm": "(a) warm-started monthly retrain",
        "scratch": "(b) from scratch on all data so far",
        "stale": "(c) first model, never retrained",
        "markov": "first-order Markov",
        "popularity": "popularity",
    }
    styles = {"markov": ":", "popularity": ":"}
    for series in SERIES:
        values = [r["scores"][series][HR] for r in rows]
        quality_axes.plot(labels, values, styles.get(series, "-"), marker="o", label=names[series])
    quality_axes.set_ylabel("HR@10 on the span's positions (seen excluded)")
    quality_axes.set_title("Next-movie quality per monthly span (ML-1M)")
    quality_axes.legend(fontsize=7)
    later = rows[1:]
    positions = range(len(later))
    width = 0.38
    warm = [r["warm"]["trainer_seconds"] for r in later]
    scratch = [r["scratch"]["trainer_seconds"] for r in later]
    time_axes.bar([p - width / 2 for p in positions], warm, width, label="(a) warm start")
    time_axes.bar([p + width / 2 for p in positions], scratch, width, label="(b) from scratch")
    time_axes.set_xticks(list(positions), [f"span {r['span']}" for r in later])
    time_axes.set_ylabel("Trainer seconds (2 cores)")
    time_axes.set_title("Training time per span")
    time_axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def portable(results: dict) -> dict:
    """The figures without this machine's paths (the model folders, the data's source)."""
    results = json.loads(json.dumps(results))
    results["manifest"].pop("source", None)
    for row in results["spans"]:
        for run in ("warm", "scratch"):
            row[run].pop("model_dir", None)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    results = measure(args)
    results["wall_minutes"] = round((time.perf_counter() - start) / 60, 1)
    print("\n" + table_text(results["spans"]))
    print(f"\nWhole benchmark: {results['wall_minutes']} min")
    plot(results, os.path.join(args.docs_dir, os.path.basename(PLOT)))
    with open(os.path.join(args.docs_dir, os.path.basename(RESULTS)), "w") as handle:
        json.dump(portable(results), handle, indent=1)
    print(f"Wrote {os.path.basename(PLOT)} and {os.path.basename(RESULTS)} in {args.docs_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
