"""The job graph: the parts of a compiled PipelineJob a local run reads, its tasks in
dependency order, and what a local run cannot do (refused before anything runs)."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from kubeflow.local_run.errors import LocalRunError

EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"


@dataclasses.dataclass(frozen=True)
class Job:
    """The parts of a PipelineJob a local run reads."""

    pipeline_name: str
    tasks: dict[str, dict[str, Any]]
    components: dict[str, dict[str, Any]]
    executors: dict[str, dict[str, Any]]
    parameter_types: dict[str, str]
    parameter_defaults: dict[str, Any]
    compiled_root: str

    def component(self, task: str) -> dict[str, Any]:
        return self.components[self.tasks[task]["componentRef"]["name"]]

    def executor(self, task: str) -> dict[str, Any]:
        return self.executors[self.component(task)["executorLabel"]]


def load_job(path: str) -> Job:
    """Reads a PipelineJob JSON (or a bare pipeline spec), naming what is wrong with it."""
    if not os.path.isfile(path):
        raise LocalRunError(f"{path} does not exist: compile it with python -m kubeflow.runner")
    try:
        with open(path) as handle:
            document = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LocalRunError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise LocalRunError(f"{path} is not a PipelineJob JSON (no pipelineSpec)")
    spec = document.get("pipelineSpec", document)
    try:
        tasks = spec["root"]["dag"]["tasks"]
        executors = spec["deploymentSpec"]["executors"]
        components = spec["components"]
    except (KeyError, TypeError):
        raise LocalRunError(
            f"{path} is not a PipelineJob JSON (no pipelineSpec with root.dag.tasks, "
            "components and deploymentSpec.executors)"
        ) from None
    runtime_config = document.get("runtimeConfig", {})
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    return Job(
        pipeline_name=spec.get("pipelineInfo", {}).get("name", "pipeline"),
        tasks=tasks,
        components=components,
        executors=executors,
        parameter_types={name: p.get("parameterType", "STRING") for name, p in declared.items()},
        parameter_defaults=dict(runtime_config.get("parameterValues", {})),
        compiled_root=runtime_config.get("gcsOutputDirectory", ""),
    )


def upstream_tasks(task: dict[str, Any]) -> set[str]:
    """Every task this one waits for: declared dependencies and the producers of its inputs
    (the model resolver of LatestBlessedModelStrategy has only the latter)."""
    upstream = set(task.get("dependentTasks", []))
    inputs = task.get("inputs", {})
    for spec in [*inputs.get("artifacts", {}).values(), *inputs.get("parameters", {}).values()]:
        for kind in ("taskOutputArtifact", "taskOutputParameter"):
            if kind in spec:
                upstream.add(spec[kind]["producerTask"])
    return upstream


def task_order(tasks: dict[str, dict[str, Any]]) -> list[str]:
    """Tasks in dependency order; ties by name, so every run of a job has the same order."""
    upstream = {name: upstream_tasks(task) for name, task in tasks.items()}
    for name, needs in upstream.items():
        unknown = needs - set(tasks)
        if unknown:
            raise LocalRunError(f"task {name} depends on unknown tasks {sorted(unknown)}")
    order: list[str] = []
    while len(order) < len(tasks):
        ready = sorted(n for n in tasks if n not in order and upstream[n] <= set(order))
        if not ready:
            stuck = sorted(set(tasks) - set(order))
            raise LocalRunError(f"the tasks {stuck} depend on each other in a cycle")
        order.append(ready[0])
    return order


def check_supported(job: Job) -> None:
    """Fails before anything runs on what a local run cannot do (rather than half-way)."""
    for name, task in job.tasks.items():
        try:
            component, executor = job.component(name), job.executor(name)
        except KeyError as error:
            raise LocalRunError(f"task {name}: no component or executor {error}") from None
        if "dag" in component:
            raise LocalRunError(f"task {name} is a sub-DAG (exit handler?): not supported")
        if task.get("triggerPolicy", {}).get("condition"):
            raise LocalRunError(f"task {name} has a condition: not supported")
        if "iteratorPolicy" in task or "parameterIterator" in task:
            raise LocalRunError(f"task {name} is a loop: not supported")
        if not {"container", "resolver", "importer"} & set(executor):
            raise LocalRunError(f"task {name}: executor kind {sorted(executor)} not supported")
        for parameter, spec in task.get("inputs", {}).get("parameters", {}).items():
            if "constantValue" in spec.get("runtimeValue", {}):
                raise LocalRunError(
                    f"task {name}, parameter {parameter}: pipeline spec 2.0 constants are not "
                    "supported; compile with use_pipeline_spec_2_1"
                )
        for key, spec in task.get("inputs", {}).get("artifacts", {}).items():
            if "taskOutputArtifact" not in spec:
                raise LocalRunError(f"task {name}, input {key}: only task outputs are supported")
        container = executor.get("container", {})
        pre_cache_check = container.get("lifecycle", {}).get("preCacheCheck", {})
        for arg in [*container.get("args", []), *pre_cache_check.get("args", [])]:
            if "{{$" in arg and arg != EXECUTOR_INPUT_PLACEHOLDER:
                raise LocalRunError(f"task {name}: placeholder in {arg!r} not supported")
