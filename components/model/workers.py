"""Starts the replicas of a training job as local processes, each with the TF_CONFIG that
Vertex AI Training gives it, and watches them.

Vertex AI Training runs worker pool 0 (one replica: the chief) and worker pool 1 (the other
workers) and sets, in every replica, ``TF_CONFIG`` (cluster ``chief``/``worker``, this
replica's task, ``environment: cloud``) and ``CLUSTER_SPEC`` (the same cluster named by
worker pool). Here every replica listens on 127.0.0.1 on a free port and talks to the others
with TensorFlow's gRPC collective ops, the engine a multi-machine cluster uses; only the
launch is local.

The wait is bounded: when a replica fails (a non-zero exit or a signal), the others are
stopped at once and the run ends with one line naming the replica, how it ended and its log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time

from components import names
from components.model.distribution import REPLICA_LINE_PREFIX

HOST = "127.0.0.1"
# After a replica fails, how long the others get to end on SIGTERM before SIGKILL.
STOP_GRACE_S = 5.0
POLL_S = 0.2


class ReplicasFailed(RuntimeError):
    """A replica ended badly (or the job ran past its limit); the message is one line."""


@dataclasses.dataclass(frozen=True)
class Replica:
    task_type: str
    task_index: int

    @property
    def name(self) -> str:
        return f"{self.task_type} {self.task_index}"

    @property
    def pool(self) -> str:
        return "workerpool0" if self.task_type == "chief" else "workerpool1"


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now (held open together so that they differ)."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket()
            handle.bind((HOST, 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def replicas(count: int) -> list[Replica]:
    """Vertex's layout: one chief (worker pool 0), then ``count - 1`` workers (pool 1)."""
    return [Replica("chief", 0)] + [Replica("worker", i) for i in range(count - 1)]


def environments(count: int, host: str = HOST) -> list[dict[str, str]]:
    """Per replica, the TF_CONFIG and CLUSTER_SPEC variables Vertex AI Training sets."""
    addresses = [f"{host}:{port}" for port in free_ports(count)]
    tasks = replicas(count)
    cluster = {"chief": addresses[:1], **({"worker": addresses[1:]} if count > 1 else {})}
    pools = {"workerpool0": addresses[:1], **({"workerpool1": addresses[1:]} if count > 1 else {})}
    result = []
    for replica in tasks:
        task = {"type": replica.task_type, "index": replica.task_index, "trial": ""}
        pool_task = {"type": replica.pool, "index": replica.task_index, "trial": ""}
        result.append(
            {
                "TF_CONFIG": json.dumps(
                    {"cluster": cluster, "task": task, "environment": "cloud", "job": {}}
                ),
                "CLUSTER_SPEC": json.dumps(
                    {"cluster": pools, "task": pool_task, "environment": "cloud"}
                ),
            }
        )
    return result


@dataclasses.dataclass
class _Running:
    replica: Replica
    process: subprocess.Popen
    log_path: str
    reader: threading.Thread


def _echo(stream, log_path: str, name: str) -> None:
    """Copies a replica's output to its log; its progress lines also to this console."""
    with open(log_path, "w") as log:
        for line in stream:
            log.write(line)
            log.flush()
            if line.startswith(REPLICA_LINE_PREFIX):
                logging.getLogger(names.PROGRESS_LOGGER).info(line.rstrip("\n"))


def _stop(running: list[_Running]) -> None:
    """SIGTERM, then SIGKILL after a grace period, to each replica still running (each was
    started in a session of its own: its process group is its pid)."""
    alive = [r for r in running if r.process.poll() is None]
    for entry in alive:
        _signal(entry.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while any(r.process.poll() is None for r in alive) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    for entry in alive:
        if entry.process.poll() is None:
            _signal(entry.process.pid, signal.SIGKILL)
        entry.process.wait()


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.killpg(pid, number)


def _how(code: int) -> str:
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"


def run(
    command: list[str],
    count: int,
    log_dir: str,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float | None = None,
    on_start=None,
) -> dict[str, float]:
    """Runs ``command`` as ``count`` replicas (chief first) and waits for all of them.

    Returns each replica's wall time in seconds. Raises ReplicasFailed (one line) as soon
    as one fails or ``timeout_s`` passes, after stopping the others. ``on_start`` is called
    with each replica's name and pid (tests kill one through it)."""
    os.makedirs(log_dir, exist_ok=True)
    base = dict(os.environ if env is None else env)
    running: list[_Running] = []
    started = time.monotonic()
    ended: dict[str, float] = {}
    try:
        for replica, variables in zip(replicas(count), environments(count), strict=True):
            log_path = os.path.join(log_dir, f"{replica.task_type}-{replica.task_index}.log")
            process = subprocess.Popen(
                command,
                env={**base, **variables},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own process group, stopped as one
            )
            reader = threading.Thread(
                target=_echo, args=(process.stdout, log_path, replica.name), daemon=True
            )
            reader.start()
            running.append(_Running(replica, process, log_path, reader))
            if on_start:
                on_start(replica.name, process.pid)
        while len(ended) < count:
            for entry in running:
                code = entry.process.poll()
                if code is None or entry.replica.name in ended:
                    continue
                ended[entry.replica.name] = round(time.monotonic() - started, 1)
                if code != 0:
                    entry.reader.join(timeout=2)
                    others = count - len(ended)
                    _stop(running)
                    raise ReplicasFailed(
                        f"training replica {entry.replica.name} of {count} {_how(code)} after "
                        f"{ended[entry.replica.name]:.0f} s; stopped the other {others} "
                        f"(log: {entry.log_path})"
                    )
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                _stop(running)
                raise ReplicasFailed(
                    f"training replicas still running after {timeout_s:.0f} s: stopped all "
                    f"{count} (logs: {log_dir})"
                )
            time.sleep(POLL_S)
    except BaseException:
        _stop(running)  # whatever went wrong here, no replica outlives its launcher
        raise
    for entry in running:
        entry.reader.join(timeout=5)
    return ended
