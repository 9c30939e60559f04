"""Pipeline runs (pipeline_run contexts): status, timing and caching of each component."""

from __future__ import annotations

from typing import Any

from commands.lineage.store import LineageError, Run, Snapshot, iso_time
from components import names

PUSHER = names.PUSHER

RUN_HELP = (
    "a run is its id as `runs` lists it (TFX's timestamp, e.g. 2026-01-31T12:00:00.123456, "
    "or a unique prefix of it), its index in `runs` (1 = oldest), or latest / previous"
)


def status(snapshot: Snapshot, run: Run) -> str:
    """running, abandoned (its process died), failed, canceled, or complete (every
    execution finished or cached)."""
    executions = snapshot.run_executions(run)
    states = {e.state for e in executions}
    if any(e.active for e in executions):
        return "running"
    if run.abandoned:
        return "abandoned"
    if "FAILED" in states:
        return "failed"
    if "CANCELED" in states:
        return "canceled"
    return "complete" if states else "empty"


def resolve(snapshot: Snapshot, ref: str) -> Run:
    """The run ``ref`` names (see RUN_HELP)."""
    runs = snapshot.runs
    if not runs:
        raise LineageError(f"{snapshot.path} has no pipeline runs yet")
    named = {"latest": -1, "previous": -2}
    if ref in named:
        if len(runs) < -named[ref]:
            raise LineageError(f"there is no {ref} run: the store has {len(runs)} run(s)")
        return runs[named[ref]]
    exact = [run for run in runs if run.name == ref]
    if exact:
        return exact[0]
    if ref.isdigit() and 1 <= int(ref) <= len(runs):
        return runs[int(ref) - 1]
    prefixed = [run for run in runs if run.name.startswith(ref)]
    if len(prefixed) == 1:
        return prefixed[0]
    if prefixed:
        raise LineageError(f"run {ref!r} is ambiguous: it starts {len(prefixed)} run ids")
    known = ", ".join(f"{run.index}={run.name}" for run in runs)
    raise LineageError(f"no run {ref!r} in {snapshot.path}; runs: {known}")


def require_finished(snapshot: Snapshot, run: Run) -> None:
    """Lineage of a run still going would be partial: say so instead."""
    active = [e for e in snapshot.run_executions(run) if e.active]
    if active:
        what = ", ".join(f"{e.component} {e.state} since {iso_time(e.started_ms)}" for e in active)
        raise LineageError(
            f"{run.label} is still in progress ({what}); wait for it to finish, "
            "or see its state with `runs`"
        )


def pushed_version(snapshot: Snapshot, run: Run) -> str | None:
    """The version folder the run's TFLitePusher pushed to, if it pushed."""
    model = snapshot.output(snapshot.of_class(run, PUSHER), names.PUSHED_MODEL_KEY)
    if model is not None and model.properties.get(names.PUSH_UNCHANGED_PROPERTY):
        return f"{model.properties[names.PUSH_UNCHANGED_PROPERTY]} (unchanged)"
    if model is None or not model.properties.get(names.PUSHED_PROPERTY):
        return None
    return model.properties.get(names.PUSHED_VERSION_PROPERTY)


def summary(snapshot: Snapshot, run: Run) -> dict[str, Any]:
    executions = snapshot.run_executions(run)
    started = min((e.started_ms for e in executions), default=None)
    finished = max((e.updated_ms for e in executions), default=None)
    run_status = status(snapshot, run)
    done = run_status != "running" and started is not None
    return {
        "run": run.name,
        "index": run.index,
        "pipeline": run.pipeline,
        "status": run_status,
        "started": iso_time(started) if started is not None else None,
        "finished": iso_time(finished) if done else None,
        "duration_s": (finished - started) / 1000 if done else None,
        "pushed_version": pushed_version(snapshot, run),
        "abandoned": run.abandoned,
        "components": [e.brief() for e in sorted(executions, key=lambda e: e.id)],
    }


def summaries(snapshot: Snapshot, refs: list[str]) -> list[dict[str, Any]]:
    runs = [resolve(snapshot, ref) for ref in refs] if refs else snapshot.runs
    if not runs:
        raise LineageError(f"{snapshot.path} has no pipeline runs yet")
    return [summary(snapshot, run) for run in runs]
