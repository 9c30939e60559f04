"""Shared benchmark plumbing: peak memory of a process tree, component times from MLMD."""

from __future__ import annotations

import contextlib
import threading
import time

import psutil

from pipeline import metadata


class PeakMemory:
    """Samples the resident memory of this process and its children (Beam workers)."""

    def __init__(self, interval_s: float = 0.2):
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.peak_bytes = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker may exit between calls
                    total += process.memory_info().rss
            self.peak_bytes = max(self.peak_bytes, total)
            time.sleep(self._interval_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def component_seconds(output_dir: str) -> dict[str, float]:
    """Wall seconds of each component's latest execution, from ML Metadata."""
    store = metadata.store(output_dir)
    seconds: dict[str, float] = {}
    for execution in sorted(store.get_executions(), key=lambda e: e.id):
        (execution_type,) = store.get_execution_types_by_id([execution.type_id])
        elapsed = execution.last_update_time_since_epoch - execution.create_time_since_epoch
        seconds[execution_type.name.rsplit(".", 1)[-1]] = elapsed / 1000
    return seconds
