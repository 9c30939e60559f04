"""Reading the local ML Metadata store: the newest artifacts a run produced."""

from __future__ import annotations

import os

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components import names
from pipeline import paths


class StoreError(RuntimeError):
    """The ML Metadata file is damaged or not ML Metadata's: one line says what to do."""


def damaged(path: str, error: BaseException) -> StoreError:
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    reason = reason.split(" query:")[0].removeprefix("Error when executing query: ")
    if "locked" in reason or "busy" in reason:
        return StoreError(f"{path} is busy ({reason}): a run is writing it; try again")
    return StoreError(
        f"{path} is not a readable ML Metadata store ({reason}); nothing was changed: "
        f"move it aside (mv {path} {path}.damaged) to start a new one, or choose another "
        "--output-dir"
    )


def readonly_store(path: str) -> metadata_store.MetadataStore:
    """The store at ``path`` opened read-only (looking never creates or changes it), after
    reading its schema version and one table: a damaged or foreign file is a StoreError."""
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    try:
        handle = metadata_store.MetadataStore(config)
        handle.get_context_types()
    except (RuntimeError, mlmd_errors.StatusError) as error:
        raise damaged(path, error) from None
    return handle


def check_store(output_dir: str) -> None:
    """Raises StoreError when the output folder's store exists but cannot be read (an empty
    or absent file is a new store)."""
    path = paths.metadata_path(output_dir)
    if os.path.isfile(path) and os.path.getsize(path) > 0:
        readonly_store(path)


def store(output_dir: str) -> metadata_store.MetadataStore:
    # What tfx.orchestration.metadata.sqlite_metadata_connection_config builds, without
    # importing TFX (the light commands read the store too).
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = paths.metadata_path(output_dir)
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
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


# The serving pointer's moves (commands.models promote / rollback): an execution each, with
# who, when, from which version to which, and an INPUT event on the version's PushedModel.
POINTER_MOVE_TYPE = "movie_recs.ServingPointerMove"
_MOVE_PROPERTIES = ("action", "version", "from_version", "user", "host", "serving_dir")


def record_pointer_move(output_dir: str, **values: str) -> int:
    """Records a move of the serving pointer; returns its execution id."""
    handle = store(output_dir)
    execution_type = metadata_store_pb2.ExecutionType(name=POINTER_MOVE_TYPE)
    for name in _MOVE_PROPERTIES:
        execution_type.properties[name] = metadata_store_pb2.STRING
    type_id = handle.put_execution_type(execution_type)
    execution = metadata_store_pb2.Execution(
        type_id=type_id, last_known_state=metadata_store_pb2.Execution.COMPLETE
    )
    for name in _MOVE_PROPERTIES:
        execution.properties[name].string_value = str(values.get(name) or "")
    pushed = [
        a
        for a in handle.get_artifacts_by_type("PushedModel")
        if a.custom_properties[names.PUSHED_VERSION_PROPERTY].string_value == values.get("version")
        and a.custom_properties[names.PUSHED_PROPERTY].int_value == 1
    ]
    links = []
    if pushed:
        event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.INPUT)
        event.path.steps.add().key = "pushed_model"
        links.append((min(pushed, key=lambda a: a.id), event))
    execution_id, _, _ = handle.put_execution(execution, links, [])
    return execution_id


def pointer_moves(path: str) -> list[dict]:
    """Every recorded move of the serving pointer, oldest first (read-only)."""
    handle = readonly_store(path)
    try:
        executions = handle.get_executions_by_type(POINTER_MOVE_TYPE)
    except mlmd_errors.NotFoundError:
        return []
    moves = []
    for execution in sorted(executions, key=lambda e: e.id):
        move = {name: execution.properties[name].string_value for name in _MOVE_PROPERTIES}
        move["execution_id"] = execution.id
        move["time_ms"] = execution.create_time_since_epoch
        moves.append(move)
    return moves
