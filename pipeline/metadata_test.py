"""The ML Metadata layer: TFX's context names, and producers found through events."""

from __future__ import annotations

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from pipeline import liveness, metadata


def test_the_context_types_are_tfxs():
    from tfx.dsl.compiler import constants

    assert metadata.PIPELINE_CONTEXT == constants.PIPELINE_CONTEXT_TYPE_NAME
    assert metadata.RUN_CONTEXT == constants.PIPELINE_RUN_CONTEXT_TYPE_NAME
    assert metadata.NODE_CONTEXT == constants.NODE_CONTEXT_TYPE_NAME
    assert liveness.RUN_CONTEXT == metadata.RUN_CONTEXT


class Store:
    """A small store shaped as TFX records a pipeline "p" with nodes "A" and "B"."""

    def __init__(self, output_dir: str):
        self.handle = metadata.store(output_dir)
        types = {
            name: self.handle.put_context_type(pb.ContextType(name=name))
            for name in (metadata.PIPELINE_CONTEXT, metadata.RUN_CONTEXT, metadata.NODE_CONTEXT)
        }
        self.execution_type = self.handle.put_execution_type(pb.ExecutionType(name="Exec"))
        self.artifact_type = self.handle.put_artifact_type(pb.ArtifactType(name="Examples"))
        self.contexts = {}
        for kind, name in (
            (metadata.PIPELINE_CONTEXT, "p"),
            (metadata.RUN_CONTEXT, "r1"),
            (metadata.RUN_CONTEXT, "r2"),
            (metadata.NODE_CONTEXT, "p.A"),
            (metadata.NODE_CONTEXT, "p.B"),
        ):
            context = pb.Context(type_id=types[kind], name=name)
            [context.id] = self.handle.put_contexts([context])
            self.contexts[name] = context

    def artifact(self, uri: str) -> int:
        [artifact_id] = self.handle.put_artifacts(
            [pb.Artifact(type_id=self.artifact_type, uri=uri)]
        )
        return artifact_id

    def execution(self, node: str, run: str, state, outputs: list[int]) -> int:
        execution = pb.Execution(type_id=self.execution_type, last_known_state=state)
        events = []
        for artifact_id in outputs:
            event = pb.Event(type=pb.Event.OUTPUT)
            event.path.steps.add().key = "examples"
            events.append((pb.Artifact(id=artifact_id, type_id=self.artifact_type), event))
        contexts = [self.contexts[name] for name in ("p", run, f"p.{node}")]
        execution_id, _, _ = self.handle.put_execution(execution, events, contexts)
        return execution_id


@pytest.fixture
def recorded(tmp_path):
    store = Store(str(tmp_path))
    # Node A wrote a1 in run 1, and reused it from cache in run 2; node B wrote a2 in
    # run 1, in a folder that names node A (a folder says nothing: the events do).
    a1 = store.artifact("gs://bucket/root/A/examples/1")
    a2 = store.artifact("gs://bucket/root/A/examples/not-really")
    done = store.execution("A", "r1", pb.Execution.COMPLETE, [a1])
    cached = store.execution("A", "r2", pb.Execution.CACHED, [a1])
    other = store.execution("B", "r1", pb.Execution.COMPLETE, [a2])
    return str(tmp_path), store, {"a1": a1, "a2": a2, "done": done, "cached": cached, "B": other}


def test_the_producer_is_the_writer_not_served_from_cache(recorded):
    _, store, ids = recorded
    found = metadata.producers(store.handle, [ids["a1"], ids["a2"]])
    assert {a: e.id for a, e in found.items()} == {ids["a1"]: ids["done"], ids["a2"]: ids["B"]}


def test_latest_artifact_of_a_node_follows_events_not_folders(recorded):
    output_dir, _, ids = recorded
    assert metadata.latest_artifact(output_dir, "Examples", "A").id == ids["a1"]
    assert metadata.latest_artifact(output_dir, "Examples", "B").id == ids["a2"]
    assert metadata.latest_artifact(output_dir, "Examples").id == ids["a2"]
    with pytest.raises(LookupError):
        metadata.latest_artifact(output_dir, "Examples", "C")


def test_a_runs_artifact_includes_what_a_cached_execution_reused(recorded):
    output_dir, _, ids = recorded
    assert metadata.run_artifact(output_dir, "r2", "A", "examples").id == ids["a1"]
    assert metadata.run_artifact(output_dir, "r2", "B", "examples") is None
    assert metadata.run_artifact(output_dir, "r1", "B", "examples").id == ids["a2"]
    assert metadata.run_artifact(output_dir, "r3", "A", "examples") is None


def test_run_contexts_and_node_ids(recorded):
    _, store, _ = recorded
    assert [c.name for c in metadata.run_contexts(store.handle)] == ["r1", "r2"]
    assert metadata.run_context(store.handle, "r2").name == "r2"
    assert metadata.node_id("p.Trainer", ["p"]) == "Trainer"
    assert metadata.node_id("q.Trainer", ["p"]) == "q.Trainer"


def test_pick_producer():
    class E:
        def __init__(self, id, state):
            self.id, self.last_known_state = id, state

    cached, done = E(1, pb.Execution.CACHED), E(2, pb.Execution.COMPLETE)
    assert metadata.pick_producer([done, cached]) is done
    assert metadata.pick_producer([cached]) is cached
    assert metadata.pick_producer([]) is None
