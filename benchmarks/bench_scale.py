"""The whole default pipeline at production scale: time, memory and bytes per component.

    python -m benchmarks.bench_scale [--scales 1,5,25] [--work-dir outputs/scale]
        [--runner-arg=--train-minutes=10 ...] [--results docs/scale_results.jsonl]

Each scale is a synthetic data set in a MovieLens release's shape, as many ratings as that
many ML-1M's: 1 = ML-1M's shape (1M ratings, 3,883 movies), 25 = ML-25M's (25M ratings,
162,541 users, 62,423 movies with ids up to 209,171), and any other = ML-25M's shape with
that share of its users (5: ``--like ml-25m --scale 0.2``, 5M ratings). The data is written
once into the work folder and reused. Each scale then runs the pipeline (ExampleGen through
TFLitePusher, the default recipe, plus any ``--runner-arg``) in a fresh output folder, in
this process, while a sampler reads the resident memory of this process and of every child
(Beam's workers) twice a second. Per component it prints the wall seconds (ML Metadata),
the peak memory of the whole process tree and of its largest process while the component
ran, and the bytes of its output artifacts; the Trainer's seconds per epoch; and the ratio
of each time to the first scale's, side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time

from tfx import v1 as tfx

from benchmarks.common import MemoryTimeline, component_seconds
from commands.lineage import store as lineage_store
from components.data_formats import synthetic
from components.model import callbacks
from pipeline import local_runner, metadata, paths

GIB = 1 << 30
# ML-1M's ratings are the unit of scale; ML-25M holds 25 of them.
ML1M_RATINGS = synthetic.RELEASES["ml-1m"].ratings


def spec_for(scale: float) -> tuple[synthetic.SyntheticSpec, str]:
    """The synthetic data of ``scale`` ML-1Ms, and its layout."""
    if scale == 1:
        return synthetic.spec_like("ml-1m"), synthetic.RELEASES["ml-1m"].layout
    ml25m = synthetic.RELEASES["ml-25m"]
    fraction = min(1.0, scale * ML1M_RATINGS / ml25m.ratings)
    return synthetic.spec_like("ml-25m", fraction), ml25m.layout


def folder_bytes(path: str) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(folder, name))
    return total


def run_scale(scale: float, args: argparse.Namespace) -> dict:
    spec, layout = spec_for(scale)
    data_dir = os.path.join(args.work_dir, f"data-{scale:g}x")
    if not os.path.exists(os.path.join(data_dir, "done.json")):
        started = time.perf_counter()
        summary = synthetic.write_movielens(data_dir, layout, spec)
        with open(os.path.join(data_dir, "done.json"), "w") as handle:
            json.dump({"ratings": summary.num_ratings, "movies": summary.num_movies}, handle)
        print(f"{scale:g}x: wrote {summary.num_ratings:,} ratings in "
              f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    with open(os.path.join(data_dir, "done.json")) as handle:
        written = json.load(handle)
    output_dir = os.path.join(args.work_dir, f"run-{scale:g}x")
    if os.path.exists(output_dir):
        raise SystemExit(f"{output_dir} exists: remove it or choose another --work-dir")
    runner_args = local_runner.parse_args(
        ["--data-dir", data_dir, "--output-dir", output_dir, *args.runner_arg]
    )
    started = time.time()
    with MemoryTimeline(interval_s=0.5) as memory:
        tfx.orchestration.LocalDagRunner().run(local_runner.build(runner_args))
    wall = time.time() - started
    snapshot = lineage_store.load(paths.metadata_path(output_dir))
    rows = {}
    for execution in sorted(snapshot.executions.values(), key=lambda e: e.id):
        if execution.duration_s is None:
            continue
        tree, largest = memory.peaks(execution.started_ms / 1000, execution.updated_ms / 1000)
        root = os.path.join(paths.pipeline_root(output_dir), execution.component)
        rows[execution.component] = {
            "seconds": execution.duration_s,
            "peak_tree_gib": tree / GIB,
            "peak_process_gib": largest / GIB,
            "bytes": folder_bytes(root),
        }
    trainer = metadata.latest_artifact(output_dir, "ModelRun")
    log = callbacks.read_training_log(trainer.uri)
    epochs = log["epochs_trained"]
    total_tree, total_largest = memory.peaks(started, time.time())
    return {
        "scale": scale,
        "ratings": written["ratings"],
        "movies": written["movies"],
        "wall_seconds": wall,
        "peak_tree_gib": total_tree / GIB,
        "peak_process_gib": total_largest / GIB,
        "pipeline_root_bytes": folder_bytes(paths.pipeline_root(output_dir)),
        "trainer_epochs": epochs,
        "seconds_per_epoch": log["train_seconds"] / epochs if epochs else None,
        "loss": log.get("loss"),
        "components": rows,
        "component_seconds": component_seconds(output_dir),
        "cpu": _cpu(),
        "runner_args": args.runner_arg,
    }


def _cpu() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    return f"{platform.processor()} x{os.cpu_count()}"


def print_table(results: list[dict]) -> None:
    base = results[0]
    print(f"\nCPU: {base['cpu']}")
    for result in results:
        print(
            f"\n{result['scale']:g}x: {result['ratings']:,} ratings, {result['movies']:,} movies;"
            f" whole run {result['wall_seconds'] / 60:.1f} min, peak {result['peak_tree_gib']:.2f}"
            f" GiB (largest process {result['peak_process_gib']:.2f} GiB), pipeline root "
            f"{result['pipeline_root_bytes'] / 1e9:.2f} GB; Trainer {result['trainer_epochs']} "
            f"epochs of {result['seconds_per_epoch'] or 0:.0f} s ({result['loss']} loss)"
        )
        print(f"  {'component':<28}{'seconds':>9}{'x first':>9}{'tree GiB':>10}"
              f"{'proc GiB':>10}{'MB out':>10}")  # fmt: skip
        for name, row in result["components"].items():
            first = base["components"].get(name, {}).get("seconds")
            ratio = f"{row['seconds'] / first:.1f}" if first else "-"
            print(
                f"  {name:<28}{row['seconds']:>9.1f}{ratio:>9}{row['peak_tree_gib']:>10.2f}"
                f"{row['peak_process_gib']:>10.2f}{row['bytes'] / 1e6:>10.1f}"
            )
        if result is not base and base["seconds_per_epoch"]:
            ratio = (result["seconds_per_epoch"] or 0) / base["seconds_per_epoch"]
            print(f"  {'Trainer epoch':<28}{result['seconds_per_epoch']:>9.1f}{ratio:>9.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="1,5,25", help="multiples of ML-1M's ratings")
    parser.add_argument("--work-dir", default="outputs/scale")
    parser.add_argument(
        "--runner-arg",
        action="append",
        default=[],
        metavar="FLAG",
        help="a pipeline.local_runner flag for every scale, e.g. --runner-arg=--train-minutes=10",
    )
    parser.add_argument("--results", help="append each scale's figures to this JSON-lines file")
    args = parser.parse_args(argv)
    results = []
    for scale in (float(s) for s in args.scales.split(",")):
        result = run_scale(scale, args)
        results.append(result)
        if args.results:
            with open(args.results, "a") as handle:
                handle.write(json.dumps(result) + "\n")
        print_table(results)


if __name__ == "__main__":
    main()
