"""Command line of ``python -m commands.lineage`` (usage in the package docstring)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

from commands.lineage import diff, graph, model, render, runs, store
from pipeline import cli_errors, paths

FORMATS = ("text", "json", "dot", "svg", "png")
IMAGE_FORMATS = ("svg", "png")


def _common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command (SUPPRESS: a command's parser must not
    reset what was given before the command)."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument(
        "--output-dir",
        default=argparse.SUPPRESS,
        help="a local run's --output-dir (its metadata.sqlite); default $RECS_OUTPUT_DIR "
        "or outputs/",
    )
    where.add_argument(
        "--metadata", default=argparse.SUPPRESS, help="the ML Metadata sqlite file itself"
    )
    common.add_argument(
        "--format",
        choices=FORMATS,
        default=argparse.SUPPRESS,
        help="text (default), json, dot (Graphviz source), or svg/png (rendered by Graphviz)",
    )
    common.add_argument(
        "--out", default=argparse.SUPPRESS, help="write to this file (required for svg/png)"
    )
    common.add_argument(
        cli_errors.DEBUG_FLAG,
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the Python traceback of an error instead of its one-line message",
    )
    return common


def parse_args(argv: list[str]) -> argparse.Namespace:
    from commands import lineage

    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="python -m commands.lineage",
        # The package docstring up to its JSON reference: commands, formats, RUN ids.
        description=lineage.__doc__.split("\nJSON output:")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser(
        "runs",
        parents=[common],
        help="pipeline runs: status, times, each component's duration and caching",
        epilog=f"RUN: {runs.RUN_HELP}.",
    )
    listing.add_argument("run", nargs="*", metavar="RUN", help="only these runs (default: all)")
    provenance = commands.add_parser(
        "model",
        parents=[common],
        help="provenance of a pushed TFLite model, back to the input files",
    )
    provenance.add_argument(
        "--pushed", default="current", metavar="REF", help=f"the model: {model.PUSHED_HELP}"
    )
    comparison = commands.add_parser(
        "diff",
        parents=[common],
        help="what changed between two runs: data, config, metrics",
        epilog=f"RUN: {runs.RUN_HELP}.",
    )
    comparison.add_argument("run_a", metavar="RUN_A", help="the earlier run, e.g. previous")
    comparison.add_argument("run_b", metavar="RUN_B", help="the later run, e.g. latest")
    args = parser.parse_args(argv)
    args.format = getattr(args, "format", "text")
    args.out = getattr(args, "out", None)
    args.debug = getattr(args, "debug", False)
    output_dir = getattr(args, "output_dir", os.environ.get("RECS_OUTPUT_DIR", paths.OUTPUT_DIR))
    args.metadata = getattr(args, "metadata", None) or paths.metadata_path(output_dir)
    return args


@dataclasses.dataclass
class Report:
    result: Any  # what --format json prints
    text: str
    graph: dict[str, Any]  # what --format dot|svg|png draws
    title: str


def _runs_report(args: argparse.Namespace, snapshot: store.Snapshot) -> Report:
    summaries = runs.summaries(snapshot, args.run)
    executions = [
        snapshot.executions[c["execution_id"]] for s in summaries for c in s["components"]
    ]
    return Report(
        {"metadata": snapshot.path, "runs": summaries},
        render.runs_text(summaries),
        graph.build(snapshot, executions),
        "runs",
    )


def _model_report(args: argparse.Namespace, snapshot: store.Snapshot) -> Report:
    result = model.provenance(snapshot, args.pushed)
    pushed = result["pushed_model"]
    title = f"pushed model {pushed['artifact_id']} (version {pushed['version']})"
    return Report(result, render.model_text(result), result["graph"], title)


def _diff_report(args: argparse.Namespace, snapshot: store.Snapshot) -> Report:
    result = diff.diff(snapshot, args.run_a, args.run_b)
    run_a, run_b = snapshot.run(result["run_a"]["run"]), snapshot.run(result["run_b"]["run"])
    executions = snapshot.run_executions(run_a) + snapshot.run_executions(run_b)
    title = f"run {run_a.index} vs run {run_b.index}"
    return Report(result, render.diff_text(result), graph.build(snapshot, executions), title)


REPORTS = {"runs": _runs_report, "model": _model_report, "diff": _diff_report}


def _write(text: str, out: str | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise store.LineageError(f"cannot write {out}: {error.strerror}") from error


def run(args: argparse.Namespace) -> None:
    if args.format in IMAGE_FORMATS and not args.out:
        raise store.LineageError(f"--format {args.format} writes an image: give --out FILE")
    report = REPORTS[args.command](args, store.load(args.metadata))
    if args.format == "json":
        _write(json.dumps(report.result, indent=2) + "\n", args.out)
    elif args.format == "dot":
        _write(render.dot(report.graph, report.title), args.out)
    elif args.format in IMAGE_FORMATS:
        render.render_graph(render.dot(report.graph, report.title), args.format, args.out)
    else:
        _write(report.text, args.out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except (store.LineageError, OSError) as error:
        return cli_errors.fail(error, args.debug)
    return 0
