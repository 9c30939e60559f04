"""Runs a compiled PipelineJob JSON on this machine, task by task, as Vertex AI would.

The command line, ``python -m kubeflow.local_run`` (the package's docstring has the details).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from kubeflow.local_run.errors import LocalRunError
from kubeflow.local_run.graph import Job, check_supported, load_job, task_order
from kubeflow.local_run.registry import LOCAL_RUN_DIR
from kubeflow.local_run.run import LocalRun, TaskResult
from pipeline import run_lock


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kubeflow.local_run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--package", required=True, help="the compiled PipelineJob JSON")
    parser.add_argument(
        "--pipeline-root",
        required=True,
        help="a local folder: artifacts, logs and the artifact registry go under it",
    )
    parser.add_argument(
        "--data-dir", help="value of the data_dir run parameter (default: the compiled one)"
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any run parameter (repeatable)",
    )
    parser.add_argument("--run-id", help="default: PIPELINE-NAME-YYYYMMDD-HHMMSS")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="run every task again (default: as compiled, a task whose inputs, parameters "
        "and command match an earlier run's reuses its outputs, as on Vertex)",
    )
    return parser.parse_args(argv)


def _local_path(path: str) -> str:
    """Absolute: tasks run in a scratch folder, not where the launcher was started."""
    return path if "://" in path else os.path.abspath(path)


def run_parameters(job: Job, args: argparse.Namespace) -> dict[str, Any]:
    """The compiled defaults overridden by --data-dir and --parameter, typed as declared."""
    given = dict(item.partition("=")[::2] for item in args.parameter)
    if args.data_dir:
        given["data_dir"] = _local_path(args.data_dir)
    unknown = sorted(set(given) - set(job.parameter_types))
    if unknown:
        raise LocalRunError(
            f"the job has no run parameter {unknown}; it has {sorted(job.parameter_types)}"
        )
    values = {**job.parameter_defaults}
    for name, text in given.items():
        kind = job.parameter_types[name]
        try:
            values[name] = (
                float(text)
                if kind in ("NUMBER_DOUBLE", "NUMBER_INTEGER")
                else text.lower() == "true"
                if kind == "BOOLEAN"
                else text
            )
        except ValueError:
            raise LocalRunError(f"run parameter {name} must be a number, got {text!r}") from None
    missing = sorted(set(job.parameter_types) - set(values))
    if missing:
        raise LocalRunError(f"run parameters without a value: {missing} (use --parameter)")
    return values


def new_run_id(pipeline_root: str, pipeline_name: str) -> str:
    """A fresh id like Vertex's job ids (name and time), unique under this root."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = candidate = f"{pipeline_name}-{stamp}"
    suffix = 1
    while os.path.exists(os.path.join(pipeline_root, LOCAL_RUN_DIR, candidate)):
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def prepare(argv: list[str] | None) -> LocalRun:
    """Everything that can go wrong before a task runs."""
    args = parse_args(argv)
    job = load_job(args.package)
    check_supported(job)
    task_order(job.tasks)
    if "://" in args.pipeline_root:
        raise LocalRunError("--pipeline-root must be a local folder")
    root = os.path.abspath(args.pipeline_root)
    run_id = args.run_id or new_run_id(root, job.pipeline_name)
    if os.path.exists(os.path.join(root, LOCAL_RUN_DIR, run_id)):
        raise LocalRunError(f"run {run_id} already exists under {root}")
    return LocalRun(job, root, run_parameters(job, args), run_id, use_cache=not args.no_cache)


def _print_result(width: int) -> Callable[[TaskResult], None]:
    """One aligned line per task as it ends: name, duration, ok or why it failed."""

    def report(result: TaskResult) -> None:
        if result.status == "ok":
            status = f"ok ({result.note})" if result.note else "ok"
        else:
            status = f"failed: {result.cause or 'see its log'}"
        print(f"{result.name:<{width}}  {result.seconds:6.1f} s  {status}", flush=True)

    return report


def main(argv: list[str] | None = None) -> int:
    try:
        run = prepare(argv)
    except (LocalRunError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    width = max(len(name) for name in run.job.tasks)
    start = time.monotonic()
    try:
        # One run at a time per pipeline root, as the local runner per output folder: two
        # would share the artifact registry and the cache.
        with run_lock.RunLock(run.root, command="python -m kubeflow.local_run"):
            print(f"run {run.run_id}: {len(run.job.tasks)} tasks, files in {run.run_dir}")
            sys.stdout.flush()
            results = run.run(_print_result(width))
    except run_lock.RunLockedError:
        who = run_lock.describe(run_lock.holder(run.root))
        print(
            f"error: {run.root} is in use by a live run: {who}; wait for it to end or "
            "choose another --pipeline-root",
            file=sys.stderr,
        )
        return 2
    except LocalRunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = [r for r in results if r.status != "ok"]
    if failed:
        log = os.path.join(failed[0].directory, "log.txt")
        print(f"error: task {failed[0].name} failed; log: {log}", file=sys.stderr)
        return 2
    print(f"run {run.run_id}: {len(results)} tasks ok in {time.monotonic() - start:.1f} s")
    return 0
