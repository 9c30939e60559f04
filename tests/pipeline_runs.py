"""Helpers for tests that run the real pipeline on small synthetic data."""

from __future__ import annotations

import glob
import json
import os

import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from components.example_gen.executor import REPORT_FILE
from pipeline import configs, local_runner

EXAMPLE_GEN = "MovieLensExampleGen"
# Tiny data: Beam's in-memory mode starts faster than worker processes.
IN_MEMORY = "--beam-arg=--direct_running_mode=in_memory"


def run_pipeline(data_dir: str, output_dir: str, *extra: str) -> None:
    args = local_runner.parse_args(
        ["--data-dir", data_dir, "--output-dir", output_dir, IN_MEMORY, *extra]
    )
    tfx.orchestration.LocalDagRunner().run(local_runner.build(args))


def store(output_dir: str) -> metadata_store.MetadataStore:
    config = tfx.orchestration.metadata.sqlite_metadata_connection_config(
        configs.metadata_path(output_dir)
    )
    return metadata_store.MetadataStore(config)


def latest_artifact(
    output_dir: str, type_name: str, producer: str | None = None
) -> metadata_store_pb2.Artifact:
    """The newest artifact of a type, optionally only those a given component wrote."""
    artifacts = [
        a
        for a in store(output_dir).get_artifacts_by_type(type_name)
        if producer is None or f"/{producer}/" in a.uri
    ]
    assert artifacts, f"no {type_name} artifact from {producer or 'any component'}"
    return max(artifacts, key=lambda a: a.id)


def ingest_report(output_dir: str) -> dict:
    examples = latest_artifact(output_dir, "Examples", EXAMPLE_GEN)
    with open(os.path.join(examples.uri, REPORT_FILE)) as handle:
        return json.load(handle)


def read_examples(artifact_uri: str, split: str) -> list[tf.train.Example]:
    files = sorted(glob.glob(os.path.join(artifact_uri, f"Split-{split}", "*")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf.train.Example.FromString(record.numpy()) for record in dataset]


def values(example: tf.train.Example, name: str) -> list:
    feature = example.features.feature[name]
    kind = feature.WhichOneof("kind")
    return list(getattr(feature, kind).value) if kind else []
