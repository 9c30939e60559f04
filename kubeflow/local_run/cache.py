"""Vertex's caching, locally: the key that makes two executions interchangeable, and the
file of successful executions a later run's task with the same key reuses."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubeflow.local_run.graph import Job
from kubeflow.local_run.registry import JsonLines

# Successful executions by cache key: a later run's task with the same key reuses outputs.
EXECUTIONS_FILE = "executions.jsonl"


class Executions(JsonLines):
    """Every successful execution of a pipeline root's local runs, with its cache key."""

    def latest(self, pipeline: str, key: str) -> dict[str, Any] | None:
        """The latest execution of this pipeline with this cache key (None: none)."""
        hits = [
            execution
            for execution in self.records()
            if execution["cache_key"] == key and execution["pipeline"] == pipeline
        ]
        return hits[-1] if hits else None


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
