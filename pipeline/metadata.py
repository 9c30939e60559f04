"""Reading the local ML Metadata store: the newest artifacts a run produced."""

from __future__ import annotations

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from pipeline import paths


def store(output_dir: str) -> metadata_store.MetadataStore:
    config = tfx.orchestration.metadata.sqlite_metadata_connection_config(
        paths.metadata_path(output_dir)
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


def run_artifact(
    output_dir: str, run_id: str, node_id: str, key: str
) -> metadata_store_pb2.Artifact | None:
    """The artifact a node wrote (or reused from cache) under ``key`` in the run ``run_id``."""
    handle = store(output_dir)
    run = handle.get_context_by_type_and_name("pipeline_run", run_id)
    if run is None:
        return None
    executions = [e.id for e in handle.get_executions_by_context(run.id)]
    ids = [
        event.artifact_id
        for event in handle.get_events_by_execution_ids(executions)
        if event.type == metadata_store_pb2.Event.OUTPUT
        and any(step.key == key for step in event.path.steps)
    ]
    found = [a for a in handle.get_artifacts_by_id(ids) if f"/{node_id}/" in a.uri]
    return max(found, key=lambda a: a.id) if found else None
