"""Runs the pipeline locally with LocalDagRunner and Beam's DirectRunner.

As a module::

    python -m pipeline.local_runner --data-dir DIR --output-dir DIR [--config FILE]
        [--split leave_last_out|random|temporal] [--min-rating R] [--beam-arg=--flag=value]

As a TFX CLI pipeline (settings from RECS_* environment variables, any flag from RECS_ARGS)::

    tfx pipeline create --engine local --pipeline_path pipeline/local_runner.py
    tfx run create --engine local --pipeline_name movie-recs
"""

import os
import sys

if not __package__:  # run as a file by the TFX CLI: import from the repository root
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)

# isort: split
import argparse

from absl import logging
from tfx import v1 as tfx

from components.data_formats import movielens
from configs import input_config
from pipeline import configs, metadata, options
from pipeline.pipeline import create_pipeline


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=env("RECS_DATA_DIR", configs.DATA_DIR))
    parser.add_argument("--output-dir", default=env("RECS_OUTPUT_DIR", configs.OUTPUT_DIR))
    options.add_arguments(parser)
    parser.add_argument("--beam-workers", type=int, default=0, help="0: one per CPU")
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="extra Beam pipeline argument, e.g. --beam-arg=--runner=DirectRunner",
    )
    parser.add_argument("--no-cache", action="store_true", help="re-run every component")
    parser.add_argument("--until", help="last component to run, e.g. Transform")
    return parser.parse_args(argv)


def build(args: argparse.Namespace):
    """The pipeline for these arguments; config and data problems fail here, before any run."""
    settings = options.settings(args)
    config = input_config.parse(settings.input_config_text, args.config)
    layout = movielens.detect_layout(args.data_dir)
    if input_config.needs_user_features(config) and layout.users_file is None:
        raise input_config.ConfigError(
            f"{args.config} uses user features, but the {layout.name} layout in "
            f"{args.data_dir} has no users file; choose a config without global features."
        )
    output_dir = os.path.abspath(args.output_dir)
    return create_pipeline(
        pipeline_name=args.pipeline_name,
        pipeline_root=configs.pipeline_root(output_dir),
        data_dir=os.path.abspath(args.data_dir),
        settings=settings,
        push_destination=configs.push_destination(output_dir),
        schema_dir=configs.staged_schema_dir(output_dir),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            configs.metadata_path(output_dir)
        ),
        beam_pipeline_args=configs.beam_args(args.beam_workers, args.beam_arg),
        enable_cache=not args.no_cache,
        until=args.until,
    )


def main(argv: list[str] | None = None) -> int:
    # TFX logs through absl; INFO shows each component's progress and the ingest report.
    logging.set_verbosity(logging.INFO)
    try:
        args = parse_args(options.command_line(argv))
        tfx_pipeline = build(args)
    except (input_config.ConfigError, movielens.DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    tfx.orchestration.LocalDagRunner().run(tfx_pipeline)
    output_dir = os.path.abspath(args.output_dir)
    if os.path.exists(configs.metadata_path(output_dir)):  # absent when the TFX CLI compiles
        print(f"\nPipeline root and ML Metadata: {output_dir}")
        model = _latest_model(output_dir)
        if model:
            print(f"Trained model (SavedModel with on-device signatures): {model}")
        _print_pushed(output_dir)
    return 0


def _print_pushed(output_dir: str) -> None:
    """Where the pushed TFLite model is, its size and metrics, and a sample recommendation."""
    from pipeline import recommend

    try:
        recommender = recommend.Recommender(output_dir)
    except recommend.RecommendError:
        print("No TFLite model was pushed (the model was not blessed).")
        return
    size = os.path.getsize(recommender.model_path)
    metrics = recommender.sidecar["metrics"]
    print(f"Pushed TFLite model: {recommender.model_path} ({size / 2**20:.2f} MiB)")
    print("Eval metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
    sample = [int(m) for m in list(recommender.movies)[:3]]
    recommend.print_text(recommender, recommender.recommend(sample, 5, include_seen=False))
    print(
        f"Try: python -m pipeline.recommend --model {output_dir} --history {sample[0]},{sample[1]}"
    )
    print(f"Provenance: python -m pipeline.lineage --output-dir {output_dir} model")


def _latest_model(output_dir: str) -> str | None:
    """The newest Trainer SavedModel recorded in ML Metadata, if any."""
    try:
        model = metadata.latest_artifact(output_dir, "Model")
    except LookupError:
        return None
    return os.path.join(model.uri, "Format-Serving")


if __name__ == "__main__":
    sys.exit(main())
