"""Each contract's round trip, the files today's writers wrote (no version) read as before,
and a newer version is an error. No TensorFlow is imported to read or write them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from components.contracts.base import NewerVersionError
from components.contracts.baseline_metrics import BaselineMetrics
from components.contracts.gate_result import GateResult
from components.contracts.ingest_report import FileSection, IngestReport, InputFile
from components.contracts.model_start import ModelStart
from components.contracts.movie_table import MovieTable
from components.contracts.on_device_spec import OnDeviceSpec
from components.contracts.quality_metrics import QualityMetrics
from components.contracts.sidecar import Sidecar
from components.contracts.training_log import TrainingLog
from components.contracts.warm_start_tables import WarmStartTables

RATINGS = {
    "file": "ratings.dat",
    "lines": 11,
    "accepted": 9,
    "rejected": {"header": 1, "malformed": 1},
    "first_rejections": {"header": "line 1", "malformed": "line 5"},
}
# An ingest report as ExampleGen wrote it before the contract (no version, no error key).
INGEST = {
    "data_dir": "data",
    "layout": "ML_1M",
    "ratings_file": "data/ratings.dat",
    "input_files": {"ratings": {"path": "data/ratings.dat", "bytes": 120, "sha256": "ab"}},
    "movies": {**RATINGS, "file": "movies.dat"},
    "users": None,
    "ratings": RATINGS,
    "examples": {"train": 5, "test": 1},
    "settings": {"max_bad_fraction": 0.01},
    "spans": None,
    "timestamp_window": {"min": 0, "max": 10, "min_utc": "1970", "max_utc": "1970"},
}
TRAINING_LOG = {
    "batch_size": 128,
    "loss": "softmax",
    "started": {"started": "scratch", "reason": "first run"},
    "monitor": "val_hr_at_10",
    "epochs_trained": 2,
    "best_epoch": 2,
    "best": 0.2,
    "initial": None,
    "ended_by": "max_epochs",
    "train_seconds": 3.5,
    "epochs": [{"epoch": 1, "loss": 5.0, "seconds": 1.0}, {"epoch": 2, "seconds": 3.5}],
}
GATE = {"blessed": False, "rules": [{"rule": "bound", "passed": False, "detail": "0.1"}]}
QUALITY = {
    "blessed": False,
    "gate": GATE,
    "test": {"candidate": {"seen_excluded": {"overall": {"hr@10": 0.3}}}},
    "model_start": None,
    "spans": None,
}
STARTED = {"started": "scratch", "reason": "first run", "fresh_weights": []}
BASELINES = {"eval": {"markov": {"seen_excluded": {"overall": {"hr@10": 0.2}}}}}
SIDECAR = {"model_file": "model.tflite", "k": 10, "movies": {"1": {"title": "Toy Story"}}}

CASES = [
    (IngestReport, INGEST),
    (TrainingLog, TRAINING_LOG),
    (GateResult, GATE),
    (QualityMetrics, QUALITY),
    (ModelStart, STARTED),
    (Sidecar, SIDECAR),
    (BaselineMetrics, BASELINES),
    (OnDeviceSpec, {"input_config": "label_feature {}", "string_vocabularies": {"g": ["a"]}}),
    (WarmStartTables, {"tables": {"emb/embeddings": "movie"}, "vocabularies": {"movie": ["1"]}}),
    (MovieTable, {"1": {"title": "Toy Story", "genres": ["Animation"], "year": 1995}}),
]


@pytest.mark.parametrize("contract,today", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_todays_file_reads_and_round_trips(tmp_path, contract, today):
    folder = tmp_path / "artifact"
    path = folder / contract.FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(today))
    read = contract.read(str(folder))
    assert {k: v for k, v in read.to_json().items() if k in today} == today
    read.write(str(tmp_path / "again"))
    assert contract.read(str(tmp_path / "again")) == read
    written = json.loads((tmp_path / "again" / contract.FILE).read_text())
    assert written["version"] == contract.VERSION


@pytest.mark.parametrize("contract,today", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_a_newer_version_is_refused(tmp_path, contract, today):
    path = tmp_path / contract.FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**today, "version": contract.VERSION + 1}))
    expected = f"newer than this code reads \\(version {contract.VERSION}\\)"
    with pytest.raises(NewerVersionError, match=expected):
        contract.read(str(tmp_path))


def test_the_ingest_report_is_typed():
    report = IngestReport.from_json(INGEST)
    assert report.ratings == FileSection(**RATINGS)
    assert report.input_files["ratings"] == InputFile("data/ratings.dat", 120, "ab")
    assert [s.file for s in report.file_sections()] == ["ratings.dat", "movies.dat"]
    assert report.counted and report.section("users") is None and report.error is None


def test_a_kept_report_of_a_failure_before_counting_has_only_the_folder_and_error(tmp_path):
    path = str(tmp_path / "kept.json")
    IngestReport(data_dir="data", error="no ratings file").write_file(path)
    report = IngestReport.read_file(path)
    assert not report.counted and report.error == "no ratings file"
    assert report.file_sections() == []


def test_the_training_log_keeps_the_settings_at_the_top_level():
    log = TrainingLog.from_json(TRAINING_LOG)
    assert log.settings == {k: TRAINING_LOG[k] for k in ("batch_size", "loss", "started")}
    assert list(log.to_json()) == list(TRAINING_LOG)


def test_gate_and_start_helpers():
    assert GateResult.from_json(GATE).failed() == GATE["rules"]
    assert not ModelStart.from_json(STARTED).warm


def test_the_sidecar_keeps_non_ascii_titles_as_text():
    sidecar = Sidecar({"movies": {"1": {"title": "Amélie"}}, "k": 5})
    assert "Amélie" in sidecar.to_bytes().decode() and sidecar.k == 5


def test_contracts_import_no_tensorflow():
    code = (
        "import sys, components.contracts.ingest_report, components.contracts.sidecar, "
        "components.contracts.training_log, components.contracts.quality_metrics, "
        "components.contracts.gate_result, components.contracts.model_start, "
        "components.contracts.baseline_metrics, components.contracts.movie_table, "
        "components.contracts.on_device_spec, components.contracts.warm_start_tables; "
        "print('tensorflow' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert completed.stdout.strip() == "False"
