"""Lineage as a graph: execution and artifact nodes, one edge per MLMD event."""

from __future__ import annotations

from typing import Any

from commands.lineage.store import Execution, Snapshot

EDGE_EVENTS = ("INPUT", "OUTPUT", "INTERNAL_OUTPUT")


def execution_node(snapshot: Snapshot, execution: Execution) -> dict[str, Any]:
    run = snapshot.run(execution.run) if execution.run else None
    return {
        "id": f"e{execution.id}",
        "kind": "execution",
        "execution_id": execution.id,
        "component": execution.component,
        "state": execution.state,
        "duration_s": execution.duration_s,
        "run": execution.run,
        "run_index": run.index if run else None,
    }


def build(snapshot: Snapshot, executions: list[Execution]) -> dict[str, Any]:
    """The executions, every artifact they read or wrote, and an edge per event.

    INPUT edges point from the artifact to the execution, OUTPUT (and a resolver's
    INTERNAL_OUTPUT) edges from the execution to the artifact.
    """
    nodes = [execution_node(snapshot, e) for e in executions]
    edges = []
    artifact_ids: list[int] = []
    for execution in executions:
        for event in snapshot.events_of(execution.id, *EDGE_EVENTS):
            if event.artifact_id not in artifact_ids:
                artifact_ids.append(event.artifact_id)
            ends = (f"a{event.artifact_id}", f"e{execution.id}")
            source, target = ends if event.kind == "INPUT" else ends[::-1]
            edges.append({"from": source, "to": target, "event": event.kind, "key": event.key})
    for artifact_id in sorted(artifact_ids):
        artifact = snapshot.artifacts[artifact_id]
        nodes.append({"id": f"a{artifact.id}", "kind": "artifact", **artifact.brief()})
    return {"nodes": nodes, "edges": edges}
