"""The whole pipeline on ML-1M, then on-device latency and size of the pushed TFLite models.

    python -m benchmarks.bench_pipeline [--data-dir ../shared/data/movielens/ml-1m]
        [--configs cnn_id,cnn_id_genre] [--work-dir DIR]

For each config: a fresh pipeline run (ExampleGen -> ... -> TFLitePusher) with the default
hyper-parameters, its wall time and per-component times from ML Metadata; then p50/p99
latency on this CPU (single thread, batch 1, real eval contexts) of the float and the
int8-weights TFLite models on the standalone LiteRT interpreter, next to the SavedModel's
``recommend`` signature on the same inputs in the same run.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from ai_edge_litert.interpreter import Interpreter

from benchmarks.common import run_pipeline
from components.export import on_device_inputs, tflite_pusher
from components.export.layout import MODEL_FILE, QUANTIZED_FILE
from configs import input_config
from pipeline import configs, metadata, recommend

DEFAULT_DATA = os.path.join(configs.REPO_ROOT, "..", "shared", "data", "movielens", "ml-1m")


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    millis = np.array(seconds) * 1000
    return float(np.percentile(millis, 50)), float(np.percentile(millis, 99))


def time_tflite(path: str, inputs: list[dict[str, np.ndarray]], repeats: int) -> list[float]:
    interpreter = Interpreter(model_path=path, num_threads=1)
    runner = interpreter.get_signature_runner("recommend_unseen")
    for features in inputs[:50]:
        runner(**features)  # warm-up
    timings = []
    for i in range(repeats):
        features = inputs[i % len(inputs)]
        start = time.perf_counter()
        runner(**features)
        timings.append(time.perf_counter() - start)
    return timings


def time_saved_model(path: str, inputs: list[dict[str, np.ndarray]], repeats: int) -> list[float]:
    signature = tf.saved_model.load(path).signatures["recommend_unseen"]
    tensors = [{k: tf.constant(v) for k, v in f.items()} for f in inputs]
    for features in tensors[:50]:
        signature(**features)
    timings = []
    for i in range(repeats):
        start = time.perf_counter()
        signature(**tensors[i % len(tensors)])
        timings.append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--configs", default="cnn_id,cnn_id_genre")
    parser.add_argument("--work-dir", default="/tmp/bench-pipeline")
    parser.add_argument("--repeats", type=int, default=3000)
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    rows = []
    for name in args.configs.split(","):
        output_dir = os.path.join(args.work_dir, name)
        run = run_pipeline(
            [
                "--data-dir",
                args.data_dir,
                "--output-dir",
                output_dir,
                "--config",
                name,
                "--recall-lower-bound",
                "0.05",
            ]
        )
        model = recommend.Recommender(output_dir)
        folder = os.path.dirname(model.model_path)
        config = input_config.load(name)
        examples_uri = metadata.latest_artifact(output_dir, "Examples", "MovieLensExampleGen").uri
        examples = tflite_pusher.read_eval_examples(examples_uri, 500)
        transform_output = tft.TFTransformOutput(
            metadata.latest_artifact(output_dir, "TransformGraph").uri
        )
        vocabularies = on_device_inputs.string_vocabularies(transform_output, config)
        inputs = [on_device_inputs.from_example(e, config, vocabularies) for e in examples]
        saved_model = os.path.join(
            metadata.latest_artifact(output_dir, "Model").uri, "Format-Serving"
        )
        row = {
            "config": name,
            "wall_s": run.wall_seconds,
            "components": run.component_seconds,
            "peak_gib": run.peak_bytes / 2**30,
            "recall_at_10": model.sidecar["metrics"].get("recall_at_10"),
            "saved_model_ms": _percentiles(time_saved_model(saved_model, inputs, args.repeats)),
        }
        for label, file in (("float", MODEL_FILE), ("int8_weights", QUANTIZED_FILE)):
            path = os.path.join(folder, file)
            if os.path.isfile(path):
                row[f"{label}_bytes"] = os.path.getsize(path)
                row[f"{label}_ms"] = _percentiles(time_tflite(path, inputs, args.repeats))
        row["quantized_variant"] = model.sidecar["quantized_variant"]
        rows.append(row)
        _print(row)
    print("\nSummary")
    for row in rows:
        _print(row)


def _print(row: dict) -> None:
    print(
        f"\n[{row['config']}] pipeline wall {row['wall_s']:.0f} s, peak {row['peak_gib']:.2f} GiB,"
        f" eval recall@10 {row['recall_at_10']:.4f}"
    )
    print("  components: " + ", ".join(f"{k} {v:.0f}s" for k, v in row["components"].items()))
    saved_p50, saved_p99 = row["saved_model_ms"]
    print(f"  SavedModel recommend_unseen: p50 {saved_p50:.3f} ms  p99 {saved_p99:.3f} ms")
    for label in ("float", "int8_weights"):
        if f"{label}_ms" in row:
            p50, p99 = row[f"{label}_ms"]
            print(
                f"  TFLite {label:<12} {row[f'{label}_bytes'] / 1e6:.2f} MB  p50 {p50:.3f} ms"
                f"  p99 {p99:.3f} ms  ({saved_p50 / p50:.0f}x faster than SavedModel)"
            )
    print(f"  int8 variant: {row['quantized_variant']}")


if __name__ == "__main__":
    main()
