"""One run of a job: its tasks executed in order (containers, resolvers, importers), their
artifacts recorded in the registry and their executions in the cache."""

from __future__ import annotations

import dataclasses
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

from kubeflow.local_run.cache import EXECUTIONS_FILE, Executions, cache_key
from kubeflow.local_run.errors import LocalRunError, TaskFailed
from kubeflow.local_run.graph import EXECUTOR_INPUT_PLACEHOLDER, Job, task_order
from kubeflow.local_run.paths import REPO_ROOT, PathMapper, image_settings, task_environment
from kubeflow.local_run.registry import (
    LOCAL_RUN_DIR,
    REGISTRY_FILE,
    Registry,
    fill_metadata_placeholders,
    parse_filter,
    runtime_artifact,
    schema_title,
)

EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)): ?(.*)$")


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
        self.root = pipeline_root
        self.run_id = run_id
        self.use_cache = use_cache
        self.run_dir = os.path.join(pipeline_root, LOCAL_RUN_DIR, run_id)
        self.registry = Registry(os.path.join(pipeline_root, LOCAL_RUN_DIR, REGISTRY_FILE))
        self.executions = Executions(os.path.join(pipeline_root, LOCAL_RUN_DIR, EXECUTIONS_FILE))
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
        return self.executions.latest(self.job.pipeline_name, key)

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


def _cause(log: str) -> str:
    """The last exception line of a log: what a person wants to read first."""
    with open(log, errors="replace") as handle:
        lines = handle.read().splitlines()
    for line in reversed(lines):
        match = EXCEPTION_LINE.match(line.strip())
        if match:
            return line.strip()[:300]
    return ""
