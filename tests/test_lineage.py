"""Lineage (python -m commands.lineage) over two real runs on tiny synthetic data.

The first run trains the CNN id model, the second the BOW id model with another learning
rate on the same files; a gate that always passes blesses and pushes both models.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from commands.lineage import cli
from components.contracts.ingest_report import IngestReport
from components.data_formats import synthetic
from components.example_gen.ingest_record import INPUT_ROLES
from pipeline import paths
from tests import pipeline_runs

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SPEC = synthetic.SyntheticSpec(
    num_users=60, num_movies=120, mean_ratings_per_user=20, seed=11, bad_lines=4
)
# Always blessed: any recall passes the bound, any regression the baseline comparison.
ALWAYS_BLESS = pipeline_runs.ALWAYS_BLESS
SMALL_TRAINING = ("--hparam", "epochs=1", "--hparam", "batch_size=64")
FIRST = ("--config", "cnn_id", *SMALL_TRAINING, *ALWAYS_BLESS)
SECOND = ("--config", "bow_id", *SMALL_TRAINING, "--hparam", "learning_rate=0.01", *ALWAYS_BLESS)
MODEL_CHAIN = [
    "MovieLensExampleGen",
    "FitBaselines",
    "Transform",
    "Trainer",
    "Evaluator",
    "QualityReport",
    "TFLitePusher",
]
RUN_1_CACHED_IN_RUN_2 = {
    "ImportSchemaGen",
    "MovieLensExampleGen",
    "StatisticsGen",
    "ExampleValidator",
    "AnomaliesGate",
    "FitBaselines",
}
# The part of the model's chain that the config change made run again.
RERUN_IN_RUN_2 = [c for c in MODEL_CHAIN if c not in RUN_1_CACHED_IN_RUN_2]
DATA_FILES = {"ratings": "ratings.dat", "movies": "movies.dat", "users": "users.dat"}
RUN_KEYS = {
    "run",
    "index",
    "pipeline",
    "status",
    "started",
    "finished",
    "duration_s",
    "pushed_version",
    "abandoned",
    "components",
}
EXECUTION_KEYS = {
    "component",
    "component_class",
    "execution_id",
    "state",
    "cached",
    "run",
    "started",
    "finished",
    "duration_s",
}
STEP_KEYS = {"reused_by", "inputs", "outputs", "details"}
COMPARED_SECTIONS = (
    "data_files",
    "input_fingerprint",
    "example_counts",
    "ingest_settings",
    "schema",
    "hparams",
    "thresholds",
    "outcome",
)
DIFF_KEYS = {"run_a", "run_b", "input_config", "metrics", "components", *COMPARED_SECTIONS}


@dataclasses.dataclass(frozen=True)
class TwoRuns:
    data_dir: str
    output_dir: str

    @property
    def metadata(self) -> str:
        return paths.metadata_path(self.output_dir)

    def sha256(self, role: str) -> str:
        with open(os.path.join(self.data_dir, DATA_FILES[role]), "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()

    def size(self, role: str) -> int:
        return os.path.getsize(os.path.join(self.data_dir, DATA_FILES[role]))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> TwoRuns:
    data_dir = str(tmp_path_factory.mktemp("lineage-data"))
    output_dir = str(tmp_path_factory.mktemp("lineage-outputs"))
    synthetic.write_movielens(data_dir, "ml-1m", SPEC)
    pipeline_runs.run_pipeline(data_dir, output_dir, *FIRST)
    pipeline_runs.run_pipeline(data_dir, output_dir, *SECOND)
    return TwoRuns(data_dir, output_dir)


def lineage(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lineage_json(capsys, store: str, *args: str) -> dict:
    code, out, err = lineage(capsys, "--metadata", store, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def error_of(capsys, *args: str) -> str:
    """The one-line error of a failing command (exit status 2, no traceback)."""
    code, out, err = lineage(capsys, *args)
    assert code == 2 and not out
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def steps_by_component(provenance: dict) -> dict[str, dict]:
    return {step["component"]: step for step in provenance["steps"]}


def output_id(step: dict, key: str) -> int:
    return next(a["artifact_id"] for a in step["outputs"] if a["key"] == key)


# --- runs -------------------------------------------------------------------------------


def test_runs_show_status_times_and_which_components_were_cached(two_runs, capsys):
    listed = lineage_json(capsys, two_runs.metadata, "runs")["runs"]
    assert [run["index"] for run in listed] == [1, 2]
    assert [run["status"] for run in listed] == ["complete", "complete"]
    first, second = listed
    assert first["started"] <= first["finished"] <= second["started"] <= second["finished"]
    assert first["pushed_version"] and second["pushed_version"]
    assert first["pushed_version"] != second["pushed_version"]
    assert not any(c["cached"] for c in first["components"])
    cached = {c["component"] for c in second["components"] if c["cached"]}
    # Only the config changed: data and validation are reused, the model part re-runs.
    assert cached == RUN_1_CACHED_IN_RUN_2
    for component in second["components"]:
        assert component["duration_s"] >= 0
        assert (component["state"] == "CACHED") == component["cached"]

    code, text, _ = lineage(capsys, "--output-dir", two_runs.output_dir, "runs", "latest")
    assert code == 0
    assert text.startswith(f"run 2  {second['run']}  complete")
    assert re.search(r"\bMovieLensExampleGen\s+CACHED\s+yes\b", text)
    assert re.search(r"\bTrainer\s+COMPLETE\s+no\b", text)


# --- model ------------------------------------------------------------------------------


def test_pushed_model_chain_is_walked_from_events_in_order(two_runs, capsys):
    latest = lineage_json(capsys, two_runs.metadata, "model", "--pushed", "latest")
    listed = lineage_json(capsys, two_runs.metadata, "runs")["runs"]
    components = [step["component"] for step in latest["steps"]]
    # ImportSchemaGen has no inputs; its place among the sources is a matter of timing.
    assert [c for c in components if c != "ImportSchemaGen"] == MODEL_CHAIN
    assert components.index("ImportSchemaGen") < components.index("Transform")
    # The steps are exactly each execution's inputs and outputs in MLMD, linked output to input.
    steps = steps_by_component(latest)
    assert output_id(steps["MovieLensExampleGen"], "examples") in {
        a["artifact_id"] for a in steps["Transform"]["inputs"]
    }
    assert output_id(steps["Trainer"], "model") == next(
        a["artifact_id"] for a in steps["TFLitePusher"]["inputs"] if a["key"] == "model"
    )
    assert output_id(steps["TFLitePusher"], "pushed_model") == latest["pushed_model"]["artifact_id"]

    # The data part ran in run 1 and was reused from cache by run 2; the rest ran in run 2.
    first, second = listed
    for component in ("MovieLensExampleGen", "FitBaselines"):
        assert steps[component]["run"] == first["run"]
        assert [r["run"] for r in steps[component]["reused_by"]] == [second["run"]]
    for component in RERUN_IN_RUN_2:
        assert steps[component]["run"] == second["run"]
        assert steps[component]["state"] == "COMPLETE" and not steps[component]["reused_by"]
    second_ids = {c["execution_id"]: c["component"] for c in second["components"]}
    assert {steps[c]["execution_id"] for c in RERUN_IN_RUN_2} <= set(second_ids)
    assert latest["pushed_model"]["run"] == second["run"]
    assert latest["pushed_model"]["version"] == second["pushed_version"]


def test_pushed_model_traces_back_to_the_input_file_checksums(two_runs, capsys):
    provenance = lineage_json(capsys, two_runs.metadata, "model")
    recorded = {f["role"]: f for f in provenance["data_files"]}
    assert set(recorded) == set(DATA_FILES)
    for role, name in DATA_FILES.items():
        assert recorded[role]["path"] == os.path.join(two_runs.data_dir, name)
        assert recorded[role]["sha256"] == two_runs.sha256(role)
        assert recorded[role]["bytes"] == two_runs.size(role)
    assert recorded["ratings"]["lines"] == (
        recorded["ratings"]["accepted"] + sum(recorded["ratings"]["rejected"].values())
    )

    # Every artifact of the model, except the imported schema and the baseline it was
    # compared with, derives from the Examples artifact that recorded those checksums.
    graph = provenance["graph"]
    parents: dict[str, set[str]] = {}
    for edge in graph["edges"]:
        parents.setdefault(edge["to"], set()).add(edge["from"])

    def ancestors(node: str) -> set[str]:
        found, pending = set(), [node]
        while pending:
            for parent in parents.get(pending.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    pending.append(parent)
        return found

    steps = steps_by_component(provenance)
    examples = f"a{output_id(steps['MovieLensExampleGen'], 'examples')}"
    baseline = steps["Evaluator"]["details"]["baseline"]["model_artifact_id"]
    schema = f"a{output_id(steps['ImportSchemaGen'], 'schema')}"
    artifact_nodes = [n["id"] for n in graph["nodes"] if n["kind"] == "artifact"]
    assert len(artifact_nodes) >= 10
    for node in artifact_nodes:
        if node not in (examples, schema, f"a{baseline}"):
            assert examples in ancestors(node), node
    assert f"e{steps['MovieLensExampleGen']['execution_id']}" in ancestors(examples)
    with open(os.path.join(paths.SCHEMA_DIR, "schema.pbtxt"), "rb") as handle:
        schema_sha256 = hashlib.sha256(handle.read()).hexdigest()
    assert steps["ImportSchemaGen"]["details"]["sha256"] == schema_sha256

    # The same figures are in ExampleGen's report, and the text output prints them.
    examples_uri = next(n["uri"] for n in graph["nodes"] if n["id"] == examples)
    report = IngestReport.read(examples_uri).to_json()
    # Every role ExampleGen records is one lineage looks for.
    assert set(report["input_files"]) <= set(INPUT_ROLES)
    assert {r: f["sha256"] for r, f in report["input_files"].items()} == {
        role: two_runs.sha256(role) for role in DATA_FILES
    }
    code, text, _ = lineage(capsys, "--metadata", two_runs.metadata, "model")
    assert code == 0
    for role in DATA_FILES:
        assert f"sha256 {two_runs.sha256(role)}" in text


def test_model_details_cover_every_component(two_runs, capsys):
    steps = steps_by_component(lineage_json(capsys, two_runs.metadata, "model"))
    example_gen = steps["MovieLensExampleGen"]["details"]
    assert example_gen["data_dir"] == two_runs.data_dir
    assert set(example_gen["splits"]) == {"train", "eval", "test"}
    assert example_gen["splits"]["eval"] == SPEC.num_users
    assert sum(example_gen["rejected"].values()) >= SPEC.bad_lines
    assert "context_movie_id" in steps["ImportSchemaGen"]["details"]["features"]
    # Movie ids seen in training, plus TFT's out-of-vocabulary row at most.
    assert 0 < steps["Transform"]["details"]["vocabularies"]["movie_id"] <= SPEC.num_movies + 1

    trainer = steps["Trainer"]["details"]
    assert "encoder_type: BOW" in trainer["input_config"]
    assert trainer["hparams"]["learning_rate"] == 0.01 and trainer["hparams"]["epochs"] == 1
    assert trainer["training_metrics"]["epochs"] == 1
    # The sequence layout (bow_id's default) logs its loss, and the eval split's hit rates.
    assert "loss" in trainer["training_metrics"]["train"]
    assert {"hr_at_10", "ndcg_at_10"} <= set(trainer["training_metrics"]["validation"])

    evaluator = steps["Evaluator"]["details"]
    assert evaluator["blessed"] is True
    assert evaluator["metrics"]["example_count"] == SPEC.num_users
    assert 0 <= evaluator["metrics"]["recall_at_10"] <= 1
    threshold = evaluator["thresholds"]["recall_at_10"]
    assert threshold["value_threshold"]["lower_bound"] == 0
    assert threshold["change_threshold"]["absolute"] == -1
    rules = evaluator["gate_rules"]
    assert [r["passed"] for r in rules] == [True, True, True]
    assert "first-order Markov" in rules[2]["rule"] and rules[2]["markov"] > 0

    quality = steps["QualityReport"]["details"]
    assert set(quality["test_seen_excluded"]) == {"candidate", "previous", "markov", "popularity"}
    assert os.path.isfile(quality["report"])

    pusher = steps["TFLitePusher"]["details"]
    version = os.path.basename(pusher["path"])
    assert pusher["path"] == os.path.join(paths.push_destination(two_runs.output_dir), version)
    assert pusher["files"]["model.tflite"] == pusher["tflite_bytes"] > 0
    with open(os.path.join(pusher["path"], "model.tflite"), "rb") as handle:
        assert pusher["tflite_sha256"] == hashlib.sha256(handle.read()).hexdigest()
    assert set(pusher["signatures"]) == {"recommend", "recommend_unseen"}
    assert pusher["sidecar_matches_mlmd"] is True


def test_second_evaluator_baseline_is_the_first_blessed_model(two_runs, capsys):
    previous = lineage_json(capsys, two_runs.metadata, "model", "--pushed", "previous")
    latest = lineage_json(capsys, two_runs.metadata, "model", "--pushed", "latest")
    first_steps, second_steps = steps_by_component(previous), steps_by_component(latest)
    assert first_steps["Evaluator"]["details"]["blessed"] is True
    assert first_steps["Evaluator"]["details"]["baseline"] is None
    baseline = second_steps["Evaluator"]["details"]["baseline"]
    assert baseline["model_artifact_id"] == output_id(first_steps["Trainer"], "model")
    assert baseline["trainer_execution_id"] == first_steps["Trainer"]["execution_id"]
    assert baseline["run"] == previous["pushed_model"]["run"]
    assert set(baseline["metrics"]) == set(second_steps["Evaluator"]["details"]["metrics"])
    # The walk does not follow the baseline: run 2's chain has no run 1 Trainer.
    assert second_steps["Trainer"]["execution_id"] != first_steps["Trainer"]["execution_id"]
    # All of run 1's model came from run 1.
    assert {step["run"] for step in previous["steps"]} == {previous["pushed_model"]["run"]}


def test_a_pushed_model_is_named_by_artifact_id_or_version(two_runs, capsys):
    previous = lineage_json(capsys, two_runs.metadata, "model", "--pushed", "previous")
    pushed = previous["pushed_model"]
    for ref in (str(pushed["artifact_id"]), pushed["version"]):
        again = lineage_json(capsys, two_runs.metadata, "model", "--pushed", ref)
        assert again["pushed_model"] == pushed


def test_json_has_the_documented_keys(two_runs, capsys):
    import commands.lineage

    listed = lineage_json(capsys, two_runs.metadata, "runs")
    assert set(listed) == {"metadata", "runs"}
    assert set(listed["runs"][0]) == RUN_KEYS
    assert set(listed["runs"][0]["components"][0]) == EXECUTION_KEYS
    provenance = lineage_json(capsys, two_runs.metadata, "model")
    assert set(provenance) == {"pushed_model", "data_files", "steps", "graph"}
    assert set(provenance["pushed_model"]) == {"artifact_id", "version", "path", "run", "run_index"}
    assert set(provenance["steps"][0]) == EXECUTION_KEYS | STEP_KEYS
    assert set(provenance["graph"]) == {"nodes", "edges"}
    diff = lineage_json(capsys, two_runs.metadata, "diff", "1", "2")
    assert set(diff) == DIFF_KEYS
    for section in COMPARED_SECTIONS:
        assert set(diff[section]) == {"changed", "same"}, section
    # The package docstring (the --help text's source) documents the same keys.
    documented = " ".join(commands.lineage.__doc__.split())
    for key in [*RUN_KEYS, *EXECUTION_KEYS, *STEP_KEYS, *DIFF_KEYS]:
        assert key in documented, key


# --- diff -------------------------------------------------------------------------------


def test_diff_reports_the_config_change_and_unchanged_data(two_runs, capsys):
    diff = lineage_json(capsys, two_runs.metadata, "diff", "1", "2")
    assert diff["data_files"]["changed"] == {}
    for role in DATA_FILES:
        assert diff["data_files"]["same"][f"{role}.sha256"] == two_runs.sha256(role)
    assert diff["example_counts"]["changed"] == {}
    assert diff["example_counts"]["same"]["splits.eval"] == SPEC.num_users
    assert diff["ingest_settings"]["changed"] == {} and diff["schema"]["changed"] == {}
    config = diff["input_config"]
    assert config["changed"]
    assert "-  encoder_type: CNN" in config["unified_diff"]
    assert "+  encoder_type: BOW" in config["unified_diff"]
    assert diff["hparams"]["changed"] == {"learning_rate": {"a": 0.002, "b": 0.01}}
    assert diff["hparams"]["same"]["epochs"] == 1
    assert diff["thresholds"]["changed"] == {}
    recall = diff["metrics"]["recall_at_10"]
    assert recall["delta"] == pytest.approx(recall["b"] - recall["a"])
    outcome = diff["outcome"]
    assert outcome["same"]["blessed"] is True
    assert set(outcome["changed"]) == {"pushed_version", "baseline_model_artifact_id"}
    assert outcome["changed"]["baseline_model_artifact_id"]["a"] is None
    assert set(diff["components"]["b"]["cached"]) == RUN_1_CACHED_IN_RUN_2

    code, text, _ = lineage(capsys, "--metadata", two_runs.metadata, "diff", "previous", "latest")
    assert code == 0
    assert "Data files: unchanged" in text and "Input config: changed" in text
    assert "    +  encoder_type: BOW" in text
    assert "learning_rate: 0.002 -> 0.01" in text


# --- graphs -----------------------------------------------------------------------------

NODE = re.compile(r'^\s*"([ae]\d+)" \[shape=(box|ellipse)')
EDGE = re.compile(r'^\s*"([ae]\d+)" -> "([ae]\d+)" \[label="(\w*)"')


def test_dot_has_a_node_per_execution_and_artifact_and_an_edge_per_event(
    two_runs, capsys, tmp_path
):
    provenance = lineage_json(capsys, two_runs.metadata, "model")
    code, dot, _ = lineage(capsys, "--metadata", two_runs.metadata, "model", "--format", "dot")
    assert code == 0
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    lines = dot.splitlines()
    nodes = {m[1]: m[2] for m in map(NODE.match, lines) if m}
    edges = [m.groups() for m in map(EDGE.match, lines) if m]
    executions = {f"e{step['execution_id']}" for step in provenance["steps"]}
    assert {n for n, shape in nodes.items() if shape == "box"} == executions
    assert {n for n, shape in nodes.items() if shape == "ellipse"} == {
        n["id"] for n in provenance["graph"]["nodes"] if n["kind"] == "artifact"
    }
    assert sorted(edges) == sorted(
        (e["from"], e["to"], e["key"]) for e in provenance["graph"]["edges"]
    )
    # Inputs point into executions, outputs out of them.
    assert all(source in nodes and target in nodes for source, target, _ in edges)
    assert all(source[0] != target[0] for source, target, _ in edges)
    for step in provenance["steps"]:
        run_index = 1 if step["run"] == provenance["steps"][0]["run"] else 2
        assert f"execution {step['execution_id']}, run {run_index}" in dot

    image = tmp_path / "lineage.svg"
    args = ("--metadata", two_runs.metadata, "runs", "--format", "svg", "--out", str(image))
    if shutil.which("dot"):
        assert lineage(capsys, *args)[0] == 0
        assert "<svg" in image.read_text()
    else:
        assert "Graphviz" in error_of(capsys, *args)


# --- errors -----------------------------------------------------------------------------


def test_missing_and_empty_stores_are_clear_errors(tmp_path, capsys):
    missing = str(tmp_path / "nowhere" / "metadata.sqlite")
    assert "no ML Metadata store at" in error_of(capsys, "--metadata", missing, "runs")
    assert not os.path.exists(missing)
    assert "no ML Metadata store at" in error_of(
        capsys, "--output-dir", str(tmp_path / "nowhere"), "model"
    )
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert "is empty" in error_of(capsys, "--metadata", str(empty), "runs")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_text("not a database\n")
    message = error_of(capsys, "--metadata", str(garbage), "runs")
    assert "not a readable ML Metadata store" in message

    # A store MLMD initialised but no pipeline has used.
    fresh = str(tmp_path / "fresh.sqlite")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = fresh
    metadata_store.MetadataStore(config)
    assert "has no pipeline runs yet" in error_of(capsys, "--metadata", fresh, "runs")
    assert "no model has been pushed" in error_of(capsys, "--metadata", fresh, "model")
    assert "has no pipeline runs yet" in error_of(capsys, "--metadata", fresh, "diff", "1", "2")


def test_unknown_ids_are_clear_errors(two_runs, capsys):
    store = ("--metadata", two_runs.metadata)
    assert "no run '99'" in error_of(capsys, *store, "diff", "1", "99")
    assert "no run 'yesterday'" in error_of(capsys, *store, "runs", "yesterday")
    assert "no pushed model '999999'" in error_of(capsys, *store, "model", "--pushed", "999999")
    steps = steps_by_component(lineage_json(capsys, two_runs.metadata, "model"))
    examples = output_id(steps["MovieLensExampleGen"], "examples")
    assert "is a Examples, not a PushedModel" in error_of(
        capsys, *store, "model", "--pushed", str(examples)
    )
    assert "--out FILE" in error_of(capsys, *store, "runs", "--format", "png")


def test_a_run_still_in_progress_is_shown_and_refused(two_runs, capsys, tmp_path):
    copy = str(tmp_path / "metadata.sqlite")
    shutil.copy(two_runs.metadata, copy)
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = copy
    store = metadata_store.MetadataStore(config)
    run = store.get_contexts_by_type("pipeline_run")[-1]
    trainer = next(e for e in store.get_executions_by_context(run.id) if "Trainer" in e.type)
    trainer.last_known_state = metadata_store_pb2.Execution.RUNNING
    store.put_executions([trainer])
    del store

    latest = lineage_json(capsys, copy, "runs", "latest")["runs"][0]
    assert latest["status"] == "running" and latest["finished"] is None
    state = {c["component"]: (c["state"], c["duration_s"]) for c in latest["components"]}
    assert state["Trainer"] == ("RUNNING", None)
    for args in (("model",), ("diff", "1", "2")):
        message = error_of(capsys, "--metadata", copy, *args)
        assert f"run 2 ({run.name}) is still in progress (Trainer RUNNING" in message
    # The finished first run's model still has a lineage.
    assert lineage_json(capsys, copy, "model", "--pushed", "previous")["steps"]


def test_runs_as_a_module_with_errors_on_stderr(two_runs, tmp_path):
    env = {**os.environ, "PYTHONPATH": paths.REPO_ROOT}
    command = [sys.executable, "-m", "commands.lineage"]
    listed = subprocess.run(
        [*command, "--output-dir", two_runs.output_dir, "runs"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "run 2  " in listed.stdout
    failed = subprocess.run(
        [*command, "runs", "--metadata", str(tmp_path / "none.sqlite")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: no ML Metadata store at") and not failed.stdout
