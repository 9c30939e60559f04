"""A read-only, in-memory view of a local ML Metadata store.

The store of a local run holds a few hundred executions at most, so it is read once
(executions, artifacts, events, runs) and every question is answered from memory.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections import defaultdict
from typing import Any

from google.protobuf import json_format
from ml_metadata import errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline import liveness, metadata

# Execution states (names of metadata_store_pb2.Execution.State).
CACHED = "CACHED"
ACTIVE_STATES = frozenset({"NEW", "RUNNING"})
RUN_CONTEXT, NODE_CONTEXT = metadata.RUN_CONTEXT, metadata.NODE_CONTEXT
PIPELINE_CONTEXT = metadata.PIPELINE_CONTEXT


class LineageError(Exception):
    """A problem the user can fix; the CLI prints it as ``error: ...`` and exits with 2."""


def open_store(path: str) -> metadata_store.MetadataStore:
    """The store at ``path``, opened read-only so that looking never creates or changes it."""
    if not os.path.isfile(path):
        raise LineageError(
            f"no ML Metadata store at {path}: run the pipeline first (make run), "
            "or point --output-dir / --metadata at a run's output"
        )
    if os.path.getsize(path) == 0:
        raise LineageError(f"{path} is empty: no pipeline has run with this store yet")
    try:
        return metadata.readonly_store(path)
    except metadata.StoreError as error:
        raise LineageError(str(error)) from None


def value_of(value: metadata_store_pb2.Value) -> Any:
    """A property value as plain Python (int, float, str, bool, or a dict for structs)."""
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    if kind in ("int_value", "double_value", "string_value", "bool_value"):
        return getattr(value, kind)
    return None if kind is None else str(getattr(value, kind))  # e.g. a packed proto


def iso_time(ms: int) -> str:
    """Local time with its UTC offset, to the second."""
    return datetime.datetime.fromtimestamp(ms / 1000).astimezone().isoformat(timespec="seconds")


@dataclasses.dataclass
class Execution:
    id: int
    component: str  # the pipeline node id, e.g. "Trainer"
    type: str  # the execution type, e.g. tfx.components.trainer.component.Trainer
    state: str  # COMPLETE, CACHED, RUNNING, FAILED, NEW, CANCELED
    started_ms: int
    updated_ms: int
    properties: dict[str, Any]
    run: str | None = None

    @property
    def component_class(self) -> str:
        return self.type.split(".")[-1]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def duration_s(self) -> float | None:
        return None if self.active else (self.updated_ms - self.started_ms) / 1000

    def brief(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "component_class": self.component_class,
            "execution_id": self.id,
            "state": self.state,
            "cached": self.state == CACHED,
            "run": self.run,
            "started": iso_time(self.started_ms),
            "finished": None if self.active else iso_time(self.updated_ms),
            "duration_s": self.duration_s,
        }


@dataclasses.dataclass
class Artifact:
    id: int
    type: str
    uri: str
    properties: dict[str, Any]
    created_ms: int

    def brief(self) -> dict[str, Any]:
        return {"artifact_id": self.id, "type": self.type, "uri": self.uri}


@dataclasses.dataclass(frozen=True)
class Event:
    execution_id: int
    artifact_id: int
    kind: str  # INPUT, OUTPUT, INTERNAL_OUTPUT (a resolver's pick), ...
    key: str  # the component's input or output name, e.g. "examples"


@dataclasses.dataclass
class Run:
    name: str  # the pipeline_run context's name: TFX's run id, a timestamp
    index: int  # 1 = the oldest run in the store
    pipeline: str
    execution_ids: list[int]
    # Why the run's process is gone while executions were unfinished (liveness), if it is.
    abandoned: str | None = None

    @property
    def label(self) -> str:
        return f"run {self.index} ({self.name})"


class Snapshot:
    """Everything in the store, indexed for walking events both ways."""

    def __init__(self, store: metadata_store.MetadataStore, path: str):
        self.path = path
        self.runs = self._read_runs(store)
        run_of = {e: run.name for run in self.runs for e in run.execution_ids}
        components = self._components(store)
        execution_types = {t.id: t.name for t in store.get_execution_types()}
        self.executions = {
            e.id: Execution(
                id=e.id,
                component=components.get(e.id) or execution_types[e.type_id].split(".")[-1],
                type=execution_types[e.type_id],
                state=metadata_store_pb2.Execution.State.Name(e.last_known_state),
                started_ms=e.create_time_since_epoch,
                updated_ms=e.last_update_time_since_epoch,
                properties={k: value_of(v) for k, v in e.custom_properties.items()},
                run=run_of.get(e.id),
            )
            for e in store.get_executions()
        }
        self._apply_abandoned(store)
        artifact_types = {t.id: t.name for t in store.get_artifact_types()}
        self.artifacts = {
            a.id: Artifact(
                id=a.id,
                type=artifact_types[a.type_id],
                uri=a.uri,
                properties={k: value_of(v) for k, v in a.custom_properties.items()},
                created_ms=a.create_time_since_epoch,
            )
            for a in store.get_artifacts()
        }
        self.events = [
            Event(
                execution_id=e.execution_id,
                artifact_id=e.artifact_id,
                kind=metadata_store_pb2.Event.Type.Name(e.type),
                key=next((step.key for step in e.path.steps if step.HasField("key")), ""),
            )
            for e in store.get_events_by_execution_ids(list(self.executions))
        ]
        self._by_execution: dict[int, list[Event]] = defaultdict(list)
        self._by_artifact: dict[int, list[Event]] = defaultdict(list)
        for event in self.events:
            self._by_execution[event.execution_id].append(event)
            self._by_artifact[event.artifact_id].append(event)

    @staticmethod
    def _read_runs(store: metadata_store.MetadataStore) -> list[Run]:
        runs = []
        for index, context in enumerate(metadata.run_contexts(store), start=1):
            parents = store.get_parent_contexts_by_context(context.id)
            pipeline = next((p.name for p in parents if p.type == PIPELINE_CONTEXT), "")
            executions = sorted(e.id for e in store.get_executions_by_context(context.id))
            runs.append(Run(context.name, index, pipeline, executions))
        return runs

    def _apply_abandoned(self, store: metadata_store.MetadataStore) -> None:
        """Shows runs whose process died as abandoned: those the next local run already
        marked, and (in memory only: lineage never writes) those not marked yet."""
        pending = liveness.abandoned_runs(store)
        contexts = {c.name: c.id for c in metadata.run_contexts(store)}
        for run in self.runs:
            executions = self.run_executions(run)
            marked = [
                e.properties[liveness.ABANDONED_REASON]
                for e in executions
                if liveness.ABANDONED_REASON in e.properties
            ]
            reason = pending.get(contexts.get(run.name, -1))
            if reason:
                for execution in executions:
                    if execution.active:
                        execution.state = "FAILED"
                        execution.properties[liveness.ABANDONED_REASON] = (
                            f"abandoned: {reason} (not yet marked in the store)"
                        )
                run.abandoned = f"abandoned: {reason}"
            elif marked:
                run.abandoned = marked[0]

    @staticmethod
    def _components(store: metadata_store.MetadataStore) -> dict[int, str]:
        """Execution id -> node id, from the node contexts ("<pipeline>.<node id>")."""
        pipelines = [c.name for c in store.get_contexts_by_type(PIPELINE_CONTEXT)]
        components = {}
        for context in store.get_contexts_by_type(NODE_CONTEXT):
            name = metadata.node_id(context.name, pipelines)
            for execution in store.get_executions_by_context(context.id):
                components[execution.id] = name
        return components

    def events_of(self, execution_id: int, *kinds: str) -> list[Event]:
        return [e for e in self._by_execution[execution_id] if e.kind in kinds]

    def inputs(self, execution_id: int) -> list[Event]:
        return self.events_of(execution_id, "INPUT")

    def outputs(self, execution_id: int) -> list[Event]:
        return self.events_of(execution_id, "OUTPUT")

    def output(self, execution: Execution | None, key: str) -> Artifact | None:
        """The artifact an execution wrote (or, when cached, reused) under ``key``."""
        if execution is None:
            return None
        ids = [e.artifact_id for e in self.outputs(execution.id) if e.key == key]
        return self.artifacts[ids[0]] if ids else None

    def input(self, execution: Execution | None, key: str) -> Artifact | None:
        if execution is None:
            return None
        ids = [e.artifact_id for e in self.inputs(execution.id) if e.key == key]
        return self.artifacts[ids[0]] if ids else None

    def writers(self, artifact_id: int) -> list[Execution]:
        """Executions with an OUTPUT event for the artifact, oldest first."""
        ids = sorted(e.execution_id for e in self._by_artifact[artifact_id] if e.kind == "OUTPUT")
        return [self.executions[i] for i in ids]

    def producer(self, artifact_id: int) -> Execution | None:
        """The execution that did the work of writing the artifact (pipeline.metadata's
        rule, on the snapshot's events: the oldest writer not served from cache)."""
        return metadata.pick_producer(self.writers(artifact_id), lambda e: e.state == CACHED)

    def run(self, name: str) -> Run:
        return next(run for run in self.runs if run.name == name)

    def run_executions(self, run: Run) -> list[Execution]:
        return [self.executions[i] for i in run.execution_ids]

    def of_class(self, run: Run, component_class: str) -> Execution | None:
        """The run's execution of a component class (e.g. "Trainer"), whatever its node id."""
        found = [e for e in self.run_executions(run) if e.component_class == component_class]
        return found[-1] if found else None


def load(path: str) -> Snapshot:
    store = open_store(path)
    try:
        return Snapshot(store, path)
    except (RuntimeError, errors.StatusError) as error:
        # E.g. SQLite's "database is locked" while a running pipeline writes.
        raise LineageError(f"could not read {path}: {error}") from error
