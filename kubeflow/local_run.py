"""Runs a compiled PipelineJob JSON on this machine, task by task, as Vertex AI would.

A verification tool for this project's own jobs, not a Kubeflow Pipelines implementation:
compiling proves only that a job is well-formed, while running it proves that every task's
container command works with the inputs the orchestrator hands it. Each task runs the
command compiled into the job (TFX's ``kubeflow_v2_run_executor`` entry point, and the
file-based ExampleGen's ``preCacheCheck`` driver before it) in a subprocess of this
virtualenv with the image's environment, in dependency order, with local folders as
artifact URIs. It supports what TFX compiles: container tasks, the resolvers of
LatestBlessedModelStrategy and LatestArtifactStrategy, importers, runtime parameters and
Vertex's caching (a task whose inputs, parameters and command match an earlier
execution's reuses its outputs; ``--no-cache`` runs everything). No Docker, conditions,
loops or exit handlers.

::

    python -m kubeflow.local_run --package kubeflow/build/movie-recs.json \\
        --pipeline-root outputs/kubeflow-local [--data-dir DIR] [--parameter NAME=VALUE]

Everything a run leaves is under ``PIPELINE_ROOT/local_run/``: ``artifacts.jsonl`` (the
registry of every artifact of every run, which the resolvers query, so a second run finds
the first run's blessed model), ``executions.jsonl`` (the cache) and ``RUN_ID/``: ``run.json``
(each task's duration and status) and per task ``TASK/``: ``log.txt``,
``executor_input.json``, ``executor_output.json`` and the task's output artifacts.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = os.path.join(REPO_ROOT, "kubeflow", "Dockerfile")
LOCAL_RUN_DIR = "local_run"
REGISTRY_FILE = "artifacts.jsonl"
# Successful executions by cache key: a later run's task with the same key reuses outputs.
EXECUTIONS_FILE = "executions.jsonl"
EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"
# The only placeholder a resolver filter of TFX's LatestBlessedModelStrategy carries.
INPUT_METADATA_PLACEHOLDER = re.compile(
    r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.metadata\['([^']+)'\]\}\}"
)
# components.model.cloud_trainer.LAUNCHER_ENV (not imported: this tool loads no TensorFlow).
TRAINING_LAUNCHER_ENV = "RECS_TRAINING_LAUNCHER"
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)): ?(.*)$")


class LocalRunError(Exception):
    """A problem with the job or the arguments, reported as one ``error:`` line."""


class TaskFailed(Exception):
    """A task's command failed; its log says why."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


# --------------------------------------------------------------------------- the job


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


# --------------------------------------------------------------------------- paths


@dataclasses.dataclass(frozen=True)
class PathMapper:
    """Rewrites paths compiled for the cloud into paths of this machine.

    The job names files inside the image (``/pipeline/...``, the checkout here) and under
    the compiled pipeline root (e.g. ``gs://BUCKET/recs/serving_models``, the local
    pipeline root here). Only a value that starts with such a path, or a ``--flag=`` whose
    value does, is rewritten.
    """

    prefixes: tuple[tuple[str, str], ...]

    def text(self, value: str) -> str:
        flag, equals, rest = value.partition("=")
        if equals and flag.startswith("--"):
            return f"{flag}={self.text(rest)}"
        for old, new in self.prefixes:
            if value == old or value.startswith(old.rstrip("/") + "/"):
                return new + value[len(old) :]
        return value

    def value(self, value: Any) -> Any:
        return self.text(value) if isinstance(value, str) else value


def image_settings(dockerfile: str = DOCKERFILE) -> tuple[str, dict[str, str]]:
    """The image's project folder (WORKDIR) and environment (ENV), read from the Dockerfile
    so a local run uses exactly what the containers get."""
    with open(dockerfile) as handle:
        text = re.sub(r"\\\n", " ", handle.read())
    workdir, environment = "", {}
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if len(words) < 2 or line.lstrip().startswith("#"):
            continue
        instruction, arguments = words[0].upper(), words[1]
        if instruction == "WORKDIR":
            workdir = arguments.strip()
        elif instruction == "ENV":
            pairs = shlex.split(arguments)
            if "=" not in pairs[0]:  # the legacy "ENV NAME VALUE" form
                pairs = [f"{pairs[0]}={' '.join(pairs[1:])}"]
            environment.update(pair.split("=", 1) for pair in pairs)
    if not workdir.startswith("/"):
        raise LocalRunError(f"{dockerfile} has no WORKDIR: where is the project in the image?")
    return workdir, environment


def task_environment(image_dir: str, image_env: dict[str, str]) -> dict[str, str]:
    """This machine's environment plus the image's, image paths mapped to the checkout."""
    mapper = PathMapper(((image_dir, REPO_ROOT),))
    mapped = {
        name: os.pathsep.join(mapper.text(part) for part in value.split(":"))
        for name, value in image_env.items()
    }
    # Where the Trainer would create a Vertex AI Training job, it starts the replicas here
    # (components.model.cloud_trainer.LAUNCHER_ENV).
    return {**os.environ, **mapped, TRAINING_LAUNCHER_ENV: "local"}


# --------------------------------------------------------------------------- registry


class JsonLines:
    """A file of JSON objects, one a line, appended to and read whole: small, and easy to
    read for a person checking what a run did."""

    def __init__(self, path: str) -> None:
        self.path = path

    def records(self) -> list[dict[str, Any]]:
        if not os.path.exists(self.path):
            return []
        with open(self.path) as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def add(self, record: dict[str, Any]) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


class Registry(JsonLines):
    """Every artifact of every local run of a pipeline root.

    It stands in for Vertex's ML Metadata store: resolvers query it by type, state, name
    and metadata, so it must outlive a run. Only a task that succeeded registers artifacts.
    """

    def query(self, pipeline: str, clauses: list[tuple[str, str, Any]]) -> list[dict[str, Any]]:
        """This pipeline's artifacts matching every clause, oldest first."""
        return [
            record
            for record in self.records()
            if record.get("pipeline") == pipeline
            and all(_matches(record, clause) for clause in clauses)
        ]


def schema_title(artifact_type: dict[str, Any]) -> str:
    """The type's title, from either form of an ArtifactTypeSchema."""
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    schema = yaml.safe_load(artifact_type.get("instanceSchema", "")) or {}
    return schema.get("title", "tfx.Artifact")


_CLAUSES = (
    ("schema_title", re.compile(r'^schema_title="(.*)"$')),
    ("state", re.compile(r"^state=(\w+)$")),
    ("name", re.compile(r'^name="(.*)"$')),
    ("metadata", re.compile(r"^metadata\.(\w+)\.(number_value|string_value|bool_value)=(.*)$")),
)


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    """(field, key, expected) per clause of an artifact query filter.

    Only the forms TFX's resolvers compile: ``schema_title="T"``, ``state=LIVE``,
    ``name="N"``, ``metadata.KEY.number_value=1`` (string_value, bool_value), joined by AND.
    """
    clauses = []
    for clause in (part.strip() for part in text.split(" AND ")):
        for field, pattern in _CLAUSES:
            match = pattern.match(clause)
            if not match:
                continue
            if field == "metadata":
                key, kind, raw = match.groups()
                clauses.append((field, key, _filter_value(kind, raw)))
            else:
                clauses.append((field, "", match.group(1)))
            break
        else:
            raise LocalRunError(f"unsupported artifact query clause: {clause!r} (in {text!r})")
    return clauses


def _filter_value(kind: str, raw: str) -> Any:
    if kind == "number_value":
        return float(raw)
    if kind == "bool_value":
        return raw.lower() == "true"
    return raw.strip('"')


def _matches(record: dict[str, Any], clause: tuple[str, str, Any]) -> bool:
    field, key, expected = clause
    if field == "schema_title":
        return record["schema_title"] == expected
    if field == "state":
        return record.get("state", "LIVE") == expected
    if field == "name":
        return record["name"] == expected
    actual = record.get("metadata", {}).get(key)
    if isinstance(expected, float):
        return isinstance(actual, int | float) and float(actual) == expected
    return actual == expected


# --------------------------------------------------------------------------- a run


def runtime_artifact(record: dict[str, Any]) -> dict[str, Any]:
    """A registry record as the RuntimeArtifact of an ExecutorInput."""
    return {key: record[key] for key in ("name", "uri", "type", "metadata")}


@dataclasses.dataclass
class TaskResult:
    """How a task ended: printed as it ends, and kept in the run's run.json."""

    name: str
    kind: str
    seconds: float
    status: str
    directory: str
    cause: str = ""
    note: str = ""


class LocalRun:
    """One run of a job: executes its tasks in order and records their artifacts."""

    def __init__(
        self,
        job: Job,
        pipeline_root: str,
        parameters: dict[str, Any],
        run_id: str,
        use_cache: bool = True,
    ) -> None:
        self.job = job
        self.run_id = run_id
        self.use_cache = use_cache
        self.run_dir = os.path.join(pipeline_root, LOCAL_RUN_DIR, run_id)
        self.registry = Registry(os.path.join(pipeline_root, LOCAL_RUN_DIR, REGISTRY_FILE))
        self.executions = JsonLines(os.path.join(pipeline_root, LOCAL_RUN_DIR, EXECUTIONS_FILE))
        image_dir, image_env = image_settings()
        prefixes = [(image_dir, REPO_ROOT)]
        if job.compiled_root and job.compiled_root.rstrip("/") != pipeline_root:
            prefixes.append((job.compiled_root.rstrip("/"), pipeline_root))
        self.paths = PathMapper(tuple(prefixes))
        self.environment = task_environment(image_dir, image_env)
        self.parameters = {name: self.paths.value(v) for name, v in parameters.items()}
        # Per finished task: output key -> artifacts (dicts as in an ExecutorInput).
        self.artifacts: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.output_parameters: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, str] = {}  # e.g. where a cached task's outputs come from

    def task_dir(self, task: str) -> str:
        return os.path.join(self.run_dir, task)

    def run(self, report: Callable[[TaskResult], None]) -> list[TaskResult]:
        """Runs every task; stops at the first failure. ``report`` gets each TaskResult."""
        results = []
        for name in task_order(self.job.tasks):
            result = self.run_task(name)
            results.append(result)
            report(result)
            if result.status != "ok":
                break
        self.write_summary(results)
        return results

    def run_task(self, name: str) -> TaskResult:
        """Runs one task of any supported kind, timing it; failures become a result."""
        executor = self.job.executor(name)
        kind = next(k for k in ("container", "resolver", "importer") if k in executor)
        directory = self.task_dir(name)
        os.makedirs(directory, exist_ok=True)
        start = time.monotonic()
        try:
            outputs = getattr(self, f"_run_{kind}")(name, executor[kind], directory)
        except TaskFailed as failure:
            seconds = time.monotonic() - start
            return TaskResult(name, kind, seconds, "failed", directory, failure.cause)
        self.artifacts[name] = outputs
        seconds = time.monotonic() - start
        return TaskResult(name, kind, seconds, "ok", directory, note=self.notes.get(name, ""))

    # ----------------------------------------------------------------- inputs

    def input_artifacts(self, name: str) -> dict[str, list[dict[str, Any]]]:
        """The task's input artifacts, from the outputs of the tasks that produced them."""
        inputs = {}
        for key, spec in self.job.tasks[name].get("inputs", {}).get("artifacts", {}).items():
            source = spec["taskOutputArtifact"]  # the only kind check_supported lets through
            produced = self.artifacts[source["producerTask"]]
            inputs[key] = produced.get(source["outputArtifactKey"], [])
        return inputs

    def input_parameters(self, name: str) -> dict[str, Any]:
        """parameterValues of the task (spec 2.1): constants, run parameters, task outputs."""
        values = {}
        for key, spec in self.job.tasks[name].get("inputs", {}).get("parameters", {}).items():
            if "runtimeValue" in spec:
                values[key] = self.paths.value(spec["runtimeValue"]["constant"])
            elif "componentInputParameter" in spec:
                values[key] = self.parameters[spec["componentInputParameter"]]
            elif "taskOutputParameter" in spec:
                source = spec["taskOutputParameter"]
                produced = self.output_parameters.get(source["producerTask"], {})
                values[key] = produced[source["outputParameterKey"]]
            else:
                raise LocalRunError(f"task {name}, parameter {key}: {sorted(spec)} not supported")
        return values

    def new_outputs(self, name: str) -> dict[str, list[dict[str, Any]]]:
        """One named, typed artifact per output, in a folder of the task's directory."""
        definitions = self.job.component(name).get("outputDefinitions", {}).get("artifacts", {})
        return {
            key: [
                {
                    "name": f"{self.run_id}/{name}/{key}",
                    "uri": os.path.join(self.task_dir(name), key),
                    "type": definition["artifactType"],
                    "metadata": {},
                }
            ]
            for key, definition in definitions.items()
        }

    # ----------------------------------------------------------------- containers

    def _run_container(
        self, name: str, container: dict[str, Any], directory: str
    ) -> dict[str, list[dict[str, Any]]]:
        """The preCacheCheck driver if any, then the cache, then the executor, as Vertex
        runs them."""
        output_file = os.path.join(directory, "executor_output.json")
        executor_input = self.executor_input(name, output_file)
        log = os.path.join(directory, "log.txt")
        driver_output = {}
        pre_cache_check = container.get("lifecycle", {}).get("preCacheCheck")
        if pre_cache_check:
            self._write_json(os.path.join(directory, "pre_cache_check_input.json"), executor_input)
            self._execute(pre_cache_check, executor_input, log)
            driver_output = self._read_json(output_file)
            os.replace(output_file, os.path.join(directory, "pre_cache_check_output.json"))
            # The executor reads the driver's parameters (span, fingerprint) from the same
            # file, and its output artifacts start from the driver's metadata.
            self._write_json(output_file, driver_output)
            _merge_metadata(executor_input["outputs"]["artifacts"], driver_output)
        self._write_json(os.path.join(directory, "executor_input.json"), executor_input)

        fingerprint = cache_key(self.job, name, executor_input, driver_output)
        earlier = self.cached_execution(name, fingerprint)
        if earlier:
            return self._reuse(name, earlier, output_file, log)
        self._execute(container, executor_input, log)
        executor_output = self._read_json(output_file) if os.path.exists(output_file) else {}
        _merge_metadata(executor_input["outputs"]["artifacts"], executor_output)
        outputs = {
            key: listed["artifacts"]
            for key, listed in executor_input["outputs"]["artifacts"].items()
        }
        self.output_parameters[name] = executor_output.get("parameterValues", {})
        self._register(name, outputs)
        self.executions.add(
            {
                "cache_key": fingerprint,
                "pipeline": self.job.pipeline_name,
                "run": self.run_id,
                "task": name,
                "outputs": outputs,
                "output_parameters": self.output_parameters[name],
            }
        )
        return outputs

    def cached_execution(self, name: str, key: str) -> dict[str, Any] | None:
        """The latest execution with this cache key, when the task may be served from it."""
        task_allows = self.job.tasks[name].get("cachingOptions", {}).get("enableCache", False)
        if not (self.use_cache and task_allows):
            return None
        hits = [
            execution
            for execution in self.executions.records()
            if execution["cache_key"] == key and execution["pipeline"] == self.job.pipeline_name
        ]
        return hits[-1] if hits else None

    def _reuse(
        self, name: str, execution: dict[str, Any], output_file: str, log: str
    ) -> dict[str, list[dict[str, Any]]]:
        """A cache hit: the earlier execution's artifacts become this task's outputs."""
        outputs = execution["outputs"]
        self.output_parameters[name] = execution["output_parameters"]
        self._write_json(
            output_file,
            {
                "artifacts": {k: {"artifacts": v} for k, v in outputs.items()},
                "cachedFrom": {"run": execution["run"], "task": execution["task"]},
            },
        )
        with open(log, "a") as handle:
            handle.write(f"cache hit: the outputs of task {name} of run {execution['run']}\n")
        self.notes[name] = f"cached from {execution['run']}"
        return outputs

    def executor_input(self, name: str, output_file: str) -> dict[str, Any]:
        """What ``{{$}}`` stands for: inputs with their parameters and artifacts, and new
        named, typed output artifacts."""
        return {
            "inputs": {
                "parameterValues": self.input_parameters(name),
                "artifacts": {
                    key: {"artifacts": artifacts}
                    for key, artifacts in self.input_artifacts(name).items()
                },
            },
            "outputs": {
                "artifacts": {
                    key: {"artifacts": artifacts}
                    for key, artifacts in self.new_outputs(name).items()
                },
                "outputFile": output_file,
            },
        }

    def command(self, spec: dict[str, Any], executor_input: dict[str, Any]) -> list[str]:
        """The container's command line for this machine: this interpreter for ``python``,
        the ExecutorInput for ``{{$}}``, local paths for image and cloud paths."""
        command = [sys.executable if c in ("python", "python3") else c for c in spec["command"]]
        serialized = json.dumps(executor_input)
        args = [
            serialized if arg == EXECUTOR_INPUT_PLACEHOLDER else self.paths.text(arg)
            for arg in spec.get("args", [])
        ]
        return command + args

    def _execute(self, spec: dict[str, Any], executor_input: dict[str, Any], log: str) -> None:
        """Runs a command in a scratch folder (so imports come from PYTHONPATH, as in the
        image), its output appended to the task's log."""
        command = self.command(spec, executor_input)
        with open(log, "a") as handle, tempfile.TemporaryDirectory(prefix="local-run-") as cwd:
            handle.write(f"$ {shlex.join(command[:3])} ...\n")
            handle.flush()
            try:
                completed = subprocess.run(
                    command, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd, env=self.environment
                )
            except OSError as error:  # e.g. an argument over the kernel's size limit
                handle.write(f"could not start: {error}\n")
                raise TaskFailed(f"could not start: {error}") from None
        if completed.returncode != 0:
            raise TaskFailed(_cause(log) or f"exit status {completed.returncode}")

    def _register(self, name: str, outputs: dict[str, list[dict[str, Any]]]) -> None:
        for key, artifacts in outputs.items():
            for artifact in artifacts:
                self.registry.add(
                    {
                        **artifact,
                        "schema_title": schema_title(artifact["type"]),
                        "state": "LIVE",
                        "pipeline": self.job.pipeline_name,
                        "run": self.run_id,
                        "task": name,
                        "output": key,
                    }
                )

    # ----------------------------------------------------------------- resolvers, importers

    def _run_resolver(
        self, name: str, resolver: dict[str, Any], directory: str
    ) -> dict[str, list[dict[str, Any]]]:
        """Each output is the latest registered artifact that matches its query (or none)."""
        inputs = self.input_artifacts(name)
        queries, outputs = {}, {}
        for key, query in resolver.get("outputArtifactQueries", {}).items():
            text = fill_metadata_placeholders(query["filter"], inputs)
            queries[key] = text
            found = (
                []
                if text is None
                else self.registry.query(self.job.pipeline_name, parse_filter(text))
            )
            outputs[key] = [runtime_artifact(found[-1])] if found else []
        self._write_json(
            os.path.join(directory, "executor_input.json"),
            {
                "inputs": {"artifacts": {k: {"artifacts": v} for k, v in inputs.items()}},
                "queries": queries,
            },
        )
        self._write_json(
            os.path.join(directory, "executor_output.json"),
            {"artifacts": {k: {"artifacts": v} for k, v in outputs.items()}},
        )
        with open(os.path.join(directory, "log.txt"), "w") as handle:
            for key, text in queries.items():
                found = [a["name"] for a in outputs[key]]
                handle.write(f"{key}: {text}\n  -> {found[0] if found else 'nothing found'}\n")
        return outputs

    def _run_importer(
        self, name: str, importer: dict[str, Any], directory: str
    ) -> dict[str, list[dict[str, Any]]]:
        """Registers the file at the importer's URI (or reuses its earlier record unless
        ``reimport``)."""
        source = importer["artifactUri"]
        if "runtimeParameter" in source:
            uri = self.input_parameters(name)[source["runtimeParameter"]]
        elif "constant" in source:
            uri = self.paths.value(source["constant"])
        else:
            raise LocalRunError(f"task {name}: importer URI {source} not supported")
        artifact_type = importer["typeSchema"]
        (key,) = self.job.component(name)["outputDefinitions"]["artifacts"]
        earlier = self.registry.query(
            self.job.pipeline_name,
            [("schema_title", "", schema_title(artifact_type))],
        )
        earlier = [record for record in earlier if record["uri"] == uri]
        if earlier and not importer.get("reimport"):
            outputs = {key: [runtime_artifact(earlier[-1])]}
        else:
            artifact = {
                "name": f"{self.run_id}/{name}/{key}",
                "uri": uri,
                "type": artifact_type,
                "metadata": dict(importer.get("metadata", {})),
            }
            outputs = {key: [artifact]}
            self._register(name, outputs)
        self._write_json(os.path.join(directory, "executor_input.json"), {"importer": importer})
        self._write_json(
            os.path.join(directory, "executor_output.json"),
            {"artifacts": {key: {"artifacts": outputs[key]}}},
        )
        with open(os.path.join(directory, "log.txt"), "w") as handle:
            handle.write(f"{key}: {uri} -> {outputs[key][0]['name']}\n")
        return outputs

    # ----------------------------------------------------------------- files

    @staticmethod
    def _write_json(path: str, content: Any) -> None:
        with open(path, "w") as handle:
            json.dump(content, handle, indent=1)

    @staticmethod
    def _read_json(path: str) -> dict[str, Any]:
        with open(path) as handle:
            return json.load(handle)

    def write_summary(self, results: list[TaskResult]) -> None:
        """run.json: what ran, how long, how it ended (tests and people read it)."""
        self._write_json(
            os.path.join(self.run_dir, "run.json"),
            {
                "run_id": self.run_id,
                "pipeline": self.job.pipeline_name,
                "parameters": self.parameters,
                "tasks": [dataclasses.asdict(r) for r in results],
            },
        )


def cache_key(
    job: Job, name: str, executor_input: dict[str, Any], driver_output: dict[str, Any]
) -> str:
    """What makes two executions interchangeable, after KFP v2's recipe: the input artifacts'
    names, the parameters (with the preCacheCheck's span and fingerprint, which is what that
    hook is for), the output types, and the container's image, command and arguments."""
    container = job.executor(name)["container"]
    material = {
        "inputArtifactNames": {
            key: [artifact["name"] for artifact in listed["artifacts"]]
            for key, listed in executor_input["inputs"]["artifacts"].items()
        },
        "inputParameterValues": {
            **executor_input["inputs"]["parameterValues"],
            **driver_output.get("parameterValues", {}),
        },
        "outputDefinitions": job.component(name).get("outputDefinitions", {}),
        "container": {key: container.get(key) for key in ("image", "command", "args")},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _merge_metadata(
    artifacts: dict[str, dict[str, list[dict[str, Any]]]], output: dict[str, Any]
) -> None:
    """Copies an ExecutorOutput's artifact metadata (and URIs) onto the task's typed output
    artifacts: the container writes neither their type nor, always, their name."""
    for key, listed in output.get("artifacts", {}).items():
        targets = artifacts.get(key, {}).get("artifacts", [])
        for target, written in zip(targets, listed["artifacts"], strict=False):
            target["metadata"].update(written.get("metadata", {}))
            target["uri"] = written.get("uri") or target["uri"]


def fill_metadata_placeholders(text: str, inputs: dict[str, list[dict[str, Any]]]) -> str | None:
    """The filter with its input-metadata placeholders filled; None when an input is empty
    or lacks the key (the query then finds nothing, as on Vertex)."""
    missing = False

    def fill(match: re.Match) -> str:
        nonlocal missing
        artifacts = inputs.get(match.group(1), [])
        value = artifacts[0].get("metadata", {}).get(match.group(2)) if artifacts else None
        if value is None:
            missing = True
            return ""
        return str(value)

    filled = INPUT_METADATA_PLACEHOLDER.sub(fill, text)
    return None if missing else filled


def _cause(log: str) -> str:
    """The last exception line of a log: what a person wants to read first."""
    with open(log, errors="replace") as handle:
        lines = handle.read().splitlines()
    for line in reversed(lines):
        match = EXCEPTION_LINE.match(line.strip())
        if match:
            return line.strip()[:300]
    return ""


# --------------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", required=True, help="the compiled PipelineJob JSON")
    parser.add_argument(
        "--pipeline-root",
        required=True,
        help="a local folder: artifacts, logs and the artifact registry go under it",
    )
    parser.add_argument(
        "--data-dir", help="value of the data_dir run parameter (default: the compiled one)"
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any run parameter (repeatable)",
    )
    parser.add_argument("--run-id", help="default: PIPELINE-NAME-YYYYMMDD-HHMMSS")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="run every task again (default: as compiled, a task whose inputs, parameters "
        "and command match an earlier run's reuses its outputs, as on Vertex)",
    )
    return parser.parse_args(argv)


def _local_path(path: str) -> str:
    """Absolute: tasks run in a scratch folder, not where the launcher was started."""
    return path if "://" in path else os.path.abspath(path)


def run_parameters(job: Job, args: argparse.Namespace) -> dict[str, Any]:
    """The compiled defaults overridden by --data-dir and --parameter, typed as declared."""
    given = dict(item.partition("=")[::2] for item in args.parameter)
    if args.data_dir:
        given["data_dir"] = _local_path(args.data_dir)
    unknown = sorted(set(given) - set(job.parameter_types))
    if unknown:
        raise LocalRunError(
            f"the job has no run parameter {unknown}; it has {sorted(job.parameter_types)}"
        )
    values = {**job.parameter_defaults}
    for name, text in given.items():
        kind = job.parameter_types[name]
        try:
            values[name] = (
                float(text)
                if kind in ("NUMBER_DOUBLE", "NUMBER_INTEGER")
                else text.lower() == "true"
                if kind == "BOOLEAN"
                else text
            )
        except ValueError:
            raise LocalRunError(f"run parameter {name} must be a number, got {text!r}") from None
    missing = sorted(set(job.parameter_types) - set(values))
    if missing:
        raise LocalRunError(f"run parameters without a value: {missing} (use --parameter)")
    return values


def new_run_id(pipeline_root: str, pipeline_name: str) -> str:
    """A fresh id like Vertex's job ids (name and time), unique under this root."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = candidate = f"{pipeline_name}-{stamp}"
    suffix = 1
    while os.path.exists(os.path.join(pipeline_root, LOCAL_RUN_DIR, candidate)):
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def prepare(argv: list[str] | None) -> LocalRun:
    """Everything that can go wrong before a task runs."""
    args = parse_args(argv)
    job = load_job(args.package)
    check_supported(job)
    task_order(job.tasks)
    if "://" in args.pipeline_root:
        raise LocalRunError("--pipeline-root must be a local folder")
    root = os.path.abspath(args.pipeline_root)
    run_id = args.run_id or new_run_id(root, job.pipeline_name)
    if os.path.exists(os.path.join(root, LOCAL_RUN_DIR, run_id)):
        raise LocalRunError(f"run {run_id} already exists under {root}")
    return LocalRun(job, root, run_parameters(job, args), run_id, use_cache=not args.no_cache)


def _print_result(width: int) -> Callable[[TaskResult], None]:
    """One aligned line per task as it ends: name, duration, ok or why it failed."""

    def report(result: TaskResult) -> None:
        if result.status == "ok":
            status = f"ok ({result.note})" if result.note else "ok"
        else:
            status = f"failed: {result.cause or 'see its log'}"
        print(f"{result.name:<{width}}  {result.seconds:6.1f} s  {status}", flush=True)

    return report


def main(argv: list[str] | None = None) -> int:
    try:
        run = prepare(argv)
    except (LocalRunError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    width = max(len(name) for name in run.job.tasks)
    print(f"run {run.run_id}: {len(run.job.tasks)} tasks, files in {run.run_dir}", flush=True)
    start = time.monotonic()
    try:
        results = run.run(_print_result(width))
    except LocalRunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = [r for r in results if r.status != "ok"]
    if failed:
        log = os.path.join(failed[0].directory, "log.txt")
        print(f"error: task {failed[0].name} failed; log: {log}", file=sys.stderr)
        return 2
    print(f"run {run.run_id}: {len(results)} tasks ok in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
