"""Training past one process: which tf.distribute strategy the Trainer runs under, and the
rules every worker of a cluster must follow so that they stay in step.

The strategy follows the environment, as Vertex AI Training sets it for each replica:
``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a cluster of more than one task,
``MirroredStrategy`` on a machine with several GPUs, TensorFlow's default strategy
otherwise (one CPU process: the path every other run takes, unchanged).

Rules for a cluster (synchronous data parallelism: every step all-reduces the gradients):
- every worker takes the same decisions: the per-epoch eval figure is computed by each on
  the whole eval split (deterministic, same weights), and a decision taken from a local
  clock (the time budget) is agreed by an all-reduce (``agreed``), or workers would stop
  at different steps and the others wait on a collective forever;
- only the chief keeps what it writes: the others write the training log to a temporary
  folder that is then removed (``write_dir``), as TensorFlow's multi-worker guide asks, and
  the model only on the chief (``exportable``: a plain copy, whose save needs no peer);
- the datasets are sharded by data (``shard_by_data``): every worker reads every file and
  keeps its share of each global batch, so any number of files works.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import tensorflow as tf

keras = tf.keras

DEFAULT, MIRRORED, MULTI_WORKER = "default", "mirrored", "multi_worker"
# Task types that train (Vertex: workerpool0 is the chief, workerpool1 the workers);
# parameter servers and evaluators do not run MultiWorkerMirroredStrategy's collectives.
TRAINING_TASKS = ("chief", "worker")
# A collective that waits longer than this for a peer fails instead of hanging: a bound for
# clusters whose launcher does not watch its replicas. Both workers evaluate, export and read
# data at the same time, so no legitimate wait comes near it.
COLLECTIVE_TIMEOUT_ENV = "RECS_COLLECTIVE_TIMEOUT_S"
DEFAULT_COLLECTIVE_TIMEOUT_S = 600
# Lines a replica prints for its launcher to echo (components.model.workers).
REPLICA_LINE_PREFIX = "[replica "


@dataclasses.dataclass(frozen=True)
class Task:
    """This process's place in the cluster that TF_CONFIG describes."""

    kind: str  # DEFAULT, MIRRORED or MULTI_WORKER
    task_type: str = "chief"
    task_index: int = 0
    workers: int = 1  # training tasks in the cluster

    @property
    def is_chief(self) -> bool:
        return is_chief(self.task_type, self.task_index, self.workers, self.has_chief)

    has_chief: bool = True

    @property
    def name(self) -> str:
        return f"{self.task_type} {self.task_index}"


def is_chief(task_type: str, task_index: int, workers: int, has_chief: bool) -> bool:
    """The chief writes: the ``chief`` task, or worker 0 of a cluster without one."""
    if workers <= 1:
        return True
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_index == 0)


def task_from(tf_config: str | None, gpus: int) -> Task:
    """The strategy and this process's task for a TF_CONFIG value (None: unset) and a
    number of visible GPUs. Pure, so the choice is unit-tested without a cluster."""
    config = json.loads(tf_config) if tf_config else {}
    cluster = config.get("cluster") or {}
    workers = sum(len(cluster.get(kind) or []) for kind in TRAINING_TASKS)
    task = config.get("task") or {}
    task_type, task_index = task.get("type", "chief"), int(task.get("index", 0))
    if workers > 1:
        if task_type not in TRAINING_TASKS:
            raise ValueError(
                f"TF_CONFIG task type {task_type!r}: this Trainer trains with chief and worker "
                "tasks only (MultiWorkerMirroredStrategy has no parameter servers)"
            )
        return Task(MULTI_WORKER, task_type, task_index, workers, "chief" in cluster)
    return Task(MIRRORED if gpus > 1 else DEFAULT)


def current_task() -> Task:
    gpus = len(tf.config.list_physical_devices("GPU"))
    return task_from(os.environ.get("TF_CONFIG"), gpus)


def strategy_for(task: Task) -> tf.distribute.Strategy:
    """The strategy of ``task``. MultiWorkerMirroredStrategy must be created before
    TensorFlow's runtime runs any op (it configures the collective ops), so run_fn creates
    it first."""
    if task.kind == MULTI_WORKER:
        timeout = float(os.environ.get(COLLECTIVE_TIMEOUT_ENV, DEFAULT_COLLECTIVE_TIMEOUT_S))
        return tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                timeout_seconds=timeout
            )
        )
    if task.kind == MIRRORED:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def strategy_from_environment() -> tuple[tf.distribute.Strategy, Task]:
    task = current_task()
    strategy = strategy_for(task)
    if task.kind != DEFAULT:
        logging.info(
            "Training with %s: %s of %d workers, %d replicas in sync",
            type(strategy).__name__,
            task.name,
            task.workers,
            strategy.num_replicas_in_sync,
        )
    return strategy, task


def distributed(strategy: tf.distribute.Strategy) -> bool:
    return strategy.num_replicas_in_sync > 1


@contextlib.contextmanager
def building(strategy: tf.distribute.Strategy, mixed_precision: bool = False) -> Iterator[None]:
    """Where the model and its optimizer are created: under the strategy's scope (their
    variables become mirrored) and, with ``mixed_precision``, Keras' mixed_bfloat16 policy
    (bfloat16 compute, float32 weights: no loss scaling needed, unlike float16). Layers keep
    the policy they were built with, so the global one is restored on leaving."""
    previous = keras.mixed_precision.global_policy()
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        with strategy.scope():
            yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` sharded by element across workers: each reads every file and keeps its
    share of each global batch (the default, by file, fails with fewer files than workers,
    and Transform writes one file per split on small data). No effect in one process."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def agreed(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """True on every worker when ``flag`` is true on any: a decision from a local clock made
    the same on all workers (one all-reduce; none in one process)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return flag
    value = tf.constant(1.0 if flag else 0.0)
    per_replica = strategy.experimental_distribute_values_from_function(lambda _: value)
    return float(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)) > 0


def finish(strategy: tf.distribute.Strategy) -> None:
    """Waits, in a cluster, until every worker is here (one all-reduce): the workers leave
    together, after the chief's export, rather than one tearing down its end of the
    cluster while a peer still runs (and checks its health)."""
    agreed(strategy, True)


@contextlib.contextmanager
def write_dir(task: Task, folder: str) -> Iterator[str]:
    """Where this worker writes what the chief alone keeps: ``folder`` on the chief, a
    temporary folder elsewhere (removed afterwards). Every worker still does the writing,
    so any collective inside a save runs on all of them."""
    if task.is_chief:
        yield folder
        return
    temporary = tempfile.mkdtemp(prefix=f"recs-{task.task_type}-{task.task_index}-")
    try:
        yield temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def replica_line(task: Task, message: str) -> None:
    """A line for the launcher's console: it echoes the lines with this prefix."""
    print(f"{REPLICA_LINE_PREFIX}{task.name}] {message}", flush=True, file=sys.stdout)


class StepLog(keras.callbacks.Callback):
    """Each worker's optimizer steps per epoch and in all, and the eval figure it computed,
    printed by the worker itself: in synchronous training both must agree on every worker."""

    def __init__(self, task: Task, monitor: str):
        super().__init__()
        self.task = task
        self.monitor = monitor
        self.steps = 0
        self._epoch_steps = 0
        self._start = time.monotonic()

    def on_train_begin(self, logs=None) -> None:
        self._start = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch_steps = 0

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self._epoch_steps += 1
        self.steps += 1

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        value = (logs or {}).get(self.monitor, float("nan"))
        replica_line(
            self.task,
            f"epoch {epoch + 1}: {self._epoch_steps} steps ({self.steps} in all, "
            f"{time.monotonic() - self._start:.0f} s), eval {self.monitor[4:]} {value:.4f}",
        )


def exportable(
    model: keras.Model,
    rebuild: Callable[[], keras.Model],
    strategy: tf.distribute.Strategy,
    mixed_precision: bool = False,
) -> keras.Model:
    """The model to export: ``model`` itself in one float32 process; otherwise a float32
    copy built outside any strategy (``rebuild()`` returns it with its variables created)
    holding the trained weights, so that the SavedModel, the warm-start weights and the
    TFLite conversion see plain float32 variables whatever trained them."""
    if not distributed(strategy) and not mixed_precision:
        return model
    copy = rebuild()
    copy.set_weights(model.get_weights())
    return copy
