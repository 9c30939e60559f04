"""Reading the local ML Metadata store: the newest artifacts a run produced."""

from __future__ import annotations

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from pipeline import configs


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
    if not artifacts:
        raise LookupError(f"no {type_name} artifact from {producer or 'any component'}")
    return max(artifacts, key=lambda a: a.id)
