"""The compiled Vertex / KFP job runs, not only compiles: kubeflow.local_run executes it
task by task with the containers' own entry points, here on the embedded data.

The fast tests check the launcher's pieces against a compiled job (order, paths, resolver
queries, importers, errors); the slow one runs the whole job twice on one pipeline root.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from kubeflow import runner
from kubeflow.local_run import cache, cli, errors, graph
from kubeflow.local_run import registry as artifacts
from pipeline import paths, run_lock
from tests import pipeline_runs

IMAGE = "europe-docker.pkg.dev/demo-project/recs/movie-recs:local"
CLOUD_ROOT = "gs://demo-bucket/movie-recs"
RESOLVER = "latest_blessed_model_resolver"
BLESSING_RESOLVER = f"{RESOLVER}-model-blessing-resolver"
MODEL_RESOLVER = f"{RESOLVER}-model-resolver"
ENTRY_POINT = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
# A few training steps and a gate every model passes: the test is about the job, not the model.
TINY = (
    *("--hparam", "epochs=1", "--hparam", "train_steps=20"),
    *pipeline_runs.ALWAYS_BLESS,
    "--beam-arg=--direct_running_mode=in_memory",  # tiny data: no worker processes
)


def compile_job(path, *extra: str, root: str = CLOUD_ROOT) -> str:
    code = runner.main(["--pipeline-root", root, "--image", IMAGE, "--output", str(path), *extra])
    assert code == 0
    return str(path)


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> str:
    return compile_job(tmp_path_factory.mktemp("job") / "job.json")


def write_job(path, job: dict) -> str:
    path.write_text(json.dumps(job))
    return str(path)


def registry(root) -> list[dict]:
    return artifacts.Registry(
        os.path.join(root, artifacts.LOCAL_RUN_DIR, artifacts.REGISTRY_FILE)
    ).records()


def task_file(root, run_id: str, task: str, name: str) -> dict:
    with open(os.path.join(root, artifacts.LOCAL_RUN_DIR, run_id, task, name)) as handle:
        return json.load(handle)


def only(records: list[dict], **fields) -> dict:
    (found,) = [r for r in records if all(r[k] == v for k, v in fields.items())]
    return found


# --------------------------------------------------------------------------- fast


def test_tasks_run_after_every_producer_they_read(package):
    job = graph.load_job(package)
    order = graph.task_order(job.tasks)
    assert set(order) == set(job.tasks)
    position = {name: i for i, name in enumerate(order)}
    # The model resolver declares no dependentTasks: only its input names its producer.
    assert "dependentTasks" not in job.tasks[MODEL_RESOLVER]
    assert position[BLESSING_RESOLVER] < position[MODEL_RESOLVER] < position["Evaluator"]
    for name, task in job.tasks.items():
        for upstream in graph.upstream_tasks(task):
            assert position[upstream] < position[name], (upstream, name)

    cycle = {"a": {"dependentTasks": ["b"]}, "b": {"dependentTasks": ["a"]}}
    with pytest.raises(errors.LocalRunError, match="cycle"):
        graph.task_order(cycle)


def test_image_and_cloud_paths_become_local_and_python_is_this_interpreter(package, tmp_path):
    root = str(tmp_path / "root")
    run = cli.prepare(["--package", package, "--pipeline-root", root])
    # The compiled data_dir default is the image's copy of the embedded data.
    assert run.parameters["data_dir"] == paths.DATA_DIR
    assert run.input_parameters("MovieLensExampleGen")["input_base"] == paths.DATA_DIR
    assert run.input_parameters("ImportSchemaGen")["schema_file"] == os.path.join(
        paths.SCHEMA_DIR, "schema.pbtxt"
    )
    # Pushes compiled for gs://... land under the local pipeline root.
    pusher = run.input_parameters("TFLitePusher")
    assert pusher["push_destination"] == os.path.join(root, "serving_models")
    assert isinstance(pusher["parity_examples"], float)  # integers are compiled as doubles

    container = run.job.executor("Trainer")["container"]
    command = run.command(container, {"marker": 1})
    assert command[:3] == [sys.executable, "-m", ENTRY_POINT]
    assert json.loads(command[command.index("--json_serialized_invocation_args") + 1]) == {
        "marker": 1
    }
    assert "--json_serialized_inputs_spec_args" in command
    # The image's environment, /pipeline being this checkout.
    assert run.environment["PYTHONPATH"] == paths.REPO_ROOT
    assert run.environment["TF_USE_LEGACY_KERAS"] == "1"

    other = cli.prepare(
        ["--package", package, "--pipeline-root", root, "--data-dir", "relative/data"]
    )
    assert other.parameters["data_dir"] == os.path.abspath("relative/data")


def test_new_outputs_are_named_typed_artifacts_in_the_task_folder(package, tmp_path):
    run = cli.prepare(["--package", package, "--pipeline-root", str(tmp_path)])
    (report,) = run.new_outputs("QualityReport")["report"]
    assert report["name"] == f"{run.run_id}/QualityReport/report"
    assert report["uri"] == os.path.join(run.run_dir, "QualityReport", "report")
    assert artifacts.schema_title(report["type"]) == "movie_recs.EvaluationReport"


def query_filter(job: graph.Job, task: str, output: str) -> str:
    return job.executor(task)["resolver"]["outputArtifactQueries"][output]["filter"]


def record(name: str, title: str, pipeline: str, **metadata) -> dict:
    artifact_type = {"instanceSchema": f"title: {title}\ntype: object\n"}
    return {
        "name": name,
        "uri": f"/{name}",
        "type": artifact_type,
        "metadata": metadata,
        "schema_title": title,
        "pipeline": pipeline,
    }


def test_resolver_queries_of_the_compiled_job_find_the_latest_blessed_model(package, tmp_path):
    job = graph.load_job(package)
    blessing_filter = query_filter(job, BLESSING_RESOLVER, "model_blessing")
    model_filter = query_filter(job, MODEL_RESOLVER, "model")
    store, pipeline = artifacts.Registry(str(tmp_path / "artifacts.jsonl")), job.pipeline_name
    for run, blessed in (("r1", 1.0), ("r2", 0.0)):
        store.add(record(f"{run}/Trainer/model", "tfx.Model", pipeline))
        store.add(
            record(
                f"{run}/Evaluator/blessing",
                "tfx.ModelBlessing",
                pipeline,
                blessed=blessed,
                current_model_id=f"{run}/Trainer/model",
            )
        )
    # Another pipeline's artifacts are out of scope (Vertex queries the pipeline's context).
    store.add(record("x/Trainer/model", "tfx.Model", "another"))

    blessings = store.query(job.pipeline_name, artifacts.parse_filter(blessing_filter))
    assert [b["name"] for b in blessings] == ["r1/Evaluator/blessing"]  # r2 was not blessed
    inputs = {"input": [artifacts.runtime_artifact(blessings[-1])]}
    filled = artifacts.fill_metadata_placeholders(model_filter, inputs)
    assert filled.endswith('name="r1/Trainer/model"')
    models = store.query(job.pipeline_name, artifacts.parse_filter(filled))
    assert [m["uri"] for m in models] == ["/r1/Trainer/model"]
    # No blessed model yet: the model query finds nothing rather than failing.
    assert artifacts.fill_metadata_placeholders(model_filter, {"input": []}) is None
    with pytest.raises(errors.LocalRunError, match="unsupported artifact query clause"):
        artifacts.parse_filter('schema_title="tfx.Model" AND create_time > 3')


def test_cache_keys_follow_inputs_parameters_and_the_driver(package, tmp_path):
    run = cli.prepare(["--package", package, "--pipeline-root", str(tmp_path)])
    run.artifacts["ImportSchemaGen"] = {"schema": [record("r1/ImportSchemaGen/schema", "t", "p")]}
    run.artifacts["StatisticsGen"] = {"statistics": [record("r1/StatisticsGen/s", "t", "p")]}
    validator = run.executor_input("ExampleValidator", str(tmp_path / "out.json"))
    key = cache.cache_key(run.job, "ExampleValidator", validator, {})
    # Output names and places are per run: they are not part of the key.
    again = run.executor_input("ExampleValidator", str(tmp_path / "other.json"))
    again["outputs"]["artifacts"]["anomalies"]["artifacts"][0]["name"] = "r2/x"
    assert cache.cache_key(run.job, "ExampleValidator", again, {}) == key
    run.artifacts["StatisticsGen"]["statistics"][0] = record("r2/StatisticsGen/s", "t", "p")
    changed = run.executor_input("ExampleValidator", str(tmp_path / "out.json"))
    assert cache.cache_key(run.job, "ExampleValidator", changed, {}) != key

    example_gen = run.executor_input("MovieLensExampleGen", str(tmp_path / "out.json"))
    keys = {
        cache.cache_key(
            run.job, "MovieLensExampleGen", example_gen, {"parameterValues": {"span": span}}
        )
        for span in (0, 1)
    }
    assert len(keys) == 2  # the preCacheCheck's span and fingerprint are in the key

    run.executions.add(
        {"cache_key": key, "pipeline": run.job.pipeline_name, "run": "r1", "task": "x",
         "outputs": {}, "output_parameters": {}}
    )  # fmt: skip
    assert run.cached_execution("ExampleValidator", key)["run"] == "r1"
    assert run.cached_execution("ExampleValidator", "another key") is None
    no_cache = cli.prepare(["--package", package, "--pipeline-root", str(tmp_path), "--no-cache"])
    assert no_cache.cached_execution("ExampleValidator", key) is None


@pytest.mark.integration
def test_importer_and_latest_artifact_resolver_across_runs(tmp_path, capsys):
    """The other task kinds TFX compiles: an importer and a LatestArtifactStrategy resolver
    (neither runs a container, so this is fast)."""
    from tfx import v1 as tfx
    from tfx.orchestration import pipeline as tfx_pipeline

    schema = tfx.dsl.Importer(
        source_uri=runner.image_path(paths.SCHEMA_DIR),
        artifact_type=tfx.types.standard_artifacts.Schema,
        reimport=False,
    ).with_id("schema_importer")
    latest = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
        schema=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Schema),
    ).with_id("latest_schema_resolver")
    pipeline = tfx_pipeline.Pipeline(
        pipeline_name="importer-check", pipeline_root=CLOUD_ROOT, components=[schema, latest]
    )
    tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=IMAGE, use_pipeline_spec_2_1=True
        ),
        output_dir=str(tmp_path),
        output_filename="importer.json",
    ).run(pipeline)
    package, root = str(tmp_path / "importer.json"), str(tmp_path / "root")

    for run_id in ("one", "two"):
        argv = ["--package", package, "--pipeline-root", root, "--run-id", run_id]
        assert cli.main(argv) == 0, capsys.readouterr()
    imported = only(registry(root), task="schema_importer")  # reimport=False: one record
    assert imported["uri"] == paths.SCHEMA_DIR and imported["run"] == "one"
    # The resolver runs first (no dependency): nothing in run one, run one's schema in two.
    first = task_file(root, "one", "latest_schema_resolver", "executor_output.json")
    assert first == {"artifacts": {"schema": {"artifacts": []}}}
    second = task_file(root, "two", "latest_schema_resolver", "executor_output.json")
    assert second["artifacts"]["schema"]["artifacts"][0]["name"] == imported["name"]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist: compile it"),
        ("not json", "is not JSON"),
        ('{"pipelineSpec": {"root": {}}}', "is not a PipelineJob JSON"),
        ("[1, 2]", "is not a PipelineJob JSON"),
    ],
)
def test_a_bad_package_is_one_error_line(tmp_path, capsys, content, message):
    package = tmp_path / "job.json"
    if content is not None:
        package.write_text(content)
    assert cli.main(["--package", str(package), "--pipeline-root", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert not (tmp_path / artifacts.LOCAL_RUN_DIR).exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--parameter", "no_such=1"), "the job has no run parameter ['no_such']"),
        (("--pipeline-root", "gs://bucket/root"), "--pipeline-root must be a local folder"),
    ],
)
def test_bad_run_settings_are_one_error_line(package, tmp_path, capsys, extra, message):
    argv = ["--package", package, "--pipeline-root", str(tmp_path), *extra]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda tasks, executors: tasks["Trainer"].update(
                triggerPolicy={"condition": "inputs.parameter_values['x'] == 1"}
            ),
            "task Trainer has a condition: not supported",
        ),
        (
            lambda tasks, executors: executors["Trainer_executor"]["container"]["args"].append(
                "{{$.inputs.parameters['run_fn']}}"
            ),
            "task Trainer: placeholder in \"{{$.inputs.parameters['run_fn']}}\" not supported",
        ),
    ],
)
def test_what_a_local_run_cannot_do_fails_before_any_task(
    package, tmp_path, capsys, change, message
):
    with open(package) as handle:
        job = json.load(handle)
    spec = job["pipelineSpec"]
    change(spec["root"]["dag"]["tasks"], spec["deploymentSpec"]["executors"])
    argv = ["--package", write_job(tmp_path / "job.json", job), "--pipeline-root", str(tmp_path)]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / artifacts.LOCAL_RUN_DIR).exists()


def test_a_second_local_run_on_a_pipeline_root_in_use_is_one_line(package, tmp_path, capsys):
    root = tmp_path / "root"
    with run_lock.RunLock(str(root), command="the first local run"):
        assert cli.main(["--package", package, "--pipeline-root", str(root)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {root} is in use by a live run: pid {os.getpid()}")
    assert "the first local run" in captured.err and captured.err.count("\n") == 1
    assert not (root / artifacts.LOCAL_RUN_DIR).exists() and not captured.out  # nothing ran


def test_a_failing_task_is_named_with_its_log_and_stops_the_run(package, tmp_path, capsys):
    with open(package) as handle:
        job = json.load(handle)
    dag = job["pipelineSpec"]["root"]["dag"]
    dag["tasks"] = {"ImportSchemaGen": dag["tasks"]["ImportSchemaGen"]}
    schema_file = dag["tasks"]["ImportSchemaGen"]["inputs"]["parameters"]["schema_file"]
    schema_file["runtimeValue"]["constant"] = "/pipeline/schema/missing.pbtxt"
    root = tmp_path / "root"
    argv = ["--package", write_job(tmp_path / "bad.json", job), "--pipeline-root", str(root)]

    assert cli.main([*argv, "--run-id", "bad"]) == 2
    captured = capsys.readouterr()
    log = root / artifacts.LOCAL_RUN_DIR / "bad" / "ImportSchemaGen" / "log.txt"
    assert captured.err == f"error: task ImportSchemaGen failed; log: {log}\n"
    (line,) = [line for line in captured.out.splitlines() if line.startswith("ImportSchemaGen")]
    assert " s  failed: " in line and "missing.pbtxt" in line  # the exception, in brief
    assert "missing.pbtxt" in log.read_text()
    assert registry(root) == []  # a failed task registers nothing
    summary = json.loads((log.parent.parent / "run.json").read_text())
    assert [(t["name"], t["status"]) for t in summary["tasks"]] == [("ImportSchemaGen", "failed")]


# --------------------------------------------------------------------------- slow


# Run 2 reuses (Vertex's caching, compiled on by default) every task up to the Trainer;
# the Evaluator's inputs differ (a baseline now), so it and everything after it run again.
CACHED_IN_RUN_2 = {
    "ImportSchemaGen", "MovieLensExampleGen", "StatisticsGen", "ExampleValidator",
    "AnomaliesGate", "Transform", "Trainer", "FitBaselines",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.integration
def test_the_compiled_job_runs_twice_and_the_second_run_uses_the_first_model(tmp_path, capsys):
    root = str(tmp_path / "root")
    package = compile_job(tmp_path / "job.json", *TINY, "--local", root=root)
    job = graph.load_job(package)
    capsys.readouterr()  # the compiler's lines

    statuses = {}
    for run_id in ("run-1", "run-2"):
        code = cli.main(["--package", package, "--pipeline-root", root, "--run-id", run_id])
        out = capsys.readouterr().out
        with capsys.disabled():
            print(f"\n{out}")  # the per-task wall times, shown with -s
        assert code == 0, out
        lines = [line.split(None, 3) for line in out.splitlines()[1:-1]]
        assert all(seconds_unit == "s" for _, _, seconds_unit, _ in lines), out
        statuses[run_id] = {name: status for name, _, _, status in lines}
        assert set(statuses[run_id]) == set(job.tasks)
    assert set(statuses["run-1"].values()) == {"ok"}
    cached = {name for name, status in statuses["run-2"].items() if status != "ok"}
    assert cached == CACHED_IN_RUN_2
    assert {statuses["run-2"][name] for name in cached} == {"ok (cached from run-1)"}
    records = registry(root)

    # ExampleGen: the driver's fingerprint and the executor's ingest counts reach its
    # Examples, and downstream tasks receive them.
    examples = only(records, run="run-1", task="MovieLensExampleGen")["metadata"]
    assert examples["input_fingerprint"].startswith("split:single_split")
    assert examples["rating_lines"] >= examples["accepted_ratings"] > examples["examples_train"]
    assert examples["examples_train"] > 0 and examples["examples_eval"] > 0
    evaluator_input = task_file(root, "run-1", "Evaluator", "executor_input.json")
    (evaluated,) = evaluator_input["inputs"]["artifacts"]["examples"]["artifacts"]
    assert evaluated["metadata"]["examples_eval"] == examples["examples_eval"]
    assert evaluator_input["inputs"]["artifacts"]["baseline_model"] == {"artifacts": []}

    # The Evaluator names the model it blessed by the Trainer artifact's name.
    model_1 = only(records, run="run-1", task="Trainer", output="model")
    blessing_1 = only(records, run="run-1", task="Evaluator", output="blessing")["metadata"]
    assert blessing_1["blessed"] == 1 and blessing_1["current_model_id"] == model_1["name"]
    assert "baseline_model_id" not in blessing_1  # nothing blessed before run 1

    # The pushed TFLite model exists and passed the parity check.
    pushed = only(records, run="run-1", task="TFLitePusher")["metadata"]
    assert pushed["pushed"] == 1
    destination = pushed["pushed_destination"]
    assert destination.startswith(os.path.join(root, "serving_models"))
    assert os.path.getsize(os.path.join(destination, "model.tflite")) > 0
    with open(os.path.join(destination, "model.json")) as handle:
        assert json.load(handle)["parity"]["contexts"] > 0
    report = only(records, run="run-1", task="QualityReport")
    assert report["schema_title"] == "movie_recs.EvaluationReport"
    assert os.path.exists(os.path.join(report["uri"], "summary.txt"))

    # Run 2's resolvers find run 1's blessed model, and its Evaluator compares against it.
    resolved = task_file(root, "run-2", MODEL_RESOLVER, "executor_output.json")
    (baseline,) = resolved["artifacts"]["model"]["artifacts"]
    assert (baseline["name"], baseline["uri"]) == (model_1["name"], model_1["uri"])
    blessing_2 = only(records, run="run-2", task="Evaluator", output="blessing")["metadata"]
    assert blessing_2["baseline_model_id"] == model_1["name"]
    # With the Trainer cached, the candidate is run 1's model too: Vertex would do the same.
    assert blessing_2["current_model_id"] == model_1["name"]
    assert not [r for r in records if r["run"] == "run-2" and r["task"] in CACHED_IN_RUN_2]
    # The same model converts to the same bytes: recorded as unchanged, no new version.
    pushed_2 = only(records, run="run-2", task="TFLitePusher")["metadata"]
    assert pushed_2["pushed"] == 0
    assert pushed_2["unchanged_version"] == pushed["pushed_version"]
