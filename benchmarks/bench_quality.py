"""Recommendation quality on ML-1M through the pipeline itself: encoders x history lengths x
features, beside popularity and first-order Markov.

    python -m benchmarks.bench_quality [--encoders TRANSFORMER,LSTM,CNN,BOW] [--lengths 10,50]
        [--features id,id_genre,id_features] [--protocol headline|seed]
        [--layout auto|windows|sequences] [--dims 64,64] [--hparam NAME=VALUE ...]

Every cell is a run of the pipeline (pipeline.local_runner's flags) in one output folder per
protocol, so ExampleGen, StatisticsGen and Transform are served from TFX's cache wherever
the data and features are the same. The figures are the run's QualityReport: the test
split, scored through the model's on-device input path, with the user's whole history
excluded ("filtered") and not, beside the baselines the pipeline fitted on the same
training split. Nothing here computes a metric of its own.

Headline protocol: leave-last-out (the report's test split is each user's last rating).
Seed protocol: the seed's seeded random split of windows (--split random) and min rating 2,
read unfiltered. Features: id (configs/transformer_id), id_genre (cnn_id_genre: + the
flattened genres; windows only), id_features (cnn_id_features: + rating and year per
movie, the user's profile). Cells run cheapest first (shorter histories, then BOW, CNN,
LSTM, Transformer). Rows are printed and appended to --results (JSON lines) as each cell
finishes.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from benchmarks.common import run_pipeline
from components.evaluation import quality
from components.evaluation import report as quality_report
from components.model.callbacks import read_training_log
from components.model.hparams import HParams
from configs import input_config
from pipeline import metadata, options, paths

DEFAULT_DATA = os.path.join(paths.REPO_ROOT, "..", "shared", "data", "movielens", "ml-1m")
FEATURE_CONFIGS = {
    "id": "transformer_id",
    "id_genre": "cnn_id_genre",
    "id_features": "cnn_id_features",
}
ENCODER_COST = ("BOW", "CNN", "LSTM", "TRANSFORMER", "HSTU")
PROTOCOL_FLAGS = {
    "headline": ["--split", "leave_last_out"],
    "seed": ["--split", "random", "--min-rating", "2"],
}


def cell_config(features: str, encoder: str, length: int, dims: tuple[int, int] | None) -> str:
    """The input config text of one cell: the feature set's config at this history length
    (every activity group of movies, genres excepted) and, optionally, these movie dims."""
    config = input_config.load(FEATURE_CONFIGS[features])
    for group in config.activity_feature_groups:
        if group.features[0].feature_name != "context_movie_genre":
            for feature in group.features:
                feature.feature_length = length
    if dims:
        input_config.movie_feature(config).embedding_dim, config.label_feature.embedding_dim = dims
    return input_config.with_encoder(config, encoder)


def cell_name(encoder: str, features: str, length: int, layout: str, dims) -> str:
    name = f"{encoder} {features} h{length}" + (" seq" if layout == "sequences" else "")
    return name + (f" d{dims[0]}/{dims[1]}" if dims else "")


def resolved_layout(args, config_text: str) -> str:
    """The training layout the pipeline will use for this cell (what "auto" becomes)."""
    values = dict(options.parse_hparam(item) for item in args.hparam)
    if args.layout != "auto":
        values["training_layout"] = args.layout
    config = input_config.parse(config_text)
    return HParams.from_dict(values).for_config(config).training_layout


def run_cell(args, output_dir: str, config_path: str) -> tuple[dict, dict, float, int]:
    """Runs the pipeline on one cell; (report content, training log, wall s, peak bytes)."""
    flags = ["--data-dir", args.data_dir, "--output-dir", output_dir, "--config", config_path]
    flags += PROTOCOL_FLAGS[args.protocol]
    flags += ["--recall-lower-bound", "0", "--min-lift-over-markov", "-1"]  # report every cell
    flags += [f"--hparam={item}" for item in args.hparam]
    if args.layout != "auto":
        flags.append(f'--hparam=training_layout="{args.layout}"')
    run = run_pipeline(flags)
    report = metadata.latest_artifact(output_dir, "movie_recs.EvaluationReport")
    model_run = metadata.latest_artifact(output_dir, "ModelRun")
    training = read_training_log(model_run.uri)
    return quality_report.read(report.uri), training, run.wall_seconds, run.peak_bytes


def rows(content: dict, training: dict, name: str, hparams: list[str], wall: float, peak: int):
    """The cell's model row, and the baselines' rows, in the results' JSON-lines form."""

    def figures(table: dict) -> dict:
        return {
            "filtered": _overall(table[quality.SEEN_EXCLUDED]),
            "unfiltered": _overall(table[quality.SEEN_INCLUDED]),
        }

    model = {
        "model": name,
        **figures(content["test"][quality_report.CANDIDATE]),
        "train_seconds": training["train_seconds"],
        "epochs_trained": training["epochs_trained"],
        "best_epoch": training["best_epoch"],
        "batch_size": training.get("batch_size"),
        "pipeline_seconds": round(wall, 1),
        "peak_memory_gib": round(peak / 2**30, 2),
        "hparams": hparams,
    }
    baselines = [{"model": b, **figures(content["test"][b])} for b in ("popularity", "markov")]
    return model, baselines


def _overall(table: dict) -> dict:
    return {k: v for k, v in table["overall"].items() if k != "examples"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--protocol", choices=tuple(PROTOCOL_FLAGS), default="headline")
    parser.add_argument("--encoders", default="TRANSFORMER")
    parser.add_argument("--lengths", default="10")
    parser.add_argument("--features", default="id")
    parser.add_argument("--hparam", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--layout", choices=("auto", "windows", "sequences"), default="auto")
    parser.add_argument("--dims", help="context and label movie embedding sizes, e.g. 64,64")
    parser.add_argument("--output-dir", default=os.path.join(paths.OUTPUT_DIR, "bench-quality"))
    parser.add_argument("--results", default="docs/quality_results.jsonl")
    args = parser.parse_args()
    dims = tuple(int(d) for d in args.dims.split(",")) if args.dims else None
    cells = sorted(
        (
            (int(length), ENCODER_COST.index(encoder), encoder, features)
            for features in args.features.split(",")
            for encoder in args.encoders.split(",")
            for length in args.lengths.split(",")
        ),
    )
    output_dir = os.path.join(args.output_dir, args.protocol)
    os.makedirs(os.path.join(output_dir, "configs"), exist_ok=True)
    baselines_recorded = False
    for length, _, encoder, features in cells:
        text = cell_config(features, encoder, length, dims)
        layout = resolved_layout(args, text)
        name = cell_name(encoder, features, length, layout, dims)
        config_path = os.path.join(
            output_dir, "configs", name.replace(" ", "_").replace("/", "-") + ".pbtxt"
        )
        with open(config_path, "w", encoding="utf-8") as handle:
            handle.write(text)
        start = time.perf_counter()
        content, training, wall, peak = run_cell(args, output_dir, config_path)
        model, baselines = rows(content, training, name, args.hparam, wall, peak)
        for row in ([] if baselines_recorded else baselines) + [model]:
            record(args, row)
        baselines_recorded = True
        print(f"  ({time.perf_counter() - start:.0f} s for the cell)")
    print(f"\nprotocol: {args.protocol}; rows appended to {args.results}")


def record(args, row: dict) -> None:
    """Prints a row and appends it at once, so a long grid keeps what it measured."""
    main_metrics = row["filtered"] if args.protocol == "headline" else row["unfiltered"]
    figures = " ".join(f"{k}={v:.4f}" for k, v in main_metrics.items())
    timing = (
        f"  train {row['train_seconds']:.0f} s, {row['epochs_trained']} epochs (best "
        f"{row['best_epoch']}), pipeline {row['pipeline_seconds']:.0f} s"
        if "train_seconds" in row
        else ""
    )
    print(f"{row['model']:<28} {figures}{timing}")
    os.makedirs(os.path.dirname(args.results) or ".", exist_ok=True)
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"protocol": args.protocol, **row}) + "\n")


if __name__ == "__main__":
    main()
