"""The README's TFX CLI route: `tfx pipeline create` then `tfx run create` on the local engine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from commands.lineage import store as lineage_store
from components.data_formats import synthetic
from pipeline import local_runner, options, paths
from tests.pipeline_runs import EXAMPLE_GEN, IN_MEMORY, ingest_report

SMALL = synthetic.SyntheticSpec(num_users=30, num_movies=40, mean_ratings_per_user=12, seed=3)


def _tfx(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    venv_bin = os.path.dirname(sys.executable)
    return subprocess.run(
        [os.path.join(venv_bin, "tfx"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=paths.REPO_ROOT,
    )


@pytest.mark.integration
def test_tfx_cli_creates_and_runs_the_local_pipeline_with_recs_args(tmp_path):
    synthetic.write_movielens(tmp_path / "data", "ml-1m", SMALL)
    output_dir = tmp_path / "out"
    env = {
        # No PYTHONPATH: the runner file finds the repository itself when the CLI runs it.
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(tmp_path),  # the CLI keeps its pipeline registry under $HOME/tfx
        "RECS_DATA_DIR": str(tmp_path / "data"),
        "RECS_OUTPUT_DIR": str(output_dir),
        "RECS_PIPELINE_NAME": "cli-test",
        # Flags the CLI cannot pass: stop after ingestion, random split with its seed.
        "RECS_ARGS": f"--until {EXAMPLE_GEN} --split random --seed 7 {IN_MEMORY}",
    }
    runner = os.path.join(paths.REPO_ROOT, "pipeline", "local_runner.py")
    created = _tfx(env, "pipeline", "create", "--engine", "local", "--pipeline_path", runner)
    assert created.returncode == 0, created.stderr[-3000:]
    assert not os.path.exists(paths.metadata_path(str(output_dir)))  # create only compiles

    ran = _tfx(env, "run", "create", "--engine", "local", "--pipeline_name", "cli-test")
    assert ran.returncode == 0, ran.stderr[-3000:]
    snapshot = lineage_store.load(paths.metadata_path(str(output_dir)))
    (run,) = snapshot.runs
    assert run.pipeline == "cli-test"
    # --until reached the runner through RECS_ARGS: ingestion ran, nothing after it.
    executed = {e.component: e.state for e in snapshot.run_executions(run)}
    assert executed == {EXAMPLE_GEN: "COMPLETE"}
    report = ingest_report(str(output_dir))
    split = report["settings"]["examples"]["split"]
    assert (split["kind"], split["seed"]) == ("random", 7)
    ratings = (tmp_path / "data" / "ratings.dat").read_text(encoding="latin-1")
    assert report["ratings"]["lines"] == len(ratings.splitlines())


def test_flags_given_directly_win_over_recs_args(monkeypatch):
    monkeypatch.setenv(options.ARGS_VARIABLE, "--split random --hparam epochs=3 --encoder LSTM")
    args = local_runner.parse_args(options.command_line(["--split", "temporal"]))
    assert (args.split, args.encoder) == ("temporal", "LSTM")
    assert options.settings(args).hparams.epochs == 3


def test_unparsable_recs_args_is_one_clear_error(monkeypatch, capsys):
    monkeypatch.setenv(options.ARGS_VARIABLE, "--split 'random")
    assert local_runner.main([]) == 2
    assert "$RECS_ARGS is not valid shell syntax: No closing quotation" in capsys.readouterr().err
