"""Training past one process: the strategy chosen from TF_CONFIG, and real two-worker runs
(two processes on 127.0.0.1 talking through TensorFlow's gRPC collective ops) of the
Trainer on the shared pipeline run's Transform output, launched as Vertex AI Training would
launch them (components.model.cloud_trainer, components.model.workers)."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time

import pytest
import tensorflow as tf
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import json_utils, path_utils

from components import names
from components.model import cloud_trainer, distribution, workers
from components.model.callbacks import read_training_log
from pipeline import local_runner, options
from tests import pipeline_runs

# A bound for one two-worker run on the tiny data (process start, TFX imports, 20 steps,
# the evaluation, the export): far above its usual time, far below a hang.
RUN_BOUND_S = 240
# After a replica is killed, the launcher must have stopped the other and reported by then.
KILL_BOUND_S = 30
STEP_LINE = re.compile(r"\[replica (\w+ \d)\] epoch (\d+): (\d+) steps .* eval (\S+) ([\d.]+)")


# --------------------------------------------------------------------------- fast


def cluster(chief: int, workers_: int, task_type: str, index: int = 0) -> str:
    addresses = iter(f"127.0.0.1:{port}" for port in range(2222, 2300))
    spec = {}
    if chief:
        spec["chief"] = [next(addresses)]
    if workers_:
        spec["worker"] = [next(addresses) for _ in range(workers_)]
    return json.dumps({"cluster": spec, "task": {"type": task_type, "index": index}})


@pytest.mark.parametrize(
    ("tf_config", "gpus", "kind", "chief"),
    [
        (None, 0, distribution.DEFAULT, True),
        (None, 1, distribution.DEFAULT, True),
        (None, 4, distribution.MIRRORED, True),
        # One task is no cluster: a single Vertex replica trains as one process.
        (cluster(1, 0, "chief"), 0, distribution.DEFAULT, True),
        (cluster(1, 1, "chief"), 0, distribution.MULTI_WORKER, True),
        (cluster(1, 1, "worker"), 0, distribution.MULTI_WORKER, False),
        (cluster(1, 3, "worker", 2), 8, distribution.MULTI_WORKER, False),
        # Without a chief task, worker 0 is the chief.
        (cluster(0, 2, "worker", 0), 0, distribution.MULTI_WORKER, True),
        (cluster(0, 2, "worker", 1), 0, distribution.MULTI_WORKER, False),
    ],
)
def test_strategy_follows_tf_config_and_gpus(tf_config, gpus, kind, chief):
    task = distribution.task_from(tf_config, gpus)
    assert (task.kind, task.is_chief) == (kind, chief)


def test_parameter_server_tasks_are_refused():
    config = json.loads(cluster(1, 1, "chief"))
    config["cluster"]["ps"] = ["127.0.0.1:2999"]
    config["task"] = {"type": "ps", "index": 0}
    with pytest.raises(ValueError, match="chief and worker tasks only"):
        distribution.task_from(json.dumps(config), 0)


def test_replicas_get_the_tf_config_vertex_sets():
    chief, worker, other = workers.environments(3)
    chief_config = json.loads(chief["TF_CONFIG"])
    assert chief_config["task"]["type"] == "chief"
    assert len(chief_config["cluster"]["chief"]) == 1
    assert len(chief_config["cluster"]["worker"]) == 2
    assert json.loads(other["TF_CONFIG"])["task"] == {"type": "worker", "index": 1, "trial": ""}
    # CLUSTER_SPEC names the same addresses by worker pool.
    pools = json.loads(worker["CLUSTER_SPEC"])
    assert pools["cluster"]["workerpool1"] == chief_config["cluster"]["worker"]
    assert pools["task"]["type"] == "workerpool1"
    assert distribution.task_from(worker["TF_CONFIG"], 0).kind == distribution.MULTI_WORKER


def test_worker_pools_put_the_chief_first_on_the_same_image():
    pools = cloud_trainer.worker_pool_specs("IMAGE", 3, "n1-standard-8", ("NVIDIA_TESLA_T4", 1))
    assert [p["replica_count"] for p in pools] == [1, 2]
    assert {p["container_spec"]["image_uri"] for p in pools} == {"IMAGE"}
    assert pools[0]["machine_spec"] == {
        "machine_type": "n1-standard-8",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 1,
    }
    assert cloud_trainer.replica_count({"job_spec": {"worker_pool_specs": pools}}) == 3


# --------------------------------------------------------------------------- slow


def trainer_io(pipeline_run, tmp_path, *hparams: str):
    """The Trainer's inputs (the shared run's Transform output), fresh outputs under
    ``tmp_path`` and its properties for two local replicas, with ``hparams`` added."""

    def artifact(kind, type_name, producer):
        found = kind()
        found.set_mlmd_artifact(
            pipeline_runs.latest_artifact(pipeline_run.output_dir, type_name, producer)
        )
        return found

    inputs = {
        standard_component_specs.EXAMPLES_KEY: [
            artifact(standard_artifacts.Examples, "Examples", "Transform")
        ],
        standard_component_specs.TRANSFORM_GRAPH_KEY: [
            artifact(standard_artifacts.TransformGraph, "TransformGraph", "Transform")
        ],
        standard_component_specs.SCHEMA_KEY: [
            artifact(standard_artifacts.Schema, "Schema", "ImportSchemaGen")
        ],
    }
    model, model_run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    # TFX's layout: COMPONENT/OUTPUT/EXECUTION.
    model.uri = str(tmp_path / "Trainer" / "model" / "1")
    model_run.uri = str(tmp_path / "Trainer" / "model_run" / "1")
    outputs = {
        standard_component_specs.MODEL_KEY: [model],
        standard_component_specs.MODEL_RUN_KEY: [model_run],
    }
    args = local_runner.parse_args(
        ["--data-dir", pipeline_run.data_dir, "--output-dir", str(tmp_path), *pipeline_run.args]
        + [part for item in hparams for part in ("--hparam", item)]
    )
    settings = options.settings(args)
    custom = {
        names.INPUT_CONFIG_KEY: settings.input_config_text,
        names.HPARAMS_KEY: settings.hparams.to_dict(),
        names.GATE_K_KEY: settings.gate.gate_k,
        **local_runner.local_workers(2),
    }
    properties = {
        standard_component_specs.CUSTOM_CONFIG_KEY: json_utils.dumps(custom),
        standard_component_specs.RUN_FN_KEY: "components.model.trainer.run_fn",
        standard_component_specs.TRAIN_ARGS_KEY: "{}",
        standard_component_specs.EVAL_ARGS_KEY: "{}",
    }
    return inputs, outputs, properties


def read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def step_lines(log_dir: str) -> dict[str, list[tuple[str, ...]]]:
    found = {}
    for name in ("chief-0", "worker-0"):
        with open(os.path.join(log_dir, f"{name}.log")) as handle:
            found[name] = [m.groups()[1:] for m in map(STEP_LINE.search, handle) if m]
    return found


@pytest.mark.slow
@pytest.mark.integration
def test_two_workers_agree_and_only_the_chief_exports(pipeline_run, tmp_path):
    inputs, outputs, properties = trainer_io(pipeline_run, tmp_path, "epochs=2", "train_steps=20")
    started = time.monotonic()
    cloud_trainer.Executor().Do(inputs, outputs, properties)
    assert time.monotonic() - started < RUN_BOUND_S

    model_run = outputs[standard_component_specs.MODEL_RUN_KEY][0].uri
    logs = os.path.join(tmp_path, "Trainer", cloud_trainer.REPLICA_LOGS, "1")
    lines = step_lines(logs)
    # Each worker took the same steps and computed the same eval figure every epoch.
    assert len(lines["chief-0"]) == 2
    assert lines["chief-0"] == lines["worker-0"]
    assert [int(steps) for _, steps, _, _ in lines["chief-0"]] == [10, 10]

    log = read_training_log(model_run)
    assert log["epochs_trained"] == 2
    assert [round(e[log["monitor"]], 4) for e in log["epochs"]] == [
        float(value) for *_, value in lines["chief-0"]
    ]
    model = outputs[standard_component_specs.MODEL_KEY][0]
    serving = path_utils.serving_model_dir(model.uri)
    assert os.path.isfile(os.path.join(serving, "saved_model.pb"))
    # The started record reached the pipeline's Model artifact (cloud_trainer copies it).
    assert model.get_string_custom_property("started_from") == "scratch"


@pytest.mark.slow
@pytest.mark.integration
def test_a_killed_worker_ends_the_run_with_one_line(pipeline_run, tmp_path):
    # Enough steps that training is still running when the worker is killed.
    inputs, outputs, properties = trainer_io(
        pipeline_run, tmp_path, "epochs=1", "train_steps=100000"
    )
    command = cloud_trainer.replica_command(inputs, outputs, properties)
    log_dir = str(tmp_path / "logs")
    killed_at: list[float] = []

    def kill_when_training(name: str, pid: int) -> None:
        if name != "worker 0":
            return

        def kill() -> None:
            log = os.path.join(log_dir, "worker-0.log")
            deadline = time.monotonic() + RUN_BOUND_S
            while time.monotonic() < deadline:
                if os.path.exists(log) and "Training starts" in read(log):
                    time.sleep(3)  # into the first epoch's steps
                    killed_at.append(time.monotonic())
                    os.kill(pid, signal.SIGKILL)
                    return
                time.sleep(0.5)

        threading.Thread(target=kill, daemon=True).start()

    with pytest.raises(workers.ReplicasFailed) as failed:
        workers.run(command, 2, log_dir, on_start=kill_when_training, timeout_s=RUN_BOUND_S)
    assert killed_at, "the worker never started training"
    assert time.monotonic() - killed_at[0] < KILL_BOUND_S
    message = str(failed.value)
    assert "\n" not in message
    assert "worker 0 of 2 was killed by SIGKILL" in message
    assert "stopped the other 1" in message


def test_only_the_chief_writes_where_it_is_told(tmp_path):
    chief = distribution.task_from(cluster(1, 1, "chief"), 0)
    worker = distribution.task_from(cluster(1, 1, "worker"), 0)
    with distribution.write_dir(chief, str(tmp_path)) as folder:
        assert folder == str(tmp_path)
    with distribution.write_dir(worker, str(tmp_path)) as folder:
        assert folder != str(tmp_path) and os.path.isdir(folder)
    assert not os.path.exists(folder)  # the worker's copy is removed
    # One process: no collective, the flag as it is.
    assert distribution.agreed(tf.distribute.get_strategy(), True) is True


def test_local_run_asks_the_trainer_for_a_local_launch():
    from kubeflow.local_run import paths as local_paths

    assert local_paths.TRAINING_LAUNCHER_ENV == cloud_trainer.LAUNCHER_ENV
    environment = local_paths.task_environment("/pipeline", {})
    assert environment[cloud_trainer.LAUNCHER_ENV] == cloud_trainer.LOCAL
