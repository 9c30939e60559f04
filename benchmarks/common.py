"""Shared benchmark plumbing: peak memory of a process tree, component times from MLMD."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections import defaultdict

import psutil
from tfx import v1 as tfx

from components.data_formats import movielens
from pipeline import local_runner, metadata


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


@dataclasses.dataclass
class Data:
    layout: movielens.Layout
    movies: dict[int, movielens.Movie]
    users: dict[int, movielens.User]
    ratings_by_user: dict[int, list[movielens.Rating]]


def read_single_process(data_dir: str) -> Data:
    """Every valid rating of a data set, grouped by user, read plainly in one process."""
    layout = movielens.detect_layout(data_dir)
    movies, _ = movielens.read_movies(data_dir, layout)
    users, _ = movielens.read_users(data_dir, layout)
    by_user: dict[int, list[movielens.Rating]] = defaultdict(list)
    path = os.path.join(data_dir, layout.ratings_file)
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            rating = movielens.parse_rating(layout, line, line_no)
            if isinstance(rating, movielens.Rating) and rating.movie_id in movies:
                by_user[rating.user_id].append(rating)
    return Data(layout, movies, users, by_user)


@dataclasses.dataclass
class PipelineRun:
    wall_seconds: float
    component_seconds: dict[str, float]
    peak_bytes: int


def run_pipeline(runner_argv: list[str]) -> PipelineRun:
    """Runs the local pipeline with these runner flags; wall time, per-component times, memory."""
    runner_args = local_runner.parse_args(runner_argv)
    start = time.perf_counter()
    with PeakMemory() as memory:
        tfx.orchestration.LocalDagRunner().run(local_runner.build(runner_args))
    wall = time.perf_counter() - start
    return PipelineRun(wall, component_seconds(runner_args.output_dir), memory.peak_bytes)
