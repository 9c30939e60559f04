"""Provenance of a pushed model: the executions and artifacts it derives from, found by
walking ML Metadata events back from the PushedModel to the input files ExampleGen read."""

from __future__ import annotations

import os
from typing import Any

from commands.lineage import details, graph, runs
from commands.lineage.store import Artifact, Event, Execution, LineageError, Snapshot
from components import names
from components.export import serving

PUSHED_MODEL = "PushedModel"
PUSHED_HELP = (
    "current (default: the version the serving pointer names, or the latest push where "
    "there is no pointer), latest, previous, a PushedModel artifact id, or a pushed version "
    "(its serving_models/<version> folder name)"
)


def pushed_models(snapshot: Snapshot) -> list[Artifact]:
    """PushedModel artifacts that hold a model (an unblessed model's has pushed=0), oldest
    first."""
    return [
        a
        for a in sorted(snapshot.artifacts.values(), key=lambda a: a.id)
        if a.type == PUSHED_MODEL and a.properties.get(names.PUSHED_PROPERTY)
    ]


def served_version(candidates: list[Artifact]) -> str | None:
    """The version the serving pointer beside the latest push names (None: no pointer)."""
    folder = candidates[-1].properties.get(names.PUSHED_DESTINATION_PROPERTY)
    if not folder or "://" in folder:
        return None
    try:
        pointer = serving.read_pointer(os.path.dirname(folder))
    except serving.ServingError as error:
        raise LineageError(str(error)) from None
    return None if pointer is None else pointer["version"]


def resolve_pushed(snapshot: Snapshot, ref: str) -> Artifact:
    """The pushed model ``ref`` names (see PUSHED_HELP)."""
    candidates = pushed_models(snapshot)
    if not candidates:
        raise LineageError(
            f"no model has been pushed in {snapshot.path} (none was blessed yet); see `runs`"
        )
    if ref == "current":
        ref = served_version(candidates) or "latest"
    named = {"latest": -1, "previous": -2}
    if ref in named:
        if len(candidates) < -named[ref]:
            raise LineageError(f"there is no {ref} pushed model: {len(candidates)} were pushed")
        return candidates[named[ref]]
    for candidate in candidates:
        if ref in (str(candidate.id), candidate.properties.get(names.PUSHED_VERSION_PROPERTY)):
            return candidate
    if ref.isdigit() and int(ref) in snapshot.artifacts:
        artifact = snapshot.artifacts[int(ref)]
        if artifact.type != PUSHED_MODEL:
            raise LineageError(f"artifact {ref} is a {artifact.type}, not a {PUSHED_MODEL}")
        raise LineageError(f"{PUSHED_MODEL} {ref} holds no model: its model was not blessed")
    known = ", ".join(f"{a.id} (version {a.properties.get('pushed_version')})" for a in candidates)
    raise LineageError(f"no pushed model {ref!r}; pushed models (artifact ids): {known}")


def ancestry(snapshot: Snapshot, artifact_id: int) -> list[Execution]:
    """The executions an artifact derives from, oldest first.

    From an artifact to the execution that produced it (its OUTPUT event), then to that
    execution's inputs (its INPUT events), until artifacts that nothing produced. The
    Evaluator's baseline is a reference the candidate was compared with, not an
    ingredient, and a warm start's base model is shown on the Trainer's step (from which
    model, run and execution); the walk follows neither into older runs.
    """
    found: dict[int, Execution] = {}
    pending, seen = [artifact_id], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        producer = snapshot.producer(current)
        if producer is None or producer.id in found:
            continue
        found[producer.id] = producer
        pending += [
            e.artifact_id
            for e in snapshot.inputs(producer.id)
            if e.key not in details.EARLIER_MODEL_INPUTS
        ]
    # A producer finishes before its consumers start: time order is a topological order.
    return sorted(found.values(), key=lambda e: (e.started_ms, e.id))


def _artifact_refs(snapshot: Snapshot, events: list[Event]) -> list[dict[str, Any]]:
    return [{"key": e.key, **snapshot.artifacts[e.artifact_id].brief()} for e in events]


def step(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    """One execution of the chain: when and how it ran, what it read and wrote, details."""
    outputs = snapshot.outputs(execution.id)
    # Later runs that were served this execution's outputs from cache.
    reused = {
        writer.id: writer
        for event in outputs
        for writer in snapshot.writers(event.artifact_id)
        if writer.id != execution.id
    }
    return {
        **execution.brief(),
        "reused_by": [{"execution_id": e.id, "run": e.run} for e in reused.values()],
        "inputs": _artifact_refs(snapshot, snapshot.inputs(execution.id)),
        "outputs": _artifact_refs(snapshot, outputs),
        "details": details.of(snapshot, execution),
    }


def provenance(snapshot: Snapshot, ref: str) -> dict[str, Any]:
    """The pushed model, the input files, each execution of its chain, and the graph."""
    pushed = resolve_pushed(snapshot, ref)
    pusher = snapshot.producer(pushed.id)
    run = snapshot.run(pusher.run) if pusher and pusher.run else None
    if run:
        runs.require_finished(snapshot, run)
    chain = ancestry(snapshot, pushed.id)
    steps = [step(snapshot, execution) for execution in chain]
    files = [s["details"]["files"] for s in steps if "files" in s["details"]]
    return {
        "pushed_model": {
            "artifact_id": pushed.id,
            "version": pushed.properties.get(names.PUSHED_VERSION_PROPERTY),
            "path": pushed.properties.get(names.PUSHED_DESTINATION_PROPERTY),
            "run": run.name if run else None,
            "run_index": run.index if run else None,
        },
        "data_files": files[0] if files else [],
        "steps": steps,
        "graph": graph.build(snapshot, chain),
    }
