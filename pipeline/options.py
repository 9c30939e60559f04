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
from typing import Any

from components.data_formats import limits
from components.evaluation.eval_config import GateSettings
from components.example_gen import timelines
from components.example_gen.settings import IngestSettings
from components.model.hparams import HParams
from configs import input_config, recipes
from pipeline import paths


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """What ``create_pipeline`` needs besides locations and Beam."""

    input_config_text: str
    ingest: IngestSettings
    hparams: HParams
    gate: GateSettings
    # The recipe the run trains and why (configs.recipes); empty when --config names a
    # config without --recipe.
    recipe: str = ""


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
        "--recipe",
        default=env("RECS_RECIPE"),
        metavar="auto|NAME",
        help="training recipe, a name in configs/recipes/ (input config and "
        "hyper-parameters), or auto (the default): chosen and scaled by the data's size",
    )
    parser.add_argument(
        "--config",
        default=env("RECS_CONFIG"),
        help="input config .pbtxt (a path, or a name in configs/); without --recipe, trained "
        "with the plain default hyper-parameters (default: the recipe's config)",
    )
    parser.add_argument("--pipeline-name", default=env("RECS_PIPELINE_NAME", paths.PIPELINE_NAME))
    parser.add_argument(
        "--split",
        default=env("RECS_SPLIT"),
        choices=timelines.SplitSettings.KINDS,
        help="leave_last_out (default), random, temporal; span data is split by span",
    )
    parser.add_argument(
        "--span",
        type=_span,
        default=env("RECS_SPAN"),
        metavar="latest|next|N",
        help="span data (span-0001/, ...): the span a run holds out and evaluates on; "
        "latest (default), next (after the last one this pipeline evaluated; local runs) "
        "or a number",
    )
    parser.add_argument(
        "--span-window",
        type=_span_window,
        default=0,
        metavar="W|all",
        help="span data: examples come from the latest W spans, the held-out one included "
        "(default all); earlier spans are still history",
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


LATEST_SPAN, NEXT_SPAN = "latest", "next"


def _span(text: str) -> str | int:
    if text in (LATEST_SPAN, NEXT_SPAN):
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r}: give latest, next or a span number (1, 2, ...)")


def _span_window(text: str) -> int:
    if text == "all":
        return 0
    if text.isdigit() and int(text) >= 2:
        return int(text)
    raise argparse.ArgumentTypeError(
        f"{text!r}: give all or a number of spans >= 2 (the held-out span and one to train on)"
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


def split_kind(args: argparse.Namespace, spans: bool) -> str:
    """The split: by span for span data (the newest span is held out), else ``--split``."""
    if spans:
        if args.split not in (None, "span"):
            raise ValueError(
                f"--split {args.split} does not apply to span data: its newest span is held "
                "out (the span split); leave --split out"
            )
        return "span"
    if args.split == "span":
        raise ValueError("--split span needs span data (span-0001/, ...); see split-spans")
    if getattr(args, "span", None) is not None or args.span_window:
        raise ValueError("--span and --span-window need span data (span-0001/, ...)")
    return args.split or "leave_last_out"


def recipe(args: argparse.Namespace, ratings: int | None) -> recipes.Recipe | None:
    """The recipe ``--recipe`` names (``auto``: chosen for ``ratings`` ratings); None when
    ``--config`` names a config and ``--recipe`` is not given."""
    name = args.recipe or (None if args.config else recipes.AUTO)
    return None if name is None else recipes.resolve(name, ratings)


def settings(
    args: argparse.Namespace, spans: bool = False, ratings: int | None = None
) -> PipelineSettings:
    """Parses and validates the recipe, config and hyper-parameters: problems fail before
    any run.

    ``spans``: the data is in span folders (the runner knows): the split is by span, and
    ``warm_start="auto"`` becomes true (continuous training), else false. ``ratings``: the
    data's size, which ``--recipe auto`` follows (None: unknown).
    """
    limits.check_window(args.min_timestamp, args.max_timestamp)
    kind = split_kind(args, spans)
    chosen = recipe(args, ratings)
    config_name = args.config or chosen.input_config
    config_text = input_config.read_text(config_name)
    config = input_config.parse(config_text, config_name)
    if args.encoder:
        config_text = input_config.with_encoder(config, args.encoder)
        config = input_config.parse(config_text, f"{config_name} with {args.encoder}")
    values = dict(chosen.hparams) if chosen else {}
    values.update(parse_hparam(item) for item in args.hparam)
    if args.train_minutes is not None:
        values["train_minutes"] = args.train_minutes
    hparams = HParams.from_dict(values).with_warm_start_for(spans)
    hparams = hparams.for_config(config, gate_k=args.gate_k)
    return PipelineSettings(
        input_config_text=config_text,
        ingest=IngestSettings(
            examples=timelines.ExampleSettings(
                min_rating=args.min_rating,
                min_timeline_length=args.min_timeline_length,
                max_context_length=input_config.context_length(config),
                split=timelines.SplitSettings(kind=kind, seed=args.seed),
                # The Trainer trains on what ExampleGen writes: pieces for the sequence layout.
                training_layout=hparams.training_layout,
                sequence_stride=hparams.sequence_stride,
            ),
            span_window=args.span_window,
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
        recipe=_recipe_line(chosen, args, values),
    )


def _recipe_line(
    chosen: recipes.Recipe | None, args: argparse.Namespace, values: dict[str, Any]
) -> str:
    """The recipe and why, then what the command line changed in it (``values``: the
    hyper-parameters as trained)."""
    if chosen is None:
        return f"config {args.config}, default hyper-parameters"
    line = f"{chosen.name} ({chosen.reason})" if chosen.reason else chosen.name
    line += f", config {args.config}" if args.config else ""
    changed = {k: v for k, v in values.items() if chosen.hparams.get(k, _UNSET) != v}
    if changed:
        line += "; changed by the command line: " + ", ".join(
            f"{k}={v}" for k, v in sorted(changed.items())
        )
    return line


_UNSET = object()
