"""Which process owns a run, and whether it is still alive.

A run whose process is killed (Ctrl-C twice, the OOM killer, a closed laptop) leaves its
executions RUNNING in ML Metadata forever: nothing else would ever finish them, and lineage
would call the run "in progress" forever. So the local runner records its owner on the
run's ``pipeline_run`` context (host, pid, the process's start time, the machine's boot
id), and a run whose owner is gone is abandoned: the next local run marks its unfinished
executions FAILED with an ``abandoned_reason`` property, and ``python -m commands.lineage``
(which never writes) shows them so meanwhile. A run without an owner record (e.g. started
by another tool) or owned by another host is never judged.
"""

from __future__ import annotations

import datetime
import os
import socket
from typing import Any

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline import metadata

RUN_CONTEXT = metadata.RUN_CONTEXT
OWNER_HOST, OWNER_PID = "owner_host", "owner_pid"
OWNER_PROCESS_START, OWNER_BOOT_ID = "owner_process_start", "owner_boot_id"
ABANDONED_REASON = "abandoned_reason"
_ACTIVE = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)
_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def _process_start(pid: int) -> int | None:
    """When the process started (clock ticks after boot), or None where /proc is absent.
    With the pid, it tells a process from a later one that reused its pid."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # Fields after the command name (which may hold spaces) start at its closing paren.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def _is_dead(pid: int) -> bool:
    """A process that exited but was not yet reaped by its parent (zombie, or dead)."""
    stat = _read(f"/proc/{pid}/stat")
    return stat is not None and stat[stat.rindex(")") + 2 :][:1] in ("Z", "X")


def current_owner() -> dict[str, str | int]:
    """This process as the owner of a run (custom properties of its pipeline_run context)."""
    owner: dict[str, str | int] = {OWNER_HOST: socket.gethostname(), OWNER_PID: os.getpid()}
    if (start := _process_start(os.getpid())) is not None:
        owner[OWNER_PROCESS_START] = start
    if boot_id := (_read(_BOOT_ID) or "").strip():
        owner[OWNER_BOOT_ID] = boot_id
    return owner


def owner_gone(owner: dict[str, Any]) -> str | None:
    """Why the recorded owner can no longer be running, or None if it may be (or the
    record is missing or from another host, so nothing can be known)."""
    pid, host = owner.get(OWNER_PID), owner.get(OWNER_HOST)
    if not isinstance(pid, int) or host != socket.gethostname():
        return None
    who = f"its process (pid {pid} on {host})"
    boot_id = (_read(_BOOT_ID) or "").strip()
    if owner.get(OWNER_BOOT_ID) and boot_id and owner[OWNER_BOOT_ID] != boot_id:
        return f"{who} did not survive a restart of the machine"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"{who} ended without finishing it"
    except PermissionError:
        pass  # a process of another user holds the pid: alive, unless reused (below)
    if _is_dead(pid):
        return f"{who} ended without finishing it"
    start = owner.get(OWNER_PROCESS_START)
    if isinstance(start, int) and _process_start(pid) not in (None, start):
        return f"{who} ended without finishing it (the pid now belongs to another process)"
    return None


def _properties(proto: Any) -> dict[str, Any]:
    values = {}
    for key, value in proto.custom_properties.items():
        kind = value.WhichOneof("value")
        values[key] = getattr(value, kind) if kind else None
    return values


def record_owner(store: metadata_store.MetadataStore, context_id: int) -> None:
    """Marks the run context as owned by this process."""
    [context] = store.get_contexts_by_id([context_id])
    for key, value in current_owner().items():
        if isinstance(value, int):
            context.custom_properties[key].int_value = value
        else:
            context.custom_properties[key].string_value = value
    store.put_contexts([context])


def abandoned_runs(store: metadata_store.MetadataStore) -> dict[int, str]:
    """Run context id -> why its owner is gone, for runs with unfinished executions."""
    found = {}
    for context in metadata.run_contexts(store):
        reason = owner_gone(_properties(context))
        if reason and any(
            e.last_known_state in _ACTIVE for e in store.get_executions_by_context(context.id)
        ):
            found[context.id] = reason
    return found


def mark_abandoned(store: metadata_store.MetadataStore) -> list[str]:
    """Marks the unfinished executions of abandoned runs FAILED, with the reason; returns
    one line per run marked (what the runner prints)."""
    lines = []
    now = datetime.datetime.now().isoformat(timespec="seconds")
    for context_id, reason in abandoned_runs(store).items():
        [context] = store.get_contexts_by_id([context_id])
        executions = [
            e for e in store.get_executions_by_context(context_id) if e.last_known_state in _ACTIVE
        ]
        for execution in executions:
            execution.last_known_state = metadata_store_pb2.Execution.FAILED
            execution.custom_properties[
                ABANDONED_REASON
            ].string_value = f"abandoned: {reason} (marked {now})"
        store.put_executions(executions)
        lines.append(
            f"Run {context.name} was abandoned ({reason}): marked {len(executions)} "
            "unfinished execution(s) failed."
        )
    return lines
