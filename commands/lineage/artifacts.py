"""What the artifacts of a run hold, read from their folders and MLMD properties.

Everything here reads local files with the standard library (the store is a local run's),
so the lineage CLI stays free of TensorFlow; only evaluation metrics need TFMA's protos.
A missing or unreadable file yields None: lineage still shows everything else.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import struct
from collections.abc import Iterator
from typing import Any

from google.protobuf import text_format

# TensorBoard's and TFMD's protos are plain protobuf modules: no TensorFlow import.
from tensorboard.compat.proto import event_pb2
from tensorflow_metadata.proto.v0 import schema_pb2

import bootstrap
from commands.lineage.store import Artifact
from components import names
from components.contracts.ingest_report import IngestReport
from components.contracts.sidecar import Sidecar
from components.example_gen.ingest_record import INPUT_ROLES, input_file_property
from components.export.layout import MODEL_FILE


def sha256_of(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def tfrecords(path: str) -> Iterator[bytes]:
    """The records of an uncompressed TFRecord file: length, length CRC, data, data CRC.

    CRCs are not checked: these files were written by the same machine's pipeline.
    """
    with open(path, "rb") as handle:
        while len(header := handle.read(12)) == 12:
            (length,) = struct.unpack("<Q", header[:8])
            yield handle.read(length)
            handle.read(4)


def data_files(examples: Artifact) -> list[dict[str, Any]]:
    """Each input file ExampleGen read: path, bytes and SHA-256 as it recorded them,
    with the line counts of its ingest report."""
    report = IngestReport.read_or_none(examples.uri)
    files = []
    # Span data: the earlier spans' ratings files too (ratings_span_0001, ...).
    earlier = sorted(
        key.removesuffix("_file")
        for key in examples.properties
        if key.startswith("ratings_span_") and key.endswith("_file")
    )
    for role in (*INPUT_ROLES, *earlier):
        path = examples.properties.get(input_file_property(role, "file"))
        section = report.section(role) if report else None
        if path is None and section is None:
            continue
        files.append(
            {
                "role": role,
                "path": path or section.file,
                "bytes": examples.properties.get(input_file_property(role, "bytes")),
                # None for Examples written before ExampleGen recorded checksums.
                "sha256": examples.properties.get(input_file_property(role, "sha256")),
                "lines": section.lines if section else None,
                "accepted": section.accepted if section else None,
                "rejected": section.rejected if section else None,
            }
        )
    return files


def example_counts(examples: Artifact) -> dict[str, Any]:
    """Examples per split and the fate of the rating lines, from the artifact's properties."""
    properties = examples.properties
    return {
        "splits": {
            key.removeprefix(names.EXAMPLES_COUNT_PREFIX): value
            for key, value in sorted(properties.items())
            if key.startswith(names.EXAMPLES_COUNT_PREFIX)
        },
        "rating_lines": properties.get(names.RATING_LINES_PROPERTY),
        "accepted_ratings": properties.get(names.ACCEPTED_RATINGS_PROPERTY),
        "rejected": {
            key.removeprefix(names.REJECTED_PREFIX): value
            for key, value in sorted(properties.items())
            if key.startswith(names.REJECTED_PREFIX)
        },
        "input_fingerprint": properties.get("input_fingerprint"),
    }


def schema_summary(schema: Artifact) -> dict[str, Any]:
    """The imported schema's file, SHA-256 and feature names."""
    path = os.path.join(schema.uri, "schema.pbtxt")
    summary: dict[str, Any] = {"file": path, "sha256": sha256_of(path), "features": None}
    try:
        with open(path, encoding="utf-8") as handle:
            parsed = text_format.Parse(handle.read(), schema_pb2.Schema())
    except (OSError, text_format.ParseError):
        return summary
    summary["features"] = [feature.name for feature in parsed.feature]
    return summary


def vocabularies(transform_graph: Artifact) -> dict[str, int] | None:
    """Vocabulary name -> number of entries, from the transform graph's asset files."""
    assets = os.path.join(transform_graph.uri, "transform_fn", "assets")
    if not os.path.isdir(assets):
        return None
    sizes = {}
    for name in sorted(os.listdir(assets)):
        with open(os.path.join(assets, name), "rb") as handle:
            sizes[name] = sum(1 for line in handle if line.strip())
    return sizes


def _scalar(value) -> float | None:
    """A TensorBoard scalar: a float tensor (Keras 2 summaries) or a legacy simple_value."""
    tensor = value.tensor
    if tensor.float_val:
        return float(tensor.float_val[0])
    if tensor.double_val:
        return float(tensor.double_val[0])
    if tensor.tensor_content and tensor.dtype in (1, 2):  # DT_FLOAT, DT_DOUBLE
        return struct.unpack("<f" if tensor.dtype == 1 else "<d", tensor.tensor_content)[0]
    return value.simple_value if value.HasField("simple_value") else None


def training_metrics(model_run: Artifact) -> dict[str, Any] | None:
    """The last epoch's Keras metrics (loss, hr_at_K) per subset, from the TensorBoard logs.

    None when the Trainer wrote no per-epoch logs (the sequence layout trains without the
    TensorBoard callback).
    """
    metrics: dict[str, dict[str, float]] = {}
    epochs = 0
    for path in sorted(glob.glob(os.path.join(model_run.uri, "*", "events.out.tfevents.*"))):
        subset = os.path.basename(os.path.dirname(path))
        for record in tfrecords(path):
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                if not value.tag.startswith("epoch_"):
                    continue
                scalar = _scalar(value)
                if scalar is not None:
                    metrics.setdefault(subset, {})[value.tag.removeprefix("epoch_")] = scalar
                    epochs = max(epochs, event.step + 1)
    return {"epochs": epochs, **metrics} if metrics else None


def evaluation_metrics(evaluation: Artifact) -> dict[str, dict[str, float]]:
    """Overall-slice metrics of the candidate and (when there was one) the baseline model."""
    # TFMA's proto module imports all of TFMA and TensorFlow (seconds): only here.
    # TensorFlow's start-up logs (CUDA plugins, CPU features) are noise for a metrics read.
    bootstrap.quiet_tensorflow()
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2

    table: dict[str, dict[str, float]] = {}
    for path in sorted(glob.glob(os.path.join(evaluation.uri, "metrics*"))):
        for record in tfrecords(path):
            metrics = metrics_for_slice_pb2.MetricsForSlice.FromString(record)
            if metrics.slice_key.single_slice_keys:
                continue  # only the overall slice
            for item in metrics.metric_keys_and_values:
                if item.key.is_diff or not item.value.HasField("double_value"):
                    continue
                model = item.key.model_name or "candidate"
                table.setdefault(model, {})[item.key.name] = item.value.double_value.value
    return table


def thresholds(eval_config_json: str | None) -> dict[str, dict[str, Any]]:
    """Metric name -> its threshold (value bound and change vs baseline) in an eval_config."""
    config = json.loads(eval_config_json or "{}")
    found = {}
    for spec in config.get("metrics_specs", []):
        for metric in spec.get("metrics", []):
            name = json.loads(metric.get("config") or "{}").get("name", metric["class_name"])
            limits = [t["threshold"] for t in metric.get("per_slice_thresholds", [])]
            limits += [metric["threshold"]] if "threshold" in metric else []
            for limit in limits:
                found[name] = limit
    return found


def pushed_folder(pushed: Artifact) -> dict[str, Any]:
    """Where the model was pushed, its files and the sidecar's signatures and lineage ids."""
    path = pushed.properties.get(names.PUSHED_DESTINATION_PROPERTY)
    folder: dict[str, Any] = {
        "path": path,
        "version": pushed.properties.get(names.PUSHED_VERSION_PROPERTY),
        "tflite_bytes": pushed.properties.get(names.TFLITE_BYTES_PROPERTY),
    }
    if not path or not os.path.isdir(path):
        folder["missing"] = True
        return folder
    folder["files"] = {
        name: os.path.getsize(os.path.join(path, name)) for name in sorted(os.listdir(path))
    }
    folder["tflite_sha256"] = sha256_of(os.path.join(path, MODEL_FILE))
    sidecar = Sidecar.read_or_none(path) or Sidecar({})
    folder["signatures"] = sidecar.signatures
    folder["k"] = sidecar.k
    folder["quantized_variant"] = sidecar.quantized_variant
    folder["sidecar_lineage"] = sidecar.lineage
    return folder
