"""This machine instead of the image and the cloud: paths rewritten, the image's
environment read from its Dockerfile."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from typing import Any

from kubeflow.local_run.errors import LocalRunError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKERFILE = os.path.join(REPO_ROOT, "kubeflow", "Dockerfile")
# components.model.cloud_trainer.LAUNCHER_ENV (not imported: this tool loads no TensorFlow).
TRAINING_LAUNCHER_ENV = "RECS_TRAINING_LAUNCHER"


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
