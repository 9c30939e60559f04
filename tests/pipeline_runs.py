"""Helpers for tests that run the real pipeline on small synthetic data."""

from __future__ import annotations

import glob
import os

import tensorflow as tf
from tfx import v1 as tfx

from benchmarks.common import ALWAYS_BLESS  # noqa: F401  (re-exported for tests)
from components import names
from components.contracts.ingest_report import IngestReport
from pipeline import local_runner
from pipeline.metadata import latest_artifact, store  # noqa: F401  (re-exported for tests)

EXAMPLE_GEN = names.EXAMPLE_GEN
# Tiny data: Beam's in-memory mode starts faster than worker processes.
IN_MEMORY = "--beam-arg=--direct_running_mode=in_memory"


def run_pipeline(data_dir: str, output_dir: str, *extra: str) -> None:
    args = local_runner.parse_args(
        ["--data-dir", data_dir, "--output-dir", output_dir, IN_MEMORY, *extra]
    )
    tfx.orchestration.LocalDagRunner().run(local_runner.build(args))


def ingest_report(output_dir: str) -> dict:
    examples = latest_artifact(output_dir, "Examples", EXAMPLE_GEN)
    return IngestReport.read(examples.uri).to_json()


def read_examples(artifact_uri: str, split: str) -> list[tf.train.Example]:
    files = sorted(glob.glob(os.path.join(artifact_uri, f"Split-{split}", "*")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf.train.Example.FromString(record.numpy()) for record in dataset]


def values(example: tf.train.Example, name: str) -> list:
    feature = example.features.feature[name]
    kind = feature.WhichOneof("kind")
    return list(getattr(feature, kind).value) if kind else []


def tensorboard_epochs(output_dir: str) -> dict[str, dict[str, int]]:
    """Per TensorBoard run folder of the latest ModelRun (train, validation), how many epoch
    values each scalar tag has."""
    model_run = latest_artifact(output_dir, "ModelRun").uri
    counts: dict[str, dict[str, int]] = {}
    for path in glob.glob(os.path.join(model_run, "*", "events.out.tfevents.*")):
        tags = counts.setdefault(os.path.basename(os.path.dirname(path)), {})
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                tags[value.tag] = tags.get(value.tag, 0) + 1
    return counts
