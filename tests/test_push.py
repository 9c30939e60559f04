"""Evaluator gate, TFLite push and the recommend CLI on the shared synthetic pipeline run."""

from __future__ import annotations

import errno
import json
import os
import shutil
import urllib.request

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from commands import recommend
from components import names
from components.export import serving
from components.export.layout import MODEL_FILE, QUANTIZED_FILE, SIDECAR_FILE
from movie_recs import EvaluationReport
from pipeline import local_runner, paths
from tests import pipeline_runs

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _versions(output_dir: str) -> list[str]:
    return serving.version_ids(paths.push_destination(output_dir))


@pytest.fixture(scope="module")
def pushed(pipeline_run):
    found = serving.current(paths.push_destination(pipeline_run.output_dir))
    assert found, "the good model was not pushed"
    folder = found[0].path
    with open(os.path.join(folder, SIDECAR_FILE), encoding="utf-8") as handle:
        return folder, json.load(handle)


def test_good_model_is_blessed_and_pushed_with_its_sidecar(pipeline_run, pushed):
    folder, sidecar = pushed
    store = pipeline_runs.store(pipeline_run.output_dir)
    blessing = pipeline_runs.latest_artifact(pipeline_run.output_dir, "ModelBlessing")
    assert blessing.custom_properties["blessed"].int_value == 1
    model = pipeline_runs.latest_artifact(pipeline_run.output_dir, "Model")
    assert sidecar["lineage"]["model_artifact_id"] == model.id
    assert store.get_artifacts_by_id([sidecar["lineage"]["evaluation_artifact_id"]])
    names = [spec["name"] for spec in sidecar["inputs"]]
    assert names[0] == "context_movie_id" and "user_gender" in names
    assert {spec["padding_value"] for spec in sidecar["inputs"]} == {0}
    assert sidecar["k"] == 10 and sidecar["metrics"]["recall_at_10"] > 0
    assert all(movie["title"] for movie in sidecar["movies"].values())
    assert sidecar["parity"]["contexts"] > 0
    pushed_artifact = pipeline_runs.latest_artifact(pipeline_run.output_dir, "PushedModel")
    assert pushed_artifact.custom_properties["pushed"].int_value == 1
    assert os.path.isfile(os.path.join(pushed_artifact.uri, MODEL_FILE))
    quantized = sidecar["quantized_variant"]
    assert quantized["pushed"] == os.path.isfile(os.path.join(folder, QUANTIZED_FILE))
    # The int8 decision: every eval context (up to thousands), not only the parity sample.
    assert quantized["contexts"] >= sidecar["parity"]["contexts"]
    assert quantized["pushed"] == (quantized["hr_at_k"] >= 0.99 * quantized["float_hr_at_k"])
    report = pipeline_runs.latest_artifact(pipeline_run.output_dir, EvaluationReport.TYPE_NAME)
    with open(os.path.join(report.uri, "summary.txt"), encoding="utf-8") as handle:
        summary = handle.read()
    assert summary.startswith("Quality report: BLESSED") and "050-199" in summary
    assert os.path.isfile(os.path.join(report.uri, "report.html"))
    # ML Metadata keeps the report's figures to 6 digits.
    assert sidecar["quality"]["hr@10"] == pytest.approx(
        report.custom_properties["test_candidate_hr_at_10"].double_value, abs=1e-6
    )


def test_pushed_tflite_runs_on_litert_even_for_empty_and_unknown_histories(pushed):
    folder, sidecar = pushed
    runner = Interpreter(model_path=os.path.join(folder, MODEL_FILE)).get_signature_runner(
        "recommend_unseen"
    )
    empty = {spec["name"]: np.zeros(spec["length"], spec["dtype"]) for spec in sidecar["inputs"]}
    unknown = dict(empty, context_movie_id=np.full(10, 10**8, np.int32))
    known = [int(m) for m in list(sidecar["movies"])[:3]]
    history = dict(empty, context_movie_id=np.array([0] * 7 + known, np.int32))
    for features in (empty, unknown, history):
        ids = runner(**features)["top_prediction_ids"]
        assert len(set(ids.tolist())) == 10 and all(str(m) in sidecar["movies"] for m in ids)
    assert not set(runner(**history)["top_prediction_ids"].tolist()) & set(known)


def test_unreachable_recall_bound_blesses_nothing_and_pushes_nothing(pipeline_run):
    before = _versions(pipeline_run.output_dir)
    pipeline_runs.run_pipeline(
        pipeline_run.data_dir,
        pipeline_run.output_dir,
        *pipeline_run.args,
        "--recall-lower-bound",
        "0.99",
    )
    blessing = pipeline_runs.latest_artifact(pipeline_run.output_dir, "ModelBlessing")
    assert blessing.custom_properties["blessed"].int_value == 0
    assert _versions(pipeline_run.output_dir) == before
    pushed = pipeline_runs.latest_artifact(pipeline_run.output_dir, "PushedModel")
    assert pushed.custom_properties["pushed"].int_value == 0


def test_recommend_prints_titled_unseen_recommendations(pipeline_run, pushed, capsys):
    _, sidecar = pushed
    history = list(sidecar["movies"])[:3]
    code = recommend.main(
        ["--model", pipeline_run.output_dir, "--history", ",".join(history), "--k", "5", "--json"]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["movie_ids"]) == 5 and not {str(m) for m in result["movie_ids"]} & set(
        history
    )
    assert result["titles"] == [sidecar["movies"][str(m)]["title"] for m in result["movie_ids"]]
    assert result["scores"] == sorted(result["scores"], reverse=True)
    code = recommend.main(
        ["--model", pipeline_run.output_dir, "--history", history[0], "--include-seen"]
    )
    assert code == 0 and "Because you watched" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("", "The history is empty"),
        ("{m},x", "comma-separated positive movie ids"),
        ("{m},-3", "comma-separated positive movie ids"),
    ],
)
def test_recommend_rejects_bad_histories_clearly(pipeline_run, pushed, capsys, history, message):
    _, sidecar = pushed
    history = history.format(m=next(iter(sidecar["movies"])))
    code = recommend.main(["--model", pipeline_run.output_dir, "--history", history])
    assert code == 1
    assert message in capsys.readouterr().err


def test_recommend_takes_any_history_and_reports_unknown_ids(pipeline_run, pushed, capsys):
    _, sidecar = pushed
    movies = [int(m) for m in sidecar["movies"]]
    history = [*movies[:25], 999_999, 4_000_000_000]  # longer than the window; two unknown
    code = recommend.main(
        ["--model", pipeline_run.output_dir, "--history", ",".join(map(str, history)), "--json"]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["unknown_ids"] == [999_999, 4_000_000_000]
    assert len(result["movie_ids"]) == 10
    # Every watched movie is excluded, not only the window's (the model's last 10 inputs).
    assert not set(result["movie_ids"]) & set(history)


def test_recommend_excludes_a_history_longer_than_the_model_exclusion_input(
    pipeline_run, pushed, capsys
):
    _, sidecar = pushed
    excluded_length = {s["name"]: s for s in sidecar["inputs"]}["excluded_movie_ids"]["length"]
    movies = [int(m) for m in sidecar["movies"]]
    recent = movies[:5]
    code = recommend.main(
        ["--model", pipeline_run.output_dir, "--history", ",".join(map(str, recent)), "--json"]
    )
    best = json.loads(capsys.readouterr().out)["movie_ids"][0]
    # ``best`` watched first, then more movies than the model's exclusion input holds.
    filler = (recent * excluded_length)[:excluded_length]
    history = [best, *filler]
    code = recommend.main(
        ["--model", pipeline_run.output_dir, "--history", ",".join(map(str, history)), "--json"]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    # Exactly K, none watched: the older movies found on top were excluded in a second call.
    assert best not in result["movie_ids"]
    assert len(result["movie_ids"]) == sidecar["k"]
    assert not set(result["movie_ids"]) & set(history)


def test_recommend_scores_a_file_and_reports_bad_lines(pipeline_run, pushed, tmp_path, capsys):
    _, sidecar = pushed
    movies = list(sidecar["movies"])
    histories = tmp_path / "histories.txt"
    histories.write_text(f"{movies[0]},{movies[1]}\nnot,ids\n{movies[2]}\n")
    code = recommend.main(
        ["--model", pipeline_run.output_dir, "--histories", str(histories), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert len(captured.out.strip().splitlines()) == 2
    assert "line 2:" in captured.err


def test_recommend_without_a_model_says_how_to_get_one(tmp_path, capsys):
    assert recommend.main(["--model", str(tmp_path), "--history", "1"]) == 2
    assert "No pushed model" in capsys.readouterr().err


def test_a_full_disk_at_the_push_is_one_line_and_the_rerun_pushes_nothing_new(
    pipeline_run, capsys, monkeypatch
):
    """The push fails for want of space (after the preflight): one line, exit 2, the
    pointer and the versions unchanged. The rerun converts the same model to the same
    bytes: "unchanged", no new version, recorded on the PushedModel."""
    output = pipeline_run.output_dir
    root = paths.push_destination(output)
    versions = _versions(output)
    served = serving.current(root)[0].id
    with open(os.path.join(root, serving.POINTER_FILE), "rb") as handle:
        pointer = handle.read()
    argv = ["--data-dir", pipeline_run.data_dir, "--output-dir", output, pipeline_runs.IN_MEMORY]
    argv += pipeline_run.args

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(serving, "unchanged_version", lambda root, sha256: None)
    monkeypatch.setattr(serving, "write_file", full)
    code = local_runner.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err[-3000:]
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert line.startswith(f"error: the disk is full: {root}") and "free there)" in line
    with open(os.path.join(root, serving.POINTER_FILE), "rb") as handle:
        assert handle.read() == pointer
    assert _versions(output) == versions
    assert not [n for n in os.listdir(root) if n.startswith(serving.STAGING_PREFIX)]

    monkeypatch.undo()
    code = local_runner.main(argv)
    out = capsys.readouterr().out
    assert code == 0
    assert f"Push: unchanged, version {served} already serves this model's bytes" in out
    assert _versions(output) == versions and serving.current(root)[0].id == served
    pushed = pipeline_runs.latest_artifact(output, "PushedModel")
    assert pushed.custom_properties[names.PUSH_UNCHANGED_PROPERTY].string_value == served
    assert pushed.custom_properties[names.PUSHED_PROPERTY].int_value == 0


def test_the_demo_server_follows_the_pointer_and_never_mixes_versions(
    pushed, tmp_path, monkeypatch
):
    """Served from memory, one complete version at a time: a promote is picked up at the
    next request, and a page that loaded the version before still gets that version."""
    from commands import demo

    folder, sidecar = pushed
    root = tmp_path / "serving_models"
    with open(os.path.join(folder, MODEL_FILE), "rb") as handle:
        model = handle.read()
    first = serving.push(
        str(root), {MODEL_FILE: model, SIDECAR_FILE: json.dumps(sidecar).encode()}, sidecar
    )
    second = root / str(int(first.version.id) + 1)
    shutil.copytree(first.version.path, second)
    (second / SIDECAR_FILE).write_text(json.dumps(dict(sidecar, k=5)))
    monkeypatch.setattr(demo, "check_runtime", lambda: None)
    running, _ = demo.start(str(tmp_path))

    def get(path: str) -> bytes:
        with urllib.request.urlopen(running.url + path.lstrip("/")) as response:
            return response.read()

    try:
        config = json.loads(get("config.json"))
        assert config["version"] == first.version.id
        assert json.loads(get(config["sidecar"]))["k"] == sidecar["k"]
        serving.point_to(str(root), second.name, "promote")
        fresh = json.loads(get("config.json"))
        assert fresh["version"] == second.name and json.loads(get(fresh["sidecar"]))["k"] == 5
        assert json.loads(get(config["sidecar"]))["k"] == sidecar["k"]  # the older page
        assert get(fresh["models"]["float"]) == model
        # A push in progress (a staging folder) is never served.
        staging = root / f"{serving.STAGING_PREFIX}{int(second.name) + 1}"
        staging.mkdir()
        (staging / MODEL_FILE).write_bytes(model[:100])
        assert json.loads(get("config.json"))["version"] == second.name
    finally:
        running.shutdown()
        running.server_close()
