"""Prints bench_quality's JSON-lines results as the Markdown tables docs/benchmarks.md shows.

    python -m benchmarks.quality_table [--results docs/quality_results.jsonl]
        [--protocol headline|seed] [--models 'LSTM id h50 seq d64/64,...']

One row per model name, its newest run (earlier runs of a name are older code or settings).
"""

from __future__ import annotations

import argparse
import json

from components.evaluation.ranking import METRICS


def layout(model: str) -> str:
    """The training layout of a bench_quality row's model name (" seq" marks sequences)."""
    return "sequences" if "seq" in model.split()[3:] else "windows"


def describe(row: dict) -> str:
    """A model's row label: the run name plus the settings that differ between runs."""
    if not isinstance(row.get("hparams"), dict):  # baselines; pipeline runs list their flags
        return row["model"] + "".join(f", {flag}" for flag in row.get("hparams") or [])
    hparams = row["hparams"]
    parts = [row["model"], f"{hparams['epochs']} epochs"]
    if layout(row["model"]) == "sequences":
        parts.append(f"lr {hparams['learning_rate']}")
        parts.append("tied" if hparams.get("tie_embeddings") else "separate label table")
    return ", ".join(parts)


def training(row: dict) -> str:
    if "train_seconds" not in row:
        return ""
    if "epochs_trained" in row:  # a run of the pipeline (early stopping)
        return (
            f"{row['train_seconds']:.0f} s, {row['epochs_trained']} epochs (best "
            f"{row['best_epoch']}), pipeline {row['pipeline_seconds']:.0f} s, "
            f"{row['peak_memory_gib']:.1f} GiB"
        )
    unit = "positions" if layout(row["model"]) == "sequences" else "ex"
    rate = row["examples_per_second"] / 1000
    return f"{row['train_seconds']:.0f} s, {rate:.1f}k {unit}/s, {row['peak_memory_gib']:.1f} GiB"


def table(rows: list[dict], protocol: str) -> str:
    main = "filtered" if protocol == "headline" else "unfiltered"
    header = ["model", "HR@1", "HR@5", "HR@10", "NDCG@10", "MRR"]
    header += ["HR@10 unfiltered"] if protocol == "headline" else []
    lines = ["| " + " | ".join([*header, "training"]) + " |", "|---" * (len(header) + 1) + "|"]
    for row in rows:
        values = [f"{row[main][m]:.4f}" for m in METRICS]
        values += [f"{row['unfiltered']['hr@10']:.4f}"] if protocol == "headline" else []
        lines.append("| " + " | ".join([describe(row), *values, training(row)]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="docs/quality_results.jsonl")
    parser.add_argument("--protocol", choices=("headline", "seed"), default="headline")
    parser.add_argument("--models", help="comma-separated model names (default: all)")
    args = parser.parse_args()
    newest: dict[str, dict] = {}
    with open(args.results, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["protocol"] == args.protocol:
                newest[row["model"]] = row
    names = args.models.split(",") if args.models else list(newest)
    missing = [name for name in names if name not in newest]
    if missing:
        parser.error(f"no {args.protocol} results for: {', '.join(missing)}")
    print(table([newest[name] for name in names], args.protocol))


if __name__ == "__main__":
    main()
