"""The Trainer on Vertex AI Training, through TFX's Google Cloud extension.

``training_job_args`` builds the extension's ``ai_platform_training_args`` (a Vertex
CustomJob spec: one worker pool for the chief, one for the other workers, each on the
pipeline's own image and the machine and accelerators asked for); ``Executor`` is the
extension's executor whose replicas run this project's Trainer executor
(components.model.trainer_executor: run_fn, and the record of how the model started).

Launch ``local`` (``LAUNCHER_KEY`` in the custom config, or the ``LAUNCHER_ENV`` variable,
which ``kubeflow.local_run`` sets): where the extension would create the CustomJob through
Vertex's API, the replicas run here as processes, each with the TF_CONFIG Vertex would give
it (components.model.workers). The container command is the one the extension builds for
Vertex, so what runs is what Vertex would run.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from typing import Any

from tfx.extensions.google_cloud_ai_platform import constants, training_clients
from tfx.extensions.google_cloud_ai_platform.trainer import executor as cloud_executor
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import json_utils, name_utils

from components.model import trainer_executor, workers

TRAINING_ARGS_KEY = cloud_executor.TRAINING_ARGS_KEY
LAUNCHER_KEY = "recs_training_launcher"
LAUNCHER_ENV = "RECS_TRAINING_LAUNCHER"
LOCAL = "local"
# Where a local launch keeps the replicas' logs: COMPONENT_DIR/replica_logs/EXECUTION.
REPLICA_LOGS = "replica_logs"


def worker_pool_specs(
    image: str, replicas: int, machine_type: str, accelerator: tuple[str, int] | None
) -> list[dict[str, Any]]:
    """Vertex worker pools: pool 0 the chief (one replica), pool 1 the other workers. The
    extension sets each pool's container command; the image is the pipeline's."""
    machine: dict[str, Any] = {"machine_type": machine_type}
    if accelerator:
        machine["accelerator_type"], machine["accelerator_count"] = accelerator
    pool = {"machine_spec": machine, "container_spec": {"image_uri": image}}
    pools = [{**pool, "replica_count": 1}]
    if replicas > 1:
        pools.append({**pool, "replica_count": replicas - 1})
    return pools


def custom_config(
    *,
    image: str,
    project: str,
    region: str,
    replicas: int,
    machine_type: str,
    accelerator: tuple[str, int] | None = None,
    launcher: str | None = None,
) -> dict[str, Any]:
    """The keys the extension's executor reads from the Trainer's custom config."""
    config: dict[str, Any] = {
        constants.ENABLE_VERTEX_KEY: True,
        constants.VERTEX_REGION_KEY: region,
        TRAINING_ARGS_KEY: {
            "project": project,
            "job_spec": {
                "worker_pool_specs": worker_pool_specs(image, replicas, machine_type, accelerator)
            },
        },
    }
    if launcher:
        config[LAUNCHER_KEY] = launcher
    return config


def replica_count(job_args: dict[str, Any]) -> int:
    spec = job_args.get("job_spec", job_args)
    return sum(int(pool.get("replica_count", 1)) for pool in spec.get("worker_pool_specs", []))


class Executor(cloud_executor.GenericExecutor):
    """The extension's Vertex executor; its replicas run our Trainer executor."""

    def _GetExecutorClass(self):
        return trainer_executor.Executor

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        key = standard_component_specs.CUSTOM_CONFIG_KEY
        custom = json_utils.loads(exec_properties.get(key) or "null") or {}
        launcher = os.environ.get(LAUNCHER_ENV) or custom.get(LAUNCHER_KEY)
        if launcher == LOCAL:
            self._run_locally(input_dict, output_dict, exec_properties, custom)
        else:
            super().Do(input_dict, output_dict, exec_properties)
        # The replicas recorded how the model started in its folder; the pipeline's Model
        # artifact is this task's, so the record is copied onto it here.
        trainer_executor.record_start(output_dict)

    def _run_locally(self, input_dict, output_dict, exec_properties, custom) -> None:
        count = replica_count(custom.get(TRAINING_ARGS_KEY) or {})
        command = replica_command(
            input_dict, output_dict, exec_properties, self._GetExecutorClass()
        )
        model_run = artifact_utils.get_single_uri(
            output_dict[standard_component_specs.MODEL_RUN_KEY]
        )
        # Beside the component's outputs, not in them: TFX deletes a failed execution's
        # outputs, and a failed run's message points at these logs.
        component_dir = os.path.dirname(os.path.dirname(model_run.rstrip("/")))
        log_dir = os.path.join(component_dir, REPLICA_LOGS, os.path.basename(model_run))
        if "://" in log_dir:  # the logs are local files whatever the artifact store
            log_dir = tempfile.mkdtemp(prefix="replica-logs-")
        logging.info("Vertex AI Training, launched locally: %d replicas", count)
        seconds = workers.run(command, count, log_dir)
        logging.info("Replicas ended after %s s", seconds)


def replica_command(input_dict, output_dict, exec_properties, executor_class=None) -> list[str]:
    """The command the extension gives every worker pool on Vertex (TFX's run_executor with
    the Trainer's artifacts and properties), with this interpreter for the image's python."""
    command = training_clients.AbstractJobClient.generate_container_command(
        None,  # uses no client state
        input_dict,
        output_dict,
        exec_properties,
        name_utils.get_full_name(executor_class or trainer_executor.Executor),
    )
    return [sys.executable, *command[1:]]
