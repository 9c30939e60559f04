"""The one ML Metadata layer: opening the store, the contexts TFX records, producers.

The runner, liveness and ``commands.lineage`` read the store through this module (no TFX
import: the light commands read it too). It owns

- opening the store: read-write for a run (``store``), read-only for looking
  (``readonly_store``: a damaged file is one StoreError);
- the contexts TFX registers for every execution: the pipeline (``PIPELINE_CONTEXT``), the
  run (``RUN_CONTEXT``, named by the run id) and the node (``NODE_CONTEXT``, named
  ``<pipeline>.<node id>``; pipeline/metadata_test.py keeps them equal to TFX's);
- which execution produced an artifact: its OUTPUT events, the oldest writer not served
  from TFX's cache (a cached execution records an OUTPUT event for what it reused).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

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


# Context types, as tfx.orchestration.portable.mlmd names them.
PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"

_OUTPUT = metadata_store_pb2.Event.OUTPUT


def run_context(
    handle: metadata_store.MetadataStore, run_id: str
) -> metadata_store_pb2.Context | None:
    """The context of run ``run_id`` (TFX's pipeline_run id), None if the store has none."""
    return handle.get_context_by_type_and_name(RUN_CONTEXT, run_id)


def run_contexts(handle: metadata_store.MetadataStore) -> list[metadata_store_pb2.Context]:
    """Every run's context, oldest first."""
    contexts = handle.get_contexts_by_type(RUN_CONTEXT)
    return sorted(contexts, key=lambda c: (c.create_time_since_epoch, c.id))


def node_id(context_name: str, pipelines: Iterable[str]) -> str:
    """The node id of a node context's name (``<pipeline>.<node id>``)."""
    for pipeline in pipelines:
        if context_name.startswith(pipeline + "."):
            return context_name[len(pipeline) + 1 :]
    return context_name


def node_executions(handle: metadata_store.MetadataStore, node: str) -> set[int]:
    """The ids of every execution of pipeline node ``node`` (of any pipeline in the store)."""
    pipelines = [c.name for c in handle.get_contexts_by_type(PIPELINE_CONTEXT)]
    return {
        execution.id
        for context in handle.get_contexts_by_type(NODE_CONTEXT)
        if node_id(context.name, pipelines) == node
        for execution in handle.get_executions_by_context(context.id)
    }


def is_cached(execution: metadata_store_pb2.Execution) -> bool:
    return execution.last_known_state == metadata_store_pb2.Execution.CACHED


def pick_producer(writers: list, cached=is_cached):
    """Of the executions with an OUTPUT event for an artifact, the one that did the work:
    the oldest not served from cache (else the oldest); None when there is none."""
    writers = sorted(writers, key=lambda e: e.id)
    real = [e for e in writers if not cached(e)]
    return (real or writers or [None])[0]


def producers(
    handle: metadata_store.MetadataStore, artifact_ids: list[int]
) -> dict[int, metadata_store_pb2.Execution]:
    """Artifact id -> the execution that produced it, through the artifacts' OUTPUT events."""
    events = [e for e in handle.get_events_by_artifact_ids(artifact_ids) if e.type == _OUTPUT]
    executions = {
        e.id: e for e in handle.get_executions_by_id(list({e.execution_id for e in events}))
    }
    writers: dict[int, list] = {}
    for event in events:
        writers.setdefault(event.artifact_id, []).append(executions[event.execution_id])
    return {artifact_id: pick_producer(found) for artifact_id, found in writers.items()}


def latest_artifact(
    output_dir: str, type_name: str, producer: str | None = None
) -> metadata_store_pb2.Artifact:
    """The newest artifact of a type, optionally only those a given pipeline node produced
    (``producers``: through the artifacts' OUTPUT events, not their folders)."""
    handle = store(output_dir)
    artifacts = handle.get_artifacts_by_type(type_name)
    if producer is not None and artifacts:
        ran = node_executions(handle, producer)
        made = producers(handle, [a.id for a in artifacts])
        artifacts = [a for a in artifacts if a.id in made and made[a.id].id in ran]
    if not artifacts:
        raise LookupError(f"no {type_name} artifact from {producer or 'any component'}")
    return max(artifacts, key=lambda a: a.id)


def run_artifact(
    output_dir: str, run_id: str, node: str, key: str
) -> metadata_store_pb2.Artifact | None:
    """The artifact a node wrote (or reused from cache) under ``key`` in the run ``run_id``."""
    handle = store(output_dir)
    run = run_context(handle, run_id)
    if run is None:
        return None
    in_run = {e.id for e in handle.get_executions_by_context(run.id)}
    executions = sorted(in_run & node_executions(handle, node))
    ids = [
        event.artifact_id
        for event in handle.get_events_by_execution_ids(executions)
        if event.type == _OUTPUT and any(step.key == key for step in event.path.steps)
    ]
    found = handle.get_artifacts_by_id(ids)
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
