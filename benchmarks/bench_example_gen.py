"""ExampleGen and Transform on real MovieLens data, next to a plain single-process script.

    python -m benchmarks.bench_example_gen [--data-dir ../shared/data/movielens/ml-1m]

The plain script does the same work as the ExampleGen executor (parse every line, group by
user, order and filter timelines, encode examples, write gzipped TFRecords per split) in
one process without Beam; the pipeline run then goes ExampleGen -> StatisticsGen ->
ExampleValidator -> Transform with a fresh output folder (no cache). Prints one table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import tensorflow as tf

from benchmarks.common import PeakMemory, read_single_process, run_pipeline
from components import names
from components.example_gen import timelines
from configs import input_config
from pipeline import paths

DEFAULT_DATA = os.path.join(paths.REPO_ROOT, "..", "shared", "data", "movielens", "ml-1m")


def plain_script(data_dir: str, settings: timelines.ExampleSettings, out_dir: str) -> int:
    """Single-process ExampleGen equivalent; returns the number of examples written."""
    data = read_single_process(data_dir)
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    writers = {
        split: tf.io.TFRecordWriter(os.path.join(out_dir, f"{split}.tfrecord.gz"), options)
        for split in timelines.SPLITS
    }
    count = 0
    for user_id, ratings in data.ratings_by_user.items():
        timeline, _ = timelines.build_timeline(user_id, ratings, settings)
        if timeline is None:
            continue
        for split, example in timelines.timeline_examples(
            timeline, data.movies, data.users.get(user_id), settings
        ):
            writers[split].write(example)
            count += 1
    for writer in writers.values():
        writer.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--config", default=paths.INPUT_CONFIG)
    parser.add_argument("--work-dir", default=None, help="default: a temporary folder")
    args = parser.parse_args()
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="bench-example-gen-")
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(os.path.join(work_dir, "plain"))

    config = input_config.load(args.config)
    settings = timelines.ExampleSettings(max_context_length=input_config.context_length(config))
    start = time.perf_counter()
    with PeakMemory() as plain_memory:
        plain_count = plain_script(args.data_dir, settings, os.path.join(work_dir, "plain"))
    plain_s = time.perf_counter() - start

    output_dir = os.path.join(work_dir, "pipeline")
    run = run_pipeline(
        [
            "--data-dir",
            args.data_dir,
            "--output-dir",
            output_dir,
            "--config",
            args.config,
            "--until",
            "Transform",
        ]
    )
    pipeline_s, seconds = run.wall_seconds, run.component_seconds

    example_gen_s = seconds[names.EXAMPLE_GEN]
    rows = [
        ("examples written (plain script)", f"{plain_count:,}"),
        ("plain single-process script", f"{plain_s:.1f} s"),
        ("MovieLensExampleGen (Beam, DirectRunner, 2 workers)", f"{example_gen_s:.1f} s"),
        ("ExampleGen / plain script", f"{example_gen_s / plain_s:.2f}x"),
        ("StatisticsGen", f"{seconds['StatisticsGen']:.1f} s"),
        ("Transform", f"{seconds['Transform']:.1f} s"),
        ("ExampleGen + Transform", f"{example_gen_s + seconds['Transform']:.1f} s"),
        ("whole run through Transform (wall)", f"{pipeline_s:.1f} s"),
        ("peak memory, plain script", f"{plain_memory.peak_bytes / 2**30:.2f} GiB"),
        ("peak memory, pipeline (all processes)", f"{run.peak_bytes / 2**30:.2f} GiB"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\nData: {os.path.abspath(args.data_dir)}  config: {os.path.basename(args.config)}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>12}")


if __name__ == "__main__":
    main()
