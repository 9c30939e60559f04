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

from components.data_formats.movielens import layouts, tables, validation
from pipeline import local_runner, metadata

# A gate every model passes (any recall, any regression, any distance to first-order
# Markov): for benchmarks and tests about what comes after the gate, not about the model.
ALWAYS_BLESS = (
    *("--recall-lower-bound", "0", "--max-regression", "1"),
    *("--min-lift-over-markov", "-1"),
)


class MemoryTimeline:
    """Samples the resident memory of this process and its children (Beam workers): the
    whole tree's and its largest process's, with the time of each sample."""

    def __init__(self, interval_s: float = 0.2):
        self.samples: list[tuple[float, int, int]] = []  # (epoch seconds, tree, largest)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            sizes = []
            for process in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker may exit between calls
                    sizes.append(process.memory_info().rss)
            self.samples.append((time.time(), sum(sizes), max(sizes)))
            time.sleep(self._interval_s)

    @property
    def peak_bytes(self) -> int:
        """The whole tree's peak."""
        return max((tree for _, tree, _ in self.samples), default=0)

    def peaks(self, start: float, end: float) -> tuple[int, int]:
        """Peak tree and largest-process memory between two times (epoch seconds)."""
        inside = [(tree, largest) for when, tree, largest in self.samples if start <= when <= end]
        trees, largest = zip(*inside, strict=True) if inside else ((0,), (0,))
        return max(trees), max(largest)

    def __enter__(self) -> MemoryTimeline:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


PeakMemory = MemoryTimeline  # the benchmarks that need only ``peak_bytes``


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
    layout: layouts.Layout
    movies: dict[int, validation.Movie]
    users: dict[int, validation.User]
    ratings_by_user: dict[int, list[validation.Rating]]


def read_single_process(data_dir: str) -> Data:
    """Every valid rating of a data set, grouped by user, read plainly in one process."""
    layout = layouts.detect_layout(data_dir)
    movies, _ = tables.read_movies(data_dir, layout)
    users, _ = tables.read_users(data_dir, layout)
    by_user: dict[int, list[validation.Rating]] = defaultdict(list)
    path = os.path.join(data_dir, layout.ratings_file)
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            rating = validation.parse_rating(layout, line, line_no)
            if isinstance(rating, validation.Rating) and rating.movie_id in movies:
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
