"""Soak test of the serving contract (issue 22): runs killed at any moment, runs started twice.

    python benchmarks/soak_serving.py --trials 5 [--data-dir DIR] [--work-dir DIR]
        [--points ExampleGen,Transform,Trainer,Evaluator,push-staging,push-published,push-pointer]
        [--concurrent-trials 10]

Kill campaign: for each kill point and trial, a run (``--no-cache``, so every component
executes) is SIGKILLed with its whole process group when the point is reached, then rerun
(cache on); meanwhile a reader thread resolves the served model through the serving pointer
again and again and checks every model and sidecar it gets (the sha256 the pointer names,
the TFLite identifier, LiteRT loading it, the sidecar's keys and signatures). Kill points:
a component RUNNING in ML Metadata (ExampleGen, Transform, Trainer, Evaluator), and three
instants inside the push, reached through hooks of this script only (``push-staging``: half
of model.tflite written in the staging folder; ``push-published``: the version renamed into
place, the pointer not yet replaced; ``push-pointer``: the new pointer's temporary file
written, not yet renamed). The push hooks force a real push (no "unchanged").

Concurrency: two runs started together on one output folder, ``--concurrent-trials``
times: expected one completed run and one refusal naming the live run, and a store that
lineage still reads.

Default data: a small synthetic ML-1M-layout set (``--data-dir`` for another one, e.g.
data/ml-latest-small); training is tiny (``--hparam train_steps=20``). Prints one line per
trial and a table at the end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import components  # noqa: E402,F401  (Keras 2 before TensorFlow)
from components import names  # noqa: E402
from components.data_formats import synthetic  # noqa: E402
from components.export import model_files, serving  # noqa: E402
from pipeline import metadata, paths  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": REPO, "TF_USE_LEGACY_KERAS": "1"}
COMPONENTS = {
    "ExampleGen": names.EXAMPLE_GEN,
    "Transform": "Transform",
    "Trainer": "Trainer",
    "Evaluator": "Evaluator",
}
PUSH_POINTS = ("push-staging", "push-published", "push-pointer")
RUN_ARGS = (
    "--beam-arg=--direct_running_mode=in_memory",
    *("--hparam", "train_steps=20", "--hparam", "epochs=1"),
    *("--recall-lower-bound", "0", "--max-regression", "1", "--min-lift-over-markov", "-1"),
)
SPEC = synthetic.SyntheticSpec(num_users=60, num_movies=80, mean_ratings_per_user=12, seed=11)

# The runner with hooks at the push's instants (this script's only): at the instant it
# touches the marker file and sleeps until killed.
HOOKED_RUNNER = r"""
import os, sys, time
point, marker = os.environ["SOAK_POINT"], os.environ["SOAK_MARKER"]
import components
from components.export import serving
def reached():
    open(marker, "w").close()
    time.sleep(3600)
if point.startswith("push-"):
    serving.unchanged_version = lambda root, sha256: None
if point == "push-staging":
    write = serving.write_file
    def write_file(path, data):
        if serving.STAGING_PREFIX in path and path.endswith(".tflite"):
            with open(path, "wb") as handle:
                handle.write(data[: len(data) // 2])
            reached()
        write(path, data)
    serving.write_file = write_file
elif point == "push-published":
    replace = serving.replace_pointer
    def replace_pointer(root, content):
        reached()
        replace(root, content)
    serving.replace_pointer = replace_pointer
elif point == "push-pointer":
    def replace_pointer(root, content):
        temporary = os.path.join(root, f".{serving.POINTER_FILE}.{os.getpid()}.tmp")
        serving.write_file(temporary, content)
        reached()
    serving.replace_pointer = replace_pointer
from pipeline import local_runner
sys.exit(local_runner.main(sys.argv[1:]))
"""


class Reader(threading.Thread):
    """Resolves the served model through the pointer in a loop and checks what it gets."""

    def __init__(self, root: str):
        super().__init__(daemon=True)
        self.root = root
        self.reads = 0
        self.failures: list[str] = []
        self.versions: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                found = serving.current(self.root)
                if found is None:
                    raise serving.ServingError("no served model")
                version, pointer = found
                data = model_files.read_tflite(version.model_path)
                if pointer and serving.sha256_bytes(data) != pointer["model_sha256"]:
                    raise serving.ServingError(f"{version.id}: sha256 differs from the pointer")
                sidecar = model_files.load_sidecar(version.sidecar_path)
                model_files.load_interpreter(version.model_path, sidecar)
                self.versions.add(version.id)
            except (serving.ServingError, model_files.ModelFileError, OSError) as error:
                self.failures.append(str(error))
            self.reads += 1
            time.sleep(0.02)


def runner_command(data_dir: str, output_dir: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline.local_runner",
        *("--data-dir", data_dir, "--output-dir", output_dir),
        *RUN_ARGS,
        *extra,
    ]


def running(output_dir: str, node: str) -> bool:
    path = paths.metadata_path(output_dir)
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return False
    try:
        store = metadata.readonly_store(path)
        executions = store.get_executions_by_id(list(metadata.node_executions(store, node)))
        return any(
            e.last_known_state == metadata.metadata_store_pb2.Execution.RUNNING for e in executions
        )
    except Exception:  # the writer may hold the database for a moment
        return False


def kill_trial(data_dir: str, output_dir: str, point: str, timeout_s: float) -> dict:
    marker = os.path.join(tempfile.mkdtemp(prefix="soak-"), "reached")
    env = {**ENV, "SOAK_POINT": point, "SOAK_MARKER": marker}
    command = runner_command(data_dir, output_dir, "--no-cache")
    if point in PUSH_POINTS:
        command = [sys.executable, "-c", HOOKED_RUNNER, *command[3:]]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    reached = False
    while time.monotonic() - started < timeout_s and process.poll() is None:
        if point in PUSH_POINTS:
            reached = os.path.exists(marker)
        else:
            reached = running(output_dir, COMPONENTS[point])
        if reached:
            break
        time.sleep(0.3)
    killed_at = time.monotonic() - started
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    rerun = subprocess.run(
        runner_command(data_dir, output_dir),
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout_s * 3,
    )
    staging = [n for n in os.listdir(paths.push_destination(output_dir)) if n.startswith(".")]
    return {
        "point": point,
        "reached": reached,
        "killed_after_s": round(killed_at, 1),
        "rerun_rc": rerun.returncode,
        "rerun_said_abandoned": "was abandoned" in rerun.stdout,
        "rerun_error": next(
            (line for line in rerun.stderr.splitlines() if line.startswith("error:")), ""
        ),
        "leftover_staging_after_rerun": staging,
    }


def concurrent_trial(data_dir: str, output_dir: str, timeout_s: float) -> dict:
    known_runs = {
        c.id
        for c in metadata.readonly_store(paths.metadata_path(output_dir)).get_contexts_by_type(
            metadata.RUN_CONTEXT
        )
    }
    runs_before = len(known_runs)
    processes = [
        subprocess.Popen(
            runner_command(data_dir, output_dir),
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    started = time.monotonic()
    results, ended = [], []
    for process in processes:
        results.append(process.communicate(timeout=timeout_s * 3))
        ended.append(round(time.monotonic() - started, 1))
    codes = sorted(p.returncode for p in processes)
    refusals = [err for _, err in results if "is in use by a live run" in err]
    spans: list[tuple[int, int]] = []
    try:
        store = metadata.readonly_store(paths.metadata_path(output_dir))
        runs = store.get_contexts_by_type(metadata.RUN_CONTEXT)
        runs_after = len(runs)
        spans = run_spans(store, [c for c in runs if c.id not in known_runs])
        store_ok = True
    except metadata.StoreError:
        runs_after, store_ok = None, False
    return {
        "exit_codes": codes,
        # Seconds after the start at which each process was seen to end (both ending 0
        # means the second one reached the lock after the first had finished).
        "ended_s": ended,
        # From the store: each new run's executions, first start to last end (ms), and
        # whether two runs' executions ever overlapped in time.
        "run_spans_ms": spans,
        "runs_overlapped": any(
            later[0] < earlier[1] for earlier, later in itertools.pairwise(spans)
        ),
        "refusal_lines": len(refusals),
        "store_readable": store_ok,
        "new_runs_in_store": None if runs_after is None else runs_after - runs_before,
    }


def run_spans(store, runs) -> list[tuple[int, int]]:
    """Per run context, its executions' first creation and last update (ms since the epoch),
    in order of start."""
    spans = []
    for run in runs:
        executions = store.get_executions_by_context(run.id)
        if executions:
            spans.append(
                (
                    min(e.create_time_since_epoch for e in executions),
                    max(e.last_update_time_since_epoch for e in executions),
                )
            )
    return sorted(spans)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5, help="kills per kill point")
    parser.add_argument("--concurrent-trials", type=int, default=10)
    parser.add_argument("--points", default=",".join([*COMPONENTS, *PUSH_POINTS]))
    parser.add_argument("--data-dir", help="default: a small synthetic ML-1M-layout set")
    parser.add_argument("--work-dir", help="default: a new temporary folder")
    parser.add_argument("--timeout-s", type=float, default=600)
    args = parser.parse_args()
    work = args.work_dir or tempfile.mkdtemp(prefix="soak-serving-")
    data_dir = args.data_dir
    if data_dir is None:
        data_dir = os.path.join(work, "data")
        synthetic.write_movielens(data_dir, "ml-1m", SPEC)
    output_dir = os.path.join(work, "outputs")
    print(f"work dir {work}; data {data_dir}", flush=True)
    first = subprocess.run(
        runner_command(data_dir, output_dir), env=ENV, capture_output=True, text=True, check=False
    )
    if first.returncode != 0:
        print(first.stderr[-3000:])
        return 1
    reader = Reader(paths.push_destination(output_dir))
    reader.start()
    rows = []
    for point in [p for p in args.points.split(",") if p]:
        for trial in range(1, args.trials + 1):
            row = kill_trial(data_dir, output_dir, point, args.timeout_s)
            row["trial"] = trial
            row["reader_failures_so_far"] = len(reader.failures)
            print(row, flush=True)
            rows.append(row)
    reader.stop.set()
    reader.join()
    concurrent = []
    for trial in range(1, args.concurrent_trials + 1):
        row = concurrent_trial(data_dir, output_dir, args.timeout_s)
        row["trial"] = trial
        print(row, flush=True)
        concurrent.append(row)
    print("\n| kill point | trials | point reached | reruns rc 0 | abandoned marked | leftovers |")
    print("|---|---|---|---|---|---|")
    for point in dict.fromkeys(r["point"] for r in rows):
        mine = [r for r in rows if r["point"] == point]
        print(
            f"| {point} | {len(mine)} | {sum(r['reached'] for r in mine)} | "
            f"{sum(r['rerun_rc'] == 0 for r in mine)} | "
            f"{sum(r['rerun_said_abandoned'] for r in mine)} | "
            f"{sum(bool(r['leftover_staging_after_rerun']) for r in mine)} |"
        )
    print(
        f"\nreader: {reader.reads} reads through the pointer, {len(reader.failures)} failures, "
        f"{len(reader.versions)} versions seen"
    )
    for failure in reader.failures[:10]:
        print(f"  {failure}")
    ok = sum(r["exit_codes"] == [0, 2] and r["refusal_lines"] == 1 for r in concurrent)
    readable = sum(r["store_readable"] for r in concurrent)
    overlapped = sum(r["runs_overlapped"] for r in concurrent)
    print(
        f"concurrent: {ok}/{len(concurrent)} trials = one completed run + one refusal; "
        f"store readable after {readable}/{len(concurrent)}; runs whose executions overlapped "
        f"in time (the store's record): {overlapped}/{len(concurrent)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
