"""The Kubeflow V2 / Vertex AI deployment: compiled offline, checked statically.

No cluster, registry or credentials exist here, so these tests check what can fail before a
job reaches one: the compiled DAG against the local pipeline, images and commands, Beam
arguments, run parameters, the Dockerfile, the TFX CLI path and the submit errors.
Regenerate the golden file after an intended change with UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from components.model import cloud_trainer
from kubeflow import runner, submit
from pipeline import local_runner, paths

IMAGE = "europe-docker.pkg.dev/demo-project/recs/movie-recs:golden"
ROOT = "gs://demo-bucket/movie-recs"
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "vertex_pipeline_job.json")
# The same job with its Trainer on Vertex AI Training: 2 replicas with a GPU each.
VERTEX_TRAINING_GOLDEN = os.path.join(
    os.path.dirname(__file__), "golden", "vertex_training_pipeline_job.json"
)
VERTEX_TRAINING = (
    *("--trainer-replicas", "2", "--trainer-machine-type", "n1-standard-8"),
    *("--trainer-accelerator", "NVIDIA_TESLA_T4:1"),
    *("--project", "demo-project", "--region", "europe-west4"),
)
RESOLVER = "latest_blessed_model_resolver"
EXECUTOR_COMMAND = [
    "python",
    "-m",
    "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor",
]


def compile_job(tmp_path, *extra: str, root: str = ROOT) -> dict:
    output = str(tmp_path / "job.json")
    code = runner.main(["--pipeline-root", root, "--image", IMAGE, "--output", output, *extra])
    assert code == 0
    with open(output) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> dict:
    return compile_job(tmp_path_factory.mktemp("kfp"))


def tasks(job: dict) -> dict:
    return job["pipelineSpec"]["root"]["dag"]["tasks"]


def executors(job: dict) -> dict:
    return job["pipelineSpec"]["deploymentSpec"]["executors"]


def container(job: dict, task: str) -> dict:
    label = job["pipelineSpec"]["components"][task]["executorLabel"]
    return executors(job)[label]["container"]


def normalized(job: dict) -> dict:
    """The job without the fields that change with library versions."""
    job = json.loads(json.dumps(job))
    job.pop("labels", None)
    job["pipelineSpec"]["sdkVersion"] = "tfx-VERSION"
    return job


def test_dag_has_every_component_with_the_local_dependencies(job, tmp_path):
    local = local_runner.build(
        local_runner.parse_args(["--data-dir", paths.DATA_DIR, "--output-dir", str(tmp_path)])
    )
    compiled = tasks(job)
    # The V2 compiler splits the latest-blessed-model resolver into two resolver tasks.
    resolver_tasks = {f"{RESOLVER}-model-resolver", f"{RESOLVER}-model-blessing-resolver"}
    local_ids = {c.id for c in local.components}
    assert set(compiled) == (local_ids - {RESOLVER}) | resolver_tasks

    for component in local.components:
        if component.id == RESOLVER:
            continue
        upstream = {u.id for u in component.upstream_nodes}
        expected = {f"{RESOLVER}-model-resolver" if u == RESOLVER else u for u in upstream}
        assert set(compiled[component.id].get("dependentTasks", [])) == expected, component.id

    evaluator_inputs = compiled["Evaluator"]["inputs"]["artifacts"]
    assert evaluator_inputs["baseline_model"]["taskOutputArtifact"]["producerTask"] == (
        f"{RESOLVER}-model-resolver"
    )
    blessing_query = executors(job)[f"{RESOLVER}-model-blessing-resolver_executor"]["resolver"]
    assert "metadata.blessed.number_value=1" in json.dumps(blessing_query)


def test_every_executor_runs_our_image_and_an_importable_class(job):
    for name, executor in executors(job).items():
        if "resolver" in executor:
            continue
        spec = executor["container"]
        assert spec["image"] == IMAGE, name
        assert spec["command"] == EXECUTOR_COMMAND, name
        class_path = spec["args"][spec["args"].index("--executor_class_path") + 1]
        module, _, attribute = class_path.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), class_path
    driver = container(job, "MovieLensExampleGen")["lifecycle"]["preCacheCheck"]["command"]
    assert importlib.util.find_spec(driver[-1]) is not None
    assert importlib.util.find_spec(EXECUTOR_COMMAND[-1]) is not None


def test_module_code_is_referenced_by_dotted_path_and_no_wheel_is_built(tmp_path):
    root = tmp_path / "root"
    job = compile_job(tmp_path, "--local", root=str(root))
    assert not root.exists(), "compiling must not write under the pipeline root"
    parameters = {
        name: task.get("inputs", {}).get("parameters", {}) for name, task in tasks(job).items()
    }
    assert parameters["Trainer"]["run_fn"]["runtimeValue"]["constant"] == paths.RUN_FN
    assert (
        parameters["Transform"]["preprocessing_fn"]["runtimeValue"]["constant"]
        == paths.PREPROCESSING_FN
    )
    assert "module_file" not in json.dumps(job)
    assert paths.REPO_ROOT not in json.dumps(job)  # no path of the compiling machine


def test_data_dir_is_a_run_parameter_with_a_default(job, tmp_path):
    spec = job["pipelineSpec"]
    assert spec["root"]["inputDefinitions"]["parameters"] == {
        runner.DATA_DIR_PARAMETER: {"parameterType": "STRING"}
    }
    assert job["runtimeConfig"]["parameterValues"] == {
        runner.DATA_DIR_PARAMETER: "/pipeline/data/ml-latest-small"
    }
    assert job["runtimeConfig"]["gcsOutputDirectory"] == ROOT
    # Only ExampleGen reads the data; the pusher takes the movie table from its Examples.
    readers = [
        name
        for name, task in tasks(job).items()
        if task.get("inputs", {}).get("parameters", {}).get("data_dir")
        or task.get("inputs", {}).get("parameters", {}).get("input_base")
    ]
    assert readers == ["MovieLensExampleGen"]
    wired = tasks(job)["MovieLensExampleGen"]["inputs"]["parameters"]["input_base"]
    assert wired == {"componentInputParameter": runner.DATA_DIR_PARAMETER}

    other = compile_job(tmp_path, "--data-dir", "gs://demo-bucket/ml-1m")
    assert other["runtimeConfig"]["parameterValues"][runner.DATA_DIR_PARAMETER] == (
        "gs://demo-bucket/ml-1m"
    )


def test_span_data_compiles_the_span_as_a_run_parameter_and_warm_starts(job, tmp_path):
    spans_job = compile_job(tmp_path, "--span", "latest", "--span-window", "6")
    spec = spans_job["pipelineSpec"]
    assert spec["root"]["inputDefinitions"]["parameters"] == {
        runner.DATA_DIR_PARAMETER: {"parameterType": "STRING"},
        runner.SPAN_PARAMETER: {"parameterType": "STRING"},
    }
    latest = json.loads(spans_job["runtimeConfig"]["parameterValues"][runner.SPAN_PARAMETER])
    assert latest == {"rollingRange": {"numSpans": 1}}  # TFX resolves the latest span
    example_gen = tasks(spans_job)["MovieLensExampleGen"]["inputs"]["parameters"]
    assert example_gen["range_config"] == {"componentInputParameter": runner.SPAN_PARAMETER}
    assert "span-{SPAN:4}/*" in example_gen["input_config"]["runtimeValue"]["constant"]
    # The latest blessed model feeds the Trainer too; without spans it does not.
    trainer = tasks(spans_job)["Trainer"]["inputs"]["artifacts"]["base_model"]
    assert trainer["taskOutputArtifact"]["producerTask"] == f"{RESOLVER}-model-resolver"
    assert "base_model" not in tasks(job)["Trainer"]["inputs"]["artifacts"]
    hparams = json.loads(
        tasks(spans_job)["Trainer"]["inputs"]["parameters"]["custom_config"]["runtimeValue"][
            "constant"
        ]
    )["hparams"]
    assert hparams["warm_start"] is True

    one = compile_job(tmp_path, "--span", "4")
    assert json.loads(one["runtimeConfig"]["parameterValues"][runner.SPAN_PARAMETER]) == {
        "staticRange": {"startSpanNumber": 4, "endSpanNumber": 4}
    }
    assert runner.main(["--pipeline-root", ROOT, "--image", IMAGE, "--span", "next"]) == 2


def test_submit_span_needs_a_job_compiled_for_spans(job, tmp_path, capsys):
    package = tmp_path / "job.json"
    package.write_text(json.dumps(job))
    code = submit.main(
        ["kfp", "--package", str(package), "--host", "http://127.0.0.1:9", "--span", "3"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "compiled without span data" in err


def test_vertex_schedule_without_credentials_is_clear(tmp_path, capsys, no_credentials):
    spans_job = compile_job(tmp_path, "--span", "latest")
    package = tmp_path / "spans-job.json"
    package.write_text(json.dumps(spans_job))
    argv = ["vertex", "--package", str(package), "--project", "demo", "--region", "europe-west4"]
    code = submit.main([*argv, "--schedule", "0 3 * * *", "--span", "latest"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: no Google Cloud credentials"), err
    assert "Traceback" not in err


def test_config_hparams_and_paths_are_compiled_in(tmp_path):
    job = compile_job(tmp_path, "--config", "bow_id", "--hparam", "epochs=7", "--no-cache")
    trainer = json.loads(
        tasks(job)["Trainer"]["inputs"]["parameters"]["custom_config"]["runtimeValue"]["constant"]
    )
    with open(os.path.join(paths.REPO_ROOT, "configs", "bow_id.pbtxt")) as handle:
        assert trainer["input_config"] == handle.read()
    assert trainer["hparams"]["epochs"] == 7
    schema = tasks(job)["ImportSchemaGen"]["inputs"]["parameters"]["schema_file"]
    assert schema["runtimeValue"]["constant"] == "/pipeline/schema/schema.pbtxt"
    pusher = tasks(job)["TFLitePusher"]["inputs"]["parameters"]["push_destination"]
    assert pusher["runtimeValue"]["constant"] == f"{ROOT}/serving_models"
    assert not any(t.get("cachingOptions", {}).get("enableCache") for t in tasks(job).values())


def beam_args(job: dict, task: str = "Transform") -> list[str]:
    args = container(job, task)["args"]
    return [a for a in args if a.startswith("--") and "=" in a]


def test_direct_runner_is_the_default_beam_preset(job):
    assert beam_args(job) == ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]


def test_dataflow_preset_compiles_project_region_workers_and_image(tmp_path):
    job = compile_job(
        tmp_path,
        *("--beam-runner", "dataflow", "--project", "demo-project", "--region", "europe-west4"),
        *("--max-workers", "8", "--beam-arg=--disk_size_gb=50"),
    )
    for task in ("MovieLensExampleGen", "StatisticsGen", "Transform", "Evaluator"):
        args = beam_args(job, task)
        assert "--runner=DataflowRunner" in args
        assert "--project=demo-project" in args and "--region=europe-west4" in args
        assert f"--temp_location={ROOT}/beam-tmp" in args
        assert "--max_num_workers=8" in args
        assert f"--sdk_container_image={IMAGE}" in args
        assert args[-1] == "--disk_size_gb=50"
        assert not any(a.startswith("--direct_") for a in args)


@pytest.mark.parametrize(
    "flags, expected",
    [
        (
            ("--beam-runner", "flink", "--flink-master", "flink:8081"),
            ["--runner=FlinkRunner", "--flink_master=flink:8081", "--environment_type=DOCKER"],
        ),
        (
            ("--beam-runner", "spark", "--spark-master-url", "spark://spark:7077"),
            ["--runner=SparkRunner", "--spark_master_url=spark://spark:7077"],
        ),
        (
            (
                *("--beam-runner", "portable", "--job-endpoint", "jobs:8099"),
                *("--beam-environment-type", "EXTERNAL", "--beam-environment-config", "pool:5e4"),
            ),
            ["--runner=PortableRunner", "--environment_config=pool:5e4"],
        ),
    ],
)
def test_portable_runner_presets(tmp_path, flags, expected):
    args = beam_args(compile_job(tmp_path, *flags))
    assert set(expected) <= set(args)
    # Naming the image keeps TFX from building and staging its own source package.
    assert f"--sdk_container_image={IMAGE}" in args
    if "DOCKER" in " ".join(args):
        assert f"--environment_config={IMAGE}" in args


def test_missing_settings_are_named(tmp_path, capsys):
    output = str(tmp_path / "job.json")
    code = runner.main(
        ["--pipeline-root", ROOT, "--image", IMAGE, "--output", output, "--beam-runner", "dataflow"]
    )
    assert code == 2
    assert "dataflow Beam runner needs --project, --region" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        runner.parse_args(["--image", IMAGE])
    assert exit_info.value.code == 2
    assert "--pipeline-root (or RECS_PIPELINE_ROOT)" in capsys.readouterr().err
    assert not os.path.exists(output)


def check_golden(job: dict, path: str) -> None:
    actual = normalized(job)
    if os.environ.get("UPDATE_GOLDEN"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            json.dump(actual, handle, indent=1, sort_keys=True)
            handle.write("\n")
    with open(path) as handle:
        golden = json.load(handle)
    assert actual == golden, "compiled job changed: review it, then rerun with UPDATE_GOLDEN=1"


def test_matches_the_golden_job(job):
    check_golden(job, GOLDEN)


def trainer_custom_config(job: dict) -> dict:
    parameters = tasks(job)["Trainer"]["inputs"]["parameters"]
    return json.loads(parameters["custom_config"]["runtimeValue"]["constant"])


def test_vertex_training_job_matches_its_golden_file(tmp_path):
    job = compile_job(tmp_path, *VERTEX_TRAINING)
    check_golden(job, VERTEX_TRAINING_GOLDEN)
    args = container(job, "Trainer")["args"]
    executor = args[args.index("--executor_class_path") + 1]
    assert executor == "components.model.cloud_trainer.Executor"
    custom = trainer_custom_config(job)
    assert custom[cloud_trainer.constants.ENABLE_VERTEX_KEY] is True
    assert custom[cloud_trainer.constants.VERTEX_REGION_KEY] == "europe-west4"
    training = custom[cloud_trainer.TRAINING_ARGS_KEY]
    assert training["project"] == "demo-project"
    pools = training["job_spec"]["worker_pool_specs"]
    # The chief in pool 0, the other worker in pool 1, both on the pipeline's image.
    assert [pool["replica_count"] for pool in pools] == [1, 1]
    assert {pool["container_spec"]["image_uri"] for pool in pools} == {IMAGE}
    assert pools[0]["machine_spec"] == {
        "machine_type": "n1-standard-8",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 1,
    }
    # Everything else is the job without the flags.
    without = compile_job(tmp_path / "plain")
    assert set(tasks(job)) == set(tasks(without))
    assert executors(job).keys() == executors(without).keys()


def test_without_trainer_flags_the_trainer_stays_in_its_task(job):
    assert not any(key.startswith("ai_platform") for key in trainer_custom_config(job))


def test_vertex_training_needs_a_project_and_region(tmp_path, capsys):
    output = str(tmp_path / "j.json")
    code = runner.main(
        ["--pipeline-root", ROOT, "--image", IMAGE, "--output", output, "--trainer-replicas", "2"]
    )
    assert code == 2
    assert "needs --project and --region" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--data-dir", "data/ml-latest-small"), "--data-dir data/ml-latest-small is relative"),
        (("--data-dir", "/home/me/ml-1m"), "--data-dir /home/me/ml-1m is a local path"),
        (("--temp-location", "/tmp/beam"), "--temp-location /tmp/beam is a local path"),
        (("--push-destination", "models"), "--push-destination models is relative"),
        (("--pipeline-root", "/srv/root"), "--pipeline-root /srv/root is a local path"),
        (("--local", "--pipeline-root", "outputs/x"), "--pipeline-root outputs/x is relative"),
    ],
)
def test_paths_a_vertex_task_cannot_reach_are_refused_in_one_line(
    tmp_path, capsys, flags, expected
):
    output = tmp_path / "job.json"
    code = runner.main(["--pipeline-root", ROOT, "--image", IMAGE, "--output", str(output), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err
    if "--local" not in flags:
        assert "gs://" in err
    assert not output.exists()


def test_local_compiles_absolute_local_paths_for_local_run(tmp_path):
    data = os.path.abspath(paths.DATA_DIR)
    job = compile_job(tmp_path, "--local", "--data-dir", data, root=str(tmp_path / "root"))
    assert job["runtimeConfig"]["parameterValues"]["data_dir"] == data


def test_tfx_cli_compiles_for_vertex(tmp_path):
    output = tmp_path / "cli.json"
    venv_bin = os.path.dirname(sys.executable)
    env = {
        **os.environ,
        # The TFX CLI finds kfp with the `pip` on PATH: the project's virtualenv.
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": paths.REPO_ROOT,
        "HOME": str(tmp_path),  # the CLI keeps its own state under $HOME
        "RECS_PIPELINE_ROOT": ROOT,
        "RECS_IMAGE": IMAGE,
        "RECS_PIPELINE_FILE": str(output),
    }
    result = subprocess.run(
        [
            os.path.join(venv_bin, "tfx"),
            *("pipeline", "compile", "--engine", "vertex"),
            *("--pipeline_path", os.path.join(paths.REPO_ROOT, "kubeflow", "runner.py")),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "compiled successfully" in result.stdout
    with open(output) as handle:
        compiled = json.load(handle)
    assert set(tasks(compiled)) >= {"MovieLensExampleGen", "Trainer", "TFLitePusher"}
    assert container(compiled, "Trainer")["image"] == IMAGE


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    with open(os.path.join(paths.REPO_ROOT, "kubeflow", "Dockerfile")) as handle:
        text = re.sub(r"\\\n", " ", handle.read())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_dockerfile_matches_the_pinned_stack_and_the_compiled_paths(job):
    instructions = dockerfile()
    with open(os.path.join(paths.REPO_ROOT, "requirements-runtime.lock")) as handle:
        tfx_pin = re.search(r"^tfx==(\S+) ", handle.read(), re.M).group(1)
    assert instructions[0] == ("FROM", f"tensorflow/tfx:{tfx_pin}")
    assert ("WORKDIR", runner.IMAGE_PROJECT_DIR) in instructions
    env_args = " ".join(args for instruction, args in instructions if instruction == "ENV")
    env = dict(pair.split("=", 1) for pair in env_args.split())
    assert env == {"PYTHONPATH": runner.IMAGE_PROJECT_DIR, "TF_USE_LEGACY_KERAS": "1"}

    copied = [args.split()[0].rstrip("/") for i, args in instructions if i == "COPY"]
    for source in copied:
        assert os.path.exists(os.path.join(paths.REPO_ROOT, source)), source
    # Every project module an executor or metric names is in a copied package.
    project_module = r"(?<![\w.])(components|configs|pipeline|commands|kubeflow)\.[a-z_.]+"
    named = re.findall(project_module, json.dumps(job))
    assert named and set(named) <= set(copied)
    # Every image path the job reads exists in the repository under a copied folder.
    for path in ("/pipeline/schema/schema.pbtxt", "/pipeline/data/ml-latest-small"):
        relative = os.path.relpath(path, runner.IMAGE_PROJECT_DIR)
        assert relative.split("/")[0] in copied and os.path.exists(
            os.path.join(paths.REPO_ROOT, relative)
        )
        assert path in json.dumps(job)
    with open(os.path.join(paths.REPO_ROOT, ".dockerignore")) as handle:
        ignored = {line.strip() for line in handle if line.strip() and not line.startswith("#")}
    assert "data/movielens" in ignored and not ignored & set(copied)


def artifact_type_titles(job: dict) -> set[str]:
    """The schema title of every artifact type the job names: inputs, outputs, importers and
    resolver queries."""
    import yaml

    titles = set()

    def visit(node) -> None:
        if isinstance(node, dict):
            if "instanceSchema" in node:
                titles.add(yaml.safe_load(node["instanceSchema"])["title"])
            if "schemaTitle" in node:
                titles.add(node["schemaTitle"])
            if isinstance(node.get("filter"), str):  # a resolver's artifact query
                titles.update(re.findall(r'schema_title="([^"]+)"', node["filter"]))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(job["pipelineSpec"])
    return titles


def test_every_custom_artifact_type_is_in_the_image_and_importable_by_its_title(job, tmp_path):
    """The container imports a custom type's schema title as a class path (TFX's
    kubeflow_v2_entrypoint_utils), so its module must be copied and on the image's
    PYTHONPATH, and the class must carry that title."""
    from tfx.orchestration.kubeflow.v2 import compiler_utils

    titles = artifact_type_titles(job)
    assert {"tfx.Examples", "tfx.ModelBlessing"} <= titles  # the search finds types at all
    custom = sorted(titles - set(compiler_utils.TITLE_TO_CLASS_PATH))
    assert "movie_recs.EvaluationReport" in custom

    instructions = dockerfile()
    copied = {args.split()[0].rstrip("/") for i, args in instructions if i == "COPY"}
    for title in custom:
        package = title.split(".")[0]
        assert package in copied or f"{package}.py" in copied, f"{title}: not copied"

    # Import them as the container does, with the image's PYTHONPATH (/pipeline = this
    # checkout) and a working directory outside it.
    env_args = " ".join(args for instruction, args in instructions if instruction == "ENV")
    image_env = dict(pair.split("=", 1) for pair in env_args.split())
    pythonpath = image_env["PYTHONPATH"].replace(runner.IMAGE_PROJECT_DIR, paths.REPO_ROOT)
    script = (
        "import json, sys, inspect\n"
        "from tfx.utils import import_utils\n"
        "found = {}\n"
        "for title in sys.argv[1:]:\n"
        "    cls = import_utils.import_class_by_path(title)\n"
        "    found[title] = [cls.TYPE_NAME, inspect.getfile(cls)]\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *custom],
        env={**os.environ, **image_env, "PYTHONPATH": pythonpath},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    for title, (type_name, source) in found.items():
        assert type_name == title
        relative = os.path.relpath(source, paths.REPO_ROOT)
        assert relative.split(os.sep)[0] in copied, f"{title} is defined in {relative}"


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata-server probe


def test_vertex_submit_without_credentials_is_clear(job, tmp_path, capsys, no_credentials):
    package = tmp_path / "job.json"
    package.write_text(json.dumps(job))
    code = submit.main(
        ["vertex", "--package", str(package), "--project", "demo", "--region", "europe-west4"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Google Cloud credentials")
    assert "Traceback" not in err


def test_kfp_submit_to_an_unreachable_host_is_one_clear_error(job, tmp_path, capsys):
    package = tmp_path / "job.json"
    package.write_text(json.dumps(job))
    code = submit.main(["kfp", "--package", str(package), "--host", "http://127.0.0.1:9"])
    assert code == 2
    err = capsys.readouterr().err
    assert "error: could not submit to Kubeflow Pipelines at http://127.0.0.1:9" in err
    assert "Traceback" not in err


def test_kfp_receives_the_bare_pipeline_spec(job, tmp_path):
    import yaml

    with open(submit.pipeline_spec_file(job, str(tmp_path))) as handle:
        spec = yaml.safe_load(handle)
    assert spec == job["pipelineSpec"]


def test_submit_names_a_missing_package_or_target(tmp_path, capsys):
    missing = str(tmp_path / "nope.json")
    assert submit.main(["vertex", "--package", missing, "--project", "p", "--region", "r"]) == 2
    assert f"{missing} does not exist: compile it" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        submit.parse_args(["kfp", "--package", missing])
    assert "kfp needs --host" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.integration
def test_example_gen_and_transform_run_on_a_portable_runner(tmp_path):
    """Beam's portability framework (as Flink, Spark and Dataflow runner v2 use), in-process."""
    from components.data_formats import synthetic
    from tests import pipeline_runs

    data_dir, output_dir = str(tmp_path / "data"), str(tmp_path / "out")
    spec = synthetic.SyntheticSpec(
        num_users=50, num_movies=80, mean_ratings_per_user=15, seed=3, bad_lines=2
    )
    synthetic.write_movielens(data_dir, "ml-1m", spec)
    pipeline_runs.run_pipeline(
        data_dir,
        output_dir,
        "--until",
        "Transform",
        *("--beam-arg=--runner=PortableRunner", "--beam-arg=--job_endpoint=embed"),
        "--beam-arg=--environment_type=LOOPBACK",
    )
    report = pipeline_runs.ingest_report(output_dir)
    ratings = report["ratings"]
    assert ratings["lines"] == ratings["accepted"] + sum(ratings["rejected"].values())
    transformed = pipeline_runs.latest_artifact(output_dir, "Examples", "Transform")
    for split, count in report["examples"].items():
        assert count > 0
        assert len(pipeline_runs.read_examples(transformed.uri, split)) == count, split
