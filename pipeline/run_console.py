"""A run a person can follow: one line per component, the full log in a file.

While a local run is in progress, everything TensorFlow, Beam, absl and the components print
(file descriptors 1 and 2, so C++ logging too) goes to ``<output-dir>/logs/run-<time>.log``.
The terminal gets one line when each component starts and one when it ends (duration, cached
or not, its key figure read back from ML Metadata), the components' own progress lines (the
Trainer's per-epoch loss and eval HR@K, through ``names.PROGRESS_LOGGER``), and, on a
terminal, a ticking clock for the step in progress. ``--verbose`` keeps everything on the
console instead.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from components import names

# TFX's LocalDagRunner and launcher log these (tfx/orchestration/local, portable/launcher).
_STARTED = "Component %s is running."
_FINISHED = "Component %s is finished."
_CACHED = "A cached execution %d is used."
# Nodes that only look artifacts up: not worth a line.
_SILENT_NODES = ("resolver",)


class _Held:
    """What the process printed before the run's log file existed (imports, settings)."""

    file: TextIO | None = None
    saved: tuple[int, int] | None = None


def hold_startup_output() -> None:
    """Called first thing by a quiet run (before TensorFlow is imported): fds 1 and 2 go to
    a temporary file until ``quiet`` moves them into the run's log. If the run never gets
    there (bad settings, the TFX CLI compiling), what was held goes back to the terminal
    at exit, so nothing is lost."""
    import atexit
    import tempfile

    sys.stdout.flush()
    sys.stderr.flush()
    _Held.file = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by _release)
    _Held.saved = (os.dup(1), os.dup(2))
    os.dup2(_Held.file.fileno(), 1)
    os.dup2(_Held.file.fileno(), 2)
    atexit.register(_release, True)


def _release(to_terminal: bool) -> str:
    """Restores fds 1 and 2 and returns what was held (echoed to stderr if asked)."""
    if _Held.file is None or _Held.saved is None:
        return ""
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(_Held.saved[0], 1)
    os.dup2(_Held.saved[1], 2)
    for fd in _Held.saved:
        os.close(fd)
    _Held.file.seek(0)
    held = _Held.file.read()
    _Held.file.close()
    _Held.file = _Held.saved = None
    if to_terminal and held:
        sys.stderr.write(held)
        sys.stderr.flush()
    return held


def discard_startup_output() -> None:
    """Drops the held import-time lines: the run ends before it starts, with its own line."""
    _release(False)


def log_path(output_dir: str) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(output_dir, "logs", f"run-{stamp}.log")


class _Terminal:
    """Lines for the person at the terminal, copied into the log; a clock on a TTY."""

    def __init__(self, stream: TextIO, log: TextIO | None):
        self._stream = stream
        self._log = log
        self._lock = threading.Lock()
        self._ticking: tuple[str, float] | None = None
        self._clock_shown = False  # a clock line without its newline is on the screen
        self._stop = threading.Event()
        self._clock: threading.Thread | None = None
        self.ticks = stream.isatty()
        if self.ticks:
            self._clock = threading.Thread(target=self._tick, daemon=True)
            self._clock.start()

    def say(self, line: str) -> None:
        with self._lock:
            if self._clock_shown:
                self._stream.write("\r\033[K")
                self._clock_shown = False
            self._stream.write(line + "\n")
            self._stream.flush()
            if self._log is not None:
                self._log.write(line + "\n")
                self._log.flush()

    def tick_for(self, name: str | None) -> None:
        with self._lock:
            self._ticking = (name, time.monotonic()) if name else None

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                if self._ticking:
                    name, start = self._ticking
                    elapsed = int(time.monotonic() - start)
                    self._stream.write(f"\r\033[K{name} ... {elapsed // 60}:{elapsed % 60:02d}")
                    self._stream.flush()
                    self._clock_shown = True

    def close(self) -> None:
        self._stop.set()
        if self._clock:
            self._clock.join()
        self.tick_for(None)
        if self._clock_shown:  # a run that failed mid-step: keep its clock line
            self._stream.write("\n")
            self._stream.flush()


class _ComponentLines(logging.Handler):
    """Turns TFX's component start/finish records into terminal lines; passes progress on."""

    def __init__(self, terminal: _Terminal, figure: Callable[[str], str | None]):
        super().__init__(level=logging.INFO)
        self._terminal = terminal
        self._figure = figure
        self._started: dict[str, float] = {}
        self._cached: set[str] = set()
        self._current: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.name == names.PROGRESS_LOGGER:
                self._terminal.say(f"    {record.getMessage()}")
            elif record.msg == _STARTED:
                self._start(str(record.args[0]))
            elif record.msg == _CACHED and self._current:
                self._cached.add(self._current)
            elif record.msg == _FINISHED:
                self._finish(str(record.args[0]))
        except Exception:  # a console line is never worth failing the run for
            self.handleError(record)

    def _start(self, node: str) -> None:
        self._current = node
        self._started[node] = time.monotonic()
        if node.endswith(_SILENT_NODES):
            return
        if self._terminal.ticks:  # the clock line says it, and the end line replaces it
            self._terminal.tick_for(node)
        else:
            self._terminal.say(f"{node} ...")

    def _finish(self, node: str) -> None:
        self._terminal.tick_for(None)
        self._current = None
        if node.endswith(_SILENT_NODES):
            return
        seconds = time.monotonic() - self._started.pop(node, time.monotonic())
        how = "cached" if node in self._cached else f"{seconds:.0f} s"
        figure = self._figure(node)
        self._terminal.say(f"{node} done ({how})" + (f": {figure}" if figure else ""))


@contextlib.contextmanager
def quiet(path: str, figure: Callable[[str], str | None]) -> Iterator[Callable[[str], None]]:
    """Sends fds 1 and 2 to the log file ``path`` and the component lines to the terminal;
    yields the function that writes a line to the terminal (and the log). Everything is
    restored on exit, whatever happened."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    held = _release(False)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal_stream = os.fdopen(os.dup(saved_out), "w", buffering=1)
    log = open(path, "a", buffering=1)  # noqa: SIM115 (closed in finally)
    log.write(held)
    terminal = _Terminal(terminal_stream, log)
    handler = _ComponentLines(terminal, figure)
    watched = [logging.getLogger("absl"), logging.getLogger(names.PROGRESS_LOGGER)]
    progress = watched[1]
    progress.setLevel(logging.INFO)
    for logger in watched:
        logger.addHandler(handler)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    terminal.say(f"Running the pipeline; full log: {path}")
    try:
        yield terminal.say
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        for logger in watched:
            logger.removeHandler(handler)
        terminal.close()
        terminal_stream.close()
        log.close()


def key_figure(output_dir: str, run_id: str, node: str) -> str | None:
    """The one figure that says how a component went, read from its output in this run."""
    reader = _FIGURES.get(node)
    if reader is None:
        return None
    try:
        return reader(output_dir, run_id)
    except (OSError, LookupError, ValueError, TypeError):  # no figure is no reason to stop
        return None


def _uri(output_dir: str, run_id: str, node: str, key: str) -> str:
    from pipeline import metadata

    artifact = metadata.run_artifact(output_dir, run_id, node, key)
    if artifact is None:
        raise LookupError(f"{node} has no {key} in run {run_id}")
    return artifact.uri


def _examples(output_dir: str, run_id: str) -> str:
    from components.contracts.ingest_report import IngestReport
    from components.example_gen import ingest_checks

    report = IngestReport.read(_uri(output_dir, run_id, names.EXAMPLE_GEN, names.EXAMPLES_KEY))
    files = report.file_sections()
    lines = sum(section.lines for section in files)
    # Headers and blank lines are not bad input: only invalid lines count as rejected.
    invalid = sum(ingest_checks.invalid_lines(section) for section in files)
    examples = ", ".join(f"{split} {n}" for split, n in report.examples.items())
    return f"{lines} lines, {invalid} invalid; examples: {examples}"


def _vocabularies(output_dir: str, run_id: str) -> str:
    graph_uri = _uri(output_dir, run_id, names.TRANSFORM, names.TRANSFORM_GRAPH_KEY)
    assets = os.path.join(graph_uri, "transform_fn", "assets")
    sizes = {}
    for name in sorted(os.listdir(assets)):
        with open(os.path.join(assets, name), "rb") as handle:
            sizes[name] = sum(1 for _ in handle)
    return "vocabularies: " + ", ".join(f"{name} {size}" for name, size in sizes.items())


def _training(output_dir: str, run_id: str) -> str:
    from components.contracts.training_log import TrainingLog

    log = TrainingLog.read(_uri(output_dir, run_id, names.TRAINER, names.MODEL_RUN_KEY))
    return (
        f"{log.epochs_trained} epochs (batch {log.settings['batch_size']}), best epoch "
        f"{log.best_epoch}: eval {log.monitor.removeprefix('val_')} {log.best:.4f}, "
        f"ended by {log.ended_by.replace('_', ' ')}"
    )


def _gate(output_dir: str, run_id: str) -> str:
    from components.contracts.gate_result import GateResult

    gate = GateResult.read(_uri(output_dir, run_id, names.EVALUATOR, names.BLESSING_KEY))
    if gate.blessed:  # the rule a person wants to see: how far above the baseline
        return f"BLESSED ({gate.rules[-1]['detail']})"
    failed = [f"{rule['rule']}: {rule['detail']}" for rule in gate.failed()]
    return f"NOT BLESSED ({'; '.join(failed)})"


def _test_figures(output_dir: str, run_id: str) -> str:
    from components.contracts.quality_metrics import QualityMetrics
    from components.evaluation import quality, ranking

    content = QualityMetrics.read(_uri(output_dir, run_id, names.QUALITY_REPORT, names.REPORT_KEY))
    hr = ranking.hr_name(ranking.DEFAULT_K)
    cells = [
        f"{name} {content.overall(name, quality.SEEN_EXCLUDED)[hr]:.4f}" for name in content.test
    ]
    return f"test {hr.upper()}: " + ", ".join(cells)


def _pushed(output_dir: str, run_id: str) -> str:
    from components.export.layout import MODEL_FILE
    from pipeline import metadata, paths

    artifact = metadata.run_artifact(output_dir, run_id, names.PUSHER, names.PUSHED_MODEL_KEY)
    if artifact is None:
        raise LookupError(f"{names.PUSHER} has no {names.PUSHED_MODEL_KEY} in run {run_id}")
    unchanged = artifact.custom_properties.get(names.PUSH_UNCHANGED_PROPERTY)
    if unchanged is not None:
        return f"unchanged, version {unchanged.string_value} (it serves these model bytes)"
    path = os.path.join(artifact.uri, MODEL_FILE)
    if not os.path.exists(path):
        return "nothing pushed"
    size = os.path.getsize(path) / 2**20
    version = artifact.custom_properties[names.PUSHED_VERSION_PROPERTY].string_value
    return f"{size:.2f} MiB pushed as version {version} to {paths.push_destination(output_dir)}"


_FIGURES: dict[str, Callable[[str, str], str]] = {
    names.EXAMPLE_GEN: _examples,
    names.TRANSFORM: _vocabularies,
    names.TRAINER: _training,
    names.EVALUATOR: _gate,
    names.QUALITY_REPORT: _test_figures,
    names.PUSHER: _pushed,
}
