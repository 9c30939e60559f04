"""Pipeline options shared by every runner: input config, examples, training and the gate.

The local runner and the Kubeflow runner add their own flags (where data and outputs live,
Beam) and call ``settings`` for everything else, so both compile the same pipeline.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys

from components.data_formats import limits
from components.evaluation.eval_config import GateSettings
from components.example_gen import timelines
from components.example_gen.executor import IngestSettings
from components.model.hparams import HParams
from configs import input_config
from pipeline import configs


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """What ``create_pipeline`` needs besides locations and Beam."""

    input_config_text: str
    ingest: IngestSettings
    hparams: HParams
    gate: GateSettings


ARGS_VARIABLE = "RECS_ARGS"


def command_line(argv: list[str] | None) -> list[str]:
    """The runner's flags: those in $RECS_ARGS (shell syntax), then ``argv`` (default: the
    program's own).

    The TFX CLI (`tfx pipeline create`, `tfx run create`) starts a runner file without
    flags; RECS_ARGS reaches every flag from there. Flags given directly come later and win.
    """
    try:
        from_environment = shlex.split(os.environ.get(ARGS_VARIABLE, ""))
    except ValueError as error:  # e.g. an unclosed quote
        raise ValueError(f"${ARGS_VARIABLE} is not valid shell syntax: {error}") from None
    return from_environment + (sys.argv[1:] if argv is None else argv)


def debug_requested(argv: list[str] | None) -> bool:
    """Whether ``--debug`` is among the runner's flags, known even when they fail to parse."""
    flag = "--debug"
    return flag in (sys.argv[1:] if argv is None else argv) or flag in os.environ.get(
        ARGS_VARIABLE, ""
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--config",
        default=env("RECS_CONFIG", configs.INPUT_CONFIG),
        help="input config .pbtxt (a path, or a name in configs/)",
    )
    parser.add_argument("--pipeline-name", default=env("RECS_PIPELINE_NAME", configs.PIPELINE_NAME))
    parser.add_argument(
        "--split",
        default=env("RECS_SPLIT", "leave_last_out"),
        choices=timelines.SplitSettings.KINDS,
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the random split")
    parser.add_argument("--min-rating", type=float, default=0.0)
    parser.add_argument("--min-timeline-length", type=int, default=3)
    parser.add_argument(
        "--max-bad-fraction",
        type=float,
        default=0.01,
        help="fail when more than this share of a file's lines is invalid",
    )
    parser.add_argument(
        "--min-timestamp",
        type=_time,
        default=limits.DEFAULT_MIN_TIMESTAMP,
        metavar="TIME",
        help="reject ratings before this date, ISO time or Unix seconds (default 1995-01-01)",
    )
    parser.add_argument(
        "--max-timestamp",
        type=_time,
        default=None,
        metavar="TIME",
        help="reject ratings after this (default: one day after the data is read)",
    )
    parser.add_argument(
        "--encoder",
        choices=input_config.ENCODER_NAMES,
        help="override every activity group's encoder_type in the config",
    )
    parser.add_argument(
        "--hparam",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="training hyper-parameter, e.g. --hparam epochs=5 (JSON values)",
    )
    parser.add_argument(
        "--gate-k",
        type=int,
        default=GateSettings.gate_k,
        help="K of the recall@K that decides blessing",
    )
    parser.add_argument(
        "--recall-lower-bound",
        type=float,
        default=GateSettings.lower_bound,
        help="bless only if recall@K on the eval split reaches this",
    )
    parser.add_argument(
        "--max-regression",
        type=float,
        default=GateSettings.max_regression,
        help="bless only if recall@K drops at most this below the latest blessed model",
    )
    parser.add_argument(
        "--min-lift-over-markov",
        type=float,
        default=GateSettings.min_lift_over_markov,
        help="bless only if recall@K beats first-order Markov's by this share (0.05: 5%%)",
    )
    parser.add_argument(
        "--train-minutes",
        type=float,
        help="training-time budget (the best epoch so far is kept); same as "
        "--hparam train_minutes=M",
    )


def _time(text: str) -> int:
    try:
        return limits.parse_time(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_hparam(item: str) -> tuple[str, object]:
    name, _, value = item.partition("=")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def settings(args: argparse.Namespace) -> PipelineSettings:
    """Parses and validates the config and hyper-parameters: problems fail before any run."""
    limits.check_window(args.min_timestamp, args.max_timestamp)
    config_text = input_config.read_text(args.config)
    config = input_config.parse(config_text, args.config)
    if args.encoder:
        config_text = input_config.with_encoder(config, args.encoder)
        config = input_config.parse(config_text, f"{args.config} with {args.encoder}")
    values = dict(parse_hparam(item) for item in args.hparam)
    if args.train_minutes is not None:
        values["train_minutes"] = args.train_minutes
    hparams = HParams.from_dict(values)
    hparams = hparams.for_config(config, gate_k=args.gate_k)
    return PipelineSettings(
        input_config_text=config_text,
        ingest=IngestSettings(
            examples=timelines.ExampleSettings(
                min_rating=args.min_rating,
                min_timeline_length=args.min_timeline_length,
                max_context_length=input_config.context_length(config),
                split=timelines.SplitSettings(kind=args.split, seed=args.seed),
            ),
            max_bad_fraction=args.max_bad_fraction,
            min_timestamp=args.min_timestamp,
            max_timestamp=args.max_timestamp,
        ),
        hparams=hparams,
        gate=GateSettings(
            gate_k=args.gate_k,
            lower_bound=args.recall_lower_bound,
            max_regression=args.max_regression,
            min_lift_over_markov=args.min_lift_over_markov,
        ),
    )
