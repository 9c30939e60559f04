"""Which span a local run holds out, for continuous training on span data.

``--span latest`` (the default for span data) is what a scheduled run wants: new ratings
arrived as a new span, and the run trains on everything before it and evaluates on it.
``--span next`` replays a spans folder one span per run: the span after the last one this
pipeline evaluated (its ML Metadata says which), so running the same command repeatedly
walks through the spans, each run warm-starting from the previous run's blessed model.
"""

from __future__ import annotations

import os

from ml_metadata.proto import metadata_store_pb2

from components import names
from components.data_formats import spans
from pipeline import metadata, paths
from pipeline.options import LATEST_SPAN, NEXT_SPAN

# The first span a run can hold out: span 1 has nothing before it to train on.
FIRST_HELD_OUT_SPAN = 2
_DONE = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)


class NothingToRun(Exception):
    """Every span has been evaluated already: a scheduled run has nothing new to do."""


def evaluated_spans(output_dir: str, pipeline_name: str) -> set[int]:
    """The spans whose examples a finished Evaluator execution of this pipeline read."""
    if not os.path.isfile(paths.metadata_path(output_dir)):
        return set()
    store = metadata.store(output_dir)
    context = store.get_context_by_type_and_name(metadata.PIPELINE_CONTEXT, pipeline_name)
    if context is None:
        return set()
    evaluators = [
        execution.id
        for execution in store.get_executions_by_context(context.id)
        if execution.last_known_state in _DONE
        and _execution_type(store, execution.type_id).endswith(".Evaluator")
    ]
    inputs = [
        event.artifact_id
        for event in store.get_events_by_execution_ids(evaluators)
        if event.type == metadata_store_pb2.Event.INPUT
        and any(step.key == names.EXAMPLES_KEY for step in event.path.steps)
    ]
    return {
        artifact.custom_properties[names.SPAN_PROPERTY].int_value
        for artifact in store.get_artifacts_by_id(inputs)
        if names.SPAN_PROPERTY in artifact.custom_properties
    }


def _execution_type(store, type_id: int) -> str:
    (execution_type,) = store.get_execution_types_by_id([type_id])
    return execution_type.name


def resolve_span(request: str | int | None, data_dir: str, output_dir: str, name: str) -> int:
    """The span number ``request`` (latest, next, a number; None: latest) names.

    Raises NothingToRun when ``next`` finds every span evaluated, SpanError when the data
    has no span folders."""
    found = spans.list_spans(data_dir)
    spans.check_sequence(data_dir, found)
    latest = found[-1].number
    if request in (None, LATEST_SPAN):
        return latest
    if request == NEXT_SPAN:
        done = evaluated_spans(output_dir, name)
        span = max(done, default=FIRST_HELD_OUT_SPAN - 1) + 1
        if span > latest:
            raise NothingToRun(
                f"every span of {data_dir} up to the latest, {latest}, has been evaluated by "
                f"the pipeline {name} in {output_dir}: nothing new to run"
            )
        return span
    return int(request)
