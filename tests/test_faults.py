"""Every fault ends in one clear line, fails early, and loses no evidence (issue 12).

The cases a new user meets with damaged files and faults, each a test: the command's exit
code, its one ``error:`` line, no traceback on stderr, and counts that reconcile (lines =
accepted + rejected by reason). Real commands on small synthetic data; ExampleGen only
(``--until``, Beam in memory) wherever that suffices. Values a line may hold but no later
stage could use are counted rejections; settings or files that cannot give a run fail
before any component runs.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from commands import lineage
from components import names
from components.contracts.ingest_report import IngestReport
from components.data_formats import limits, synthetic
from components.data_formats.movielens import validation
from components.data_formats.movielens.readers import UTF8_BOM
from components.example_gen.ingest_record import KEPT_REPORTS
from components.export import serving
from configs import features as raw
from pipeline import cli_errors, local_runner, paths
from tests import pipeline_runs
from tests.pipeline_runs import EXAMPLE_GEN, IN_MEMORY

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# About 2,000 ratings: nine bad lines stay under the 1% tolerance, as in a real file.
SPEC = synthetic.SyntheticSpec(num_users=100, num_movies=120, mean_ratings_per_user=15, seed=5)
SMALL = synthetic.SyntheticSpec(num_users=30, num_movies=60, mean_ratings_per_user=10, seed=3)
UNTIL_INGEST = ("--until", EXAMPLE_GEN, IN_MEMORY)
ENV = {**os.environ, "PYTHONPATH": paths.REPO_ROOT, "TF_USE_LEGACY_KERAS": "1"}


# --- helpers ------------------------------------------------------------------------------


def run_module(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=timeout,
        check=False,
    )


def one_error_line(code: int, err: str) -> str:
    """The single ``error:`` line of a failed command, after checking exit code 2 and that
    nothing on stderr is a traceback."""
    assert code == cli_errors.EXIT_ERROR, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err[-3000:]
    assert err.rstrip().splitlines()[-1] == errors[0]  # the last word
    return errors[0]


def captured(main, argv: list[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of a command line's ``main`` run in this process (what
    ``print`` writes; it saves the seconds a new Python process spends importing TFX)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def runner_in_process(
    capsys, data_dir: Path, output_dir: Path | str, *args: str
) -> tuple[int, str, str]:
    code = local_runner.main(["--data-dir", str(data_dir), "--output-dir", str(output_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def reconciled(section: dict) -> bool:
    return section["lines"] == section["accepted"] + sum(section["rejected"].values())


def ingest_report(output_dir: Path) -> dict:
    examples = output_dir / "pipeline_root" / EXAMPLE_GEN / names.EXAMPLES_KEY
    (path,) = examples.glob(f"*/{IngestReport.FILE}")
    return json.loads(path.read_text())


def synthesize(folder: Path, layout: str = "ml-1m", spec=SMALL) -> Path:
    synthetic.write_movielens(folder, layout, spec)
    return folder


def first_movie_id(data_dir: Path) -> int:
    return int((data_dir / "movies.dat").read_text(encoding="latin-1").split("::", 1)[0])


# --- values no later stage could use: counted rejections, the run goes on ------------------

# (case, ratings line built from a known movie id M, reason). The last case is the file's
# last line, cut inside its timestamp (no newline).
LINE_CASES = [
    ("movie_id_2^31+5", "1::{big}::4::978300760", "id_too_large"),
    ("movie_id_beyond_int64", "1::18446744073709551616::4::978300760", "not_int64"),
    ("user_id_beyond_int64_no_wrap", "9223372036854775808::{M}::4::978300760", "not_int64"),
    ("timestamp_beyond_int64", "1::{M}::4::99999999999999999999", "not_int64"),
    ("negative_user_id", "-7::{M}::4::978300760", "id_not_positive"),
    ("negative_movie_id", "1::-{M}::4::978300760", "id_not_positive"),
    ("negative_timestamp", "2::{M}::4::-978300760", "timestamp_out_of_range"),
    ("far_future_timestamp", "2::{M}::4::32503680000", "timestamp_out_of_range"),
    ("last_line_cut_in_its_timestamp", "3::{M}::4::97830", "timestamp_out_of_range"),
]


def damaged_ml1m(folder: Path) -> Path:
    """ML-1M files with every bad value of LINE_CASES (0.4% of the lines, under the 1%
    tolerance, as in the issue's 36 lines in 20,000) and a BOM before movies.dat."""
    data = synthesize(folder, spec=SPEC)
    movie = first_movie_id(data)
    lines = [case.format(M=movie, big=2**31 + 5) for _, case, _ in LINE_CASES]
    with open(data / "ratings.dat", "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines))  # the last one without its newline
    movies = data / "movies.dat"
    movies.write_bytes(UTF8_BOM + movies.read_bytes())
    return data


@pytest.mark.parametrize(("case", "line", "reason"), LINE_CASES, ids=[c[0] for c in LINE_CASES])
def test_bad_values_are_counted_rejections_and_the_run_goes_on_to_a_push(
    damaged_killed_rerun, case, line, reason
):
    # The whole wasted run: a movie id of 2^31+5 went through ExampleGen, the
    # AnomaliesGate, Transform and training, and failed at export. Now it is one counted
    # line, and the same data trains and pushes.
    report = ingest_report(damaged_killed_rerun.output)
    ratings = report["ratings"]
    assert ratings["rejected"][reason] == sum(1 for c in LINE_CASES if c[2] == reason)
    assert reconciled(ratings)
    assert sum(ratings["rejected"].values()) == len(LINE_CASES)
    assert damaged_killed_rerun.rerun.returncode == 0
    assert damaged_killed_rerun.runs[1]["pushed_version"]


def test_a_bom_before_movies_dat_loses_no_movie(damaged_killed_rerun):
    report = ingest_report(damaged_killed_rerun.output)
    movies = report["movies"]
    assert movies["rejected"] == {} and movies["accepted"] == SPEC.num_movies
    # Movie 1's ratings are not "unknown_movie".
    assert "unknown_movie" not in report["ratings"]["rejected"]


def test_the_ingest_summary_reaches_the_console_on_every_run(damaged_killed_rerun):
    # The rerun's ExampleGen was served from cache: its summary is printed all the same.
    ratings = ingest_report(damaged_killed_rerun.output)["ratings"]
    out = damaged_killed_rerun.rerun.stdout
    assert f"{ratings['lines']} lines = {ratings['accepted']} accepted" in out
    assert "1 id_too_large" in out


@pytest.fixture(scope="module")
def reordered_csv(tmp_path_factory) -> tuple[Path, list[list[str]]]:
    """ml-latest files with the ratings columns in another order (named by the header), a
    BOM before movies.csv and a quoted title across two lines."""
    data = synthesize(tmp_path_factory.mktemp("reordered-csv"), "ml-latest")
    ratings = list(csv.reader(io.StringIO((data / "ratings.csv").read_text())))
    order = [1, 0, 3, 2]  # movieId,userId,timestamp,rating
    (data / "ratings.csv").write_text(
        "".join(",".join(row[i] for i in order) + "\n" for row in ratings)
    )
    movies = list(csv.reader(io.StringIO((data / "movies.csv").read_text(encoding="utf-8"))))
    movies[1][1] = movies[1][1].replace(" (", "\n(")  # "Title\n(1994)", quoted by the writer
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(movies)
    (data / "movies.csv").write_bytes(UTF8_BOM + text.getvalue().encode("utf-8"))
    return data, movies


def test_csv_columns_are_read_by_header_name_and_quoted_titles_span_lines(
    reordered_csv, tmp_path, capsys
):
    data, movies = reordered_csv
    code, out, err = runner_in_process(capsys, data, tmp_path / "out", *UNTIL_INGEST)
    assert code == 0, err[-3000:]
    report = ingest_report(tmp_path / "out")
    ratings, movie_file = report["ratings"], report["movies"]
    # Every rating accepted: read in the header's order, user and movie are not swapped.
    assert ratings["rejected"] == {"header": 1} and reconciled(ratings)
    assert movie_file["accepted"] == len(movies) - 1
    assert movie_file["rejected"] == {"header": 1, "continued_record": 1}
    assert reconciled(movie_file)
    # An --until run says where it stopped, not that its model "was not blessed".
    assert f"Stopped after {EXAMPLE_GEN} (--until)" in out and "not blessed" not in out


# --- settings or files that cannot give a run: one line, before any component ------------


def _header_only(data: Path) -> None:
    (data / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")


def _no_header(data: Path) -> None:
    path = data / "ratings.csv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))


def _renamed_header(data: Path) -> None:
    path = data / "ratings.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("user,item,rating,time\n" + "".join(lines[1:]))


def _also_dat_ratings(data: Path) -> None:
    synthesize(data, "ml-1m")


# (case, layout, damage, extra flags, what the one line says)
PREFLIGHT_CASES = [
    ("header_only_ratings", "ml-latest", _header_only, (), "holds no ratings (only a header"),
    ("csv_without_header", "ml-latest", _no_header, (), "has no header line"),
    (
        "renamed_csv_columns",
        "ml-latest",
        _renamed_header,
        (),
        "does not name the expected columns userId,movieId,rating,timestamp",
    ),
    (
        "every_rating_below_min_rating",
        "ml-1m",
        None,
        ("--min-rating", "6"),
        "is below --min-rating 6",
    ),
    (
        "every_user_too_short",
        "ml-1m",
        None,
        ("--min-timeline-length", "500"),
        "(--min-timeline-length 500); the most any user has is",
    ),
    ("both_dat_and_csv_ratings", "ml-latest", _also_dat_ratings, (), "which one should be read?"),
]


@pytest.mark.parametrize(
    ("case", "layout", "damage", "flags", "says"),
    PREFLIGHT_CASES,
    ids=[c[0] for c in PREFLIGHT_CASES],
)
def test_data_that_cannot_give_examples_fails_before_anything_runs(
    tmp_path, capsys, case, layout, damage, flags, says
):
    data = synthesize(tmp_path / "data", layout)
    if damage:
        damage(data)
    code, _, err = runner_in_process(capsys, data, tmp_path / "out", *flags)
    assert says in one_error_line(code, err)
    assert not (tmp_path / "out").exists()  # failed before the pipeline was built


def test_a_data_path_to_a_file_says_so(tmp_path, capsys):
    data = synthesize(tmp_path / "data")
    code, _, err = runner_in_process(capsys, data / "ratings.dat", tmp_path / "out")
    assert "is a file, not a folder" in one_error_line(code, err)


def test_an_output_path_under_a_file_is_one_line(tmp_path, capsys):
    data = synthesize(tmp_path / "data")
    (tmp_path / "file").write_text("not a folder")
    code, _, err = runner_in_process(capsys, data, tmp_path / "file" / "out")
    assert "file is a file, not a folder" in one_error_line(code, err)


def _refuses_new_files(folder: str) -> bool:
    try:
        with open(os.path.join(folder, ".recs-probe"), "w"):
            pass
    except OSError:
        return True
    os.remove(os.path.join(folder, ".recs-probe"))
    return False


@pytest.mark.skipif(
    not os.path.isdir("/sys/kernel") or not _refuses_new_files("/sys/kernel"),
    reason="needs a folder where even root cannot create files",
)
def test_an_output_folder_that_refuses_files_is_one_line(tmp_path, capsys):
    # We run as root, so chmod cannot make a folder unwritable and there is no spare
    # read-only mount; sysfs refuses new files to root too, which fails the same way.
    data = synthesize(tmp_path / "data")
    code, _, err = runner_in_process(capsys, data, "/sys/kernel/recs-outputs")
    assert "cannot create /sys/kernel/recs-outputs in /sys/kernel" in one_error_line(code, err)


def test_a_disk_too_small_for_the_run_is_one_line(tmp_path, capsys):
    # A sparse ratings file of a size the disk could not hold ten times over (it uses no
    # space itself): the free-space check meets a real disk, not a mock.
    data = synthesize(tmp_path / "data")
    with open(data / "ratings.dat", "r+b") as handle:
        handle.truncate(shutil.disk_usage(tmp_path).free // 5 + (1 << 30))
    code, _, err = runner_in_process(capsys, data, tmp_path / "out")
    assert "not enough free space for" in one_error_line(code, err)


def test_os_errors_name_what_failed():
    full = OSError(errno.ENOSPC, "No space left on device", "/out/x")
    # A lack of space says how much is free there (here: the root's file system).
    assert cli_errors.message(full).startswith("the disk is full: /out/x (")
    assert cli_errors.message(full).endswith(" free there)")
    read_only = OSError(errno.EROFS, "Read-only file system", "/out")
    assert cli_errors.message(read_only) == "the file system is read-only: /out"


def test_debug_shows_the_traceback(tmp_path):
    data = synthesize(tmp_path / "data")
    with pytest.raises(ValueError, match="--min-rating 6"):
        flags = ["--min-rating", "6", "--debug"]
        local_runner.main(["--data-dir", str(data), "--output-dir", str(tmp_path / "o"), *flags])


def test_a_timestamp_window_outside_the_schema_is_one_line(tmp_path, capsys):
    data = synthesize(tmp_path / "data")
    code, _, err = runner_in_process(
        capsys, data, tmp_path / "out", "--max-timestamp", "2200-01-01"
    )
    assert "--max-timestamp" in one_error_line(code, err)


# --- a failed ExampleGen: one line, and its report kept --------------------------------------


def test_too_many_bad_lines_is_one_line_and_the_report_is_kept(tmp_path, capsys):
    spec = synthetic.SyntheticSpec(
        num_users=30, num_movies=60, mean_ratings_per_user=10, seed=3, bad_lines=30
    )
    data = synthesize(tmp_path / "data", spec=spec)
    code = local_runner.main(
        ["--data-dir", str(data), "--output-dir", str(tmp_path / "out"), *UNTIL_INGEST]
    )
    out, err = capsys.readouterr()
    line = one_error_line(code, err)
    assert "ratings.dat: 30 of" in line and "> max_bad_fraction 1.0%" in line
    kept = line.rsplit("Ingest report: ", 1)[1]
    assert Path(kept).parent.name == KEPT_REPORTS
    report = json.loads(Path(kept).read_text())
    assert report["error"] in line and reconciled(report["ratings"])
    rejected = report["ratings"]["rejected"]
    assert validation.count_reasons(rejected, validation.INVALID_REASONS) == 30
    # The counts reached the console too.
    assert f"{report['ratings']['lines']} lines = " in out


# --- the schema and the ingest checks agree --------------------------------------------------


def test_schema_domains_are_the_ingest_limits():
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from components.export import signatures
    from components.transform import ids

    schema = text_format.Parse(
        (Path(paths.SCHEMA_DIR) / "schema.pbtxt").read_text(), schema_pb2.Schema()
    )
    domains = {f.name: (f.int_domain.min, f.int_domain.max) for f in schema.feature}
    id_features = [f.name for f in schema.feature if f.name.endswith(("_id", "_ids"))]
    assert {"user_id", "context_movie_id", "label_movie_id"} <= set(id_features)
    for name in id_features:
        # A training piece's targets are ids, or 0 where a position has no target.
        lowest = raw.NO_TARGET if name == raw.NEXT_MOVIE_IDS else limits.MIN_RAW_ID
        assert domains[name] == (lowest, limits.MAX_RAW_ID), name
    assert domains["label_timestamp"] == (limits.EARLIEST_TIMESTAMP, limits.LATEST_TIMESTAMP)
    assert domains["context_movie_year"] == (limits.MIN_YEAR, limits.MAX_YEAR)
    assert domains["user_age"] == (limits.MIN_AGE, limits.MAX_AGE)
    genders = next(d for d in schema.string_domain if d.name == "gender")
    assert tuple(genders.value) == limits.GENDERS
    # The exporter's table limit is the same one limit: the largest id ingest accepts gets
    # its own table row, the next one would not.
    assert ids.MAX_TABLE_SIZE == ids.MAX_RAW_ID + 1
    table = signatures.raw_to_row_table([str(ids.MAX_RAW_ID).encode()])
    assert signatures.raw_to_row(table, np.array([ids.MAX_RAW_ID], np.int32)).numpy()[0] == (
        ids.FIRST_VOCAB_ROW
    )
    with pytest.raises(ValueError, match="too large"):
        signatures.raw_to_row_table([str(ids.MAX_RAW_ID + 1).encode()])
    assert limits.EARLIEST_TIMESTAMP < limits.DEFAULT_MIN_TIMESTAMP < limits.LATEST_TIMESTAMP


# --- a killed run is recorded as abandoned; lineage works on after the rerun -----------------

ALWAYS_BLESS = pipeline_runs.ALWAYS_BLESS


def _trainer_running(metadata_path: str) -> bool:
    if not os.path.exists(metadata_path):
        return False
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    try:
        store = metadata_store.MetadataStore(config)
        return any(
            e.last_known_state == metadata_store_pb2.Execution.RUNNING
            for e in store.get_executions_by_type("tfx.components.trainer.component.Trainer")
        )
    except Exception:  # the writer may hold the database for a moment
        return False


@dataclasses.dataclass(frozen=True)
class KilledAndRerun:
    output: Path
    before: list[dict]  # `lineage runs` between the kill and the rerun
    rerun: subprocess.CompletedProcess
    runs: list[dict]  # `lineage runs` after the rerun


def lineage_runs(output: Path) -> list[dict]:
    code, out, err = captured(
        lineage.main, ["--output-dir", str(output), "runs", "--format", "json"]
    )
    assert code == 0, err
    return json.loads(out)["runs"]


@pytest.fixture(scope="module")
def damaged_killed_rerun(tmp_path_factory) -> KilledAndRerun:
    """The damaged ML-1M data through the real CLI: a run killed (its whole process group)
    while the Trainer runs, then a rerun that pushes."""
    data = damaged_ml1m(tmp_path_factory.mktemp("damaged-ml1m"))
    output = tmp_path_factory.mktemp("damaged-ml1m-out")
    common = ["--data-dir", str(data), "--output-dir", str(output), IN_MEMORY, *ALWAYS_BLESS]
    command = [sys.executable, "-m", "pipeline.local_runner", *common]
    first = subprocess.Popen(
        [*command, "--hparam", "epochs=100000"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    metadata = paths.metadata_path(str(output))
    deadline = time.monotonic() + 300
    try:
        while not _trainer_running(metadata):
            assert first.poll() is None, "the first run ended before its Trainer started"
            assert time.monotonic() < deadline, "the Trainer never started"
            time.sleep(0.5)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before = lineage_runs(output)
    rerun = subprocess.run(
        [*command, "--hparam", "epochs=1"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
        check=False,
    )
    return KilledAndRerun(output, before, rerun, lineage_runs(output))


def test_a_killed_run_is_abandoned_and_lineage_diff_works_after_the_rerun(damaged_killed_rerun):
    # Before the rerun, lineage already shows the dead run as abandoned (without writing).
    (dead,) = damaged_killed_rerun.before
    assert dead["status"] == "abandoned" and "ended without finishing it" in dead["abandoned"]
    rerun = damaged_killed_rerun.rerun
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"Run {dead['run']} was abandoned" in rerun.stdout
    for noise in ("Traceback", "Exception ignored"):
        assert noise not in rerun.stderr
    runs = damaged_killed_rerun.runs
    assert [r["status"] for r in runs] == ["abandoned", "complete"]
    trainer = next(c for c in runs[0]["components"] if c["component"] == "Trainer")
    assert trainer["state"] == "FAILED"
    # The rerun reused what the dead run finished, and pushed.
    cached = {c["component"] for c in runs[1]["components"] if c["cached"]}
    assert {EXAMPLE_GEN, "Transform"} <= cached and runs[1]["pushed_version"]
    code, compared, err = captured(
        lineage.main,
        ["--output-dir", str(damaged_killed_rerun.output), "diff", "previous", "latest"],
    )
    assert code == 0, err
    assert "epochs" in compared


# --- the on-device tool: a damaged model or sidecar is one line, never a crash -------------


def _pushed(output: Path) -> Path:
    (version,) = serving.version_ids(str(output / "serving_models"))
    return output / "serving_models" / version


def _truncate(folder: Path) -> None:
    model = folder / "model.tflite"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])


def _empty(folder: Path) -> None:
    (folder / "model.tflite").write_bytes(b"")


def _garbage(folder: Path) -> None:
    (folder / "model.tflite").write_bytes(b"this is not a model " * 200)


def _malformed_sidecar(folder: Path) -> None:
    (folder / "model.json").write_text('{"inputs": [')


def _sidecar_without(key: str):
    def damage(folder: Path) -> None:
        sidecar = json.loads((folder / "model.json").read_text())
        del sidecar[key]
        (folder / "model.json").write_text(json.dumps(sidecar))

    return damage


def _sidecar_naming_a_missing_signature(folder: Path) -> None:
    sidecar = json.loads((folder / "model.json").read_text())
    sidecar["signatures"]["recommend_v2"] = "not in this model"
    (folder / "model.json").write_text(json.dumps(sidecar))


MODEL_CASES = [
    ("truncated_model", _truncate, "is damaged"),
    ("empty_model", _empty, "is empty (0 bytes)"),
    ("garbage_model", _garbage, "is not a TFLite model"),
    ("malformed_sidecar", _malformed_sidecar, "is not valid JSON"),
    ("sidecar_without_inputs", _sidecar_without("inputs"), "'inputs' must be a JSON list"),
    ("sidecar_names_a_missing_signature", _sidecar_naming_a_missing_signature, "recommend_v2"),
]


@pytest.mark.parametrize(("case", "damage", "says"), MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_a_damaged_model_is_one_line(damaged_killed_rerun, tmp_path, case, damage, says):
    folder = shutil.copytree(_pushed(damaged_killed_rerun.output), tmp_path / "model")
    damage(folder)
    result = run_module("commands.recommend", "--model", str(folder), "--history", "1")
    assert says in one_error_line(result.returncode, result.stderr)


def test_the_pushed_model_still_recommends_and_a_non_utf8_histories_file_is_one_line(
    damaged_killed_rerun, tmp_path
):
    folder = _pushed(damaged_killed_rerun.output)
    movie = next(iter(json.loads((folder / "model.json").read_text())["movies"]))
    good = run_module("commands.recommend", "--model", str(folder), "--history", movie, "--json")
    assert good.returncode == 0, good.stderr
    histories = tmp_path / "histories.txt"
    histories.write_bytes(f"{movie}\n\xff{movie}\n".encode("latin-1"))
    result = run_module("commands.recommend", "--model", str(folder), "--histories", str(histories))
    assert "is not UTF-8 text (line 2)" in one_error_line(result.returncode, result.stderr)


# --- the other command lines -------------------------------------------------------------


def _cli(module: str):
    import importlib

    return importlib.import_module(module).main


# (command line, its arguments given a tmp folder with a plain file "file" in it, message)
CLI_CASES = [
    (
        "kubeflow.runner",
        lambda tmp: [
            "--pipeline-root",
            "gs://b/r",
            "--image",
            "i",
            "--output",
            f"{tmp}/file/p.json",
        ],
        "a file is in the way of a folder",
    ),
    (
        "kubeflow.submit",
        lambda tmp: ["vertex", "--package", f"{tmp}/none.json", "--project", "p", "--region", "r"],
        "none.json does not exist",
    ),
    (
        "commands.data",
        lambda tmp: ["synthesize", "--out", f"{tmp}/file/data", "--users", "2"],
        "a part of the path is a file",
    ),
    (
        "commands.lineage",
        lambda tmp: ["--metadata", f"{tmp}/none.sqlite", "runs"],
        "no ML Metadata",
    ),
    ("commands.recommend", lambda tmp: ["--model", f"{tmp}/none", "--history", "1"], "No pushed"),
]


@pytest.mark.parametrize(("module", "arguments", "says"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_every_command_line_ends_an_expected_failure_in_one_line_or_debug(
    tmp_path, capsys, module, arguments, says
):
    (tmp_path / "file").write_text("")
    main = _cli(module)
    code = main(arguments(tmp_path))
    assert says in one_error_line(code, capsys.readouterr().err)
    with pytest.raises(Exception):  # noqa: B017  (each command's own error type)
        main([*arguments(tmp_path), "--debug"])


# --- no traceback noise at exit ----------------------------------------------------------

EXIT_NOISE = """
import sys
if sys.argv[1] == "quiet":
    import components  # what every process running our code imports, Beam workers too
class AtomicFunction:  # stands in for TensorFlow's, whose __del__ fails at exit
    def __del__(self):
        raise TypeError("'NoneType' object is not subscriptable")
AtomicFunction.__del__.__module__ = "tensorflow.python.eager.polymorphic_function.atomic_function"
class Other:
    def __del__(self):
        raise TypeError("a real error")
KEPT_UNTIL_EXIT = [AtomicFunction(), AtomicFunction()]
other = Other()
del other  # not at exit: still reported
"""


@pytest.mark.parametrize("mode", ["quiet", "plain"])
def test_only_tensorflows_exit_time_destructor_noise_is_silenced(tmp_path, mode):
    script = tmp_path / "exit_noise.py"
    script.write_text(EXIT_NOISE)
    result = subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, env=ENV, check=True
    )
    assert "Exception ignored in: <function Other.__del__" in result.stderr
    noisy = result.stderr.count("Exception ignored in: <function AtomicFunction.__del__")
    assert noisy == (0 if mode == "quiet" else 2)
