"""The runner's hyper-parameters: a combination that cannot work is refused before anything
runs, and --train-minutes sets the budget (components/model/hparams_test.py tests HParams)."""

from __future__ import annotations

from pipeline import local_runner, options


def test_the_runner_refuses_bad_combinations_before_anything_runs(tmp_path, capsys):
    code = local_runner.main(
        [
            "--output-dir",
            str(tmp_path / "out"),
            "--hparam",
            "num_predictions=5",
            "--hparam",
            "sequence_stride=11",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "num_predictions (5)" in err and "sequence_stride (11)" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_train_minutes_flag_sets_the_budget():
    args = local_runner.parse_args(["--train-minutes", "12.5"])
    assert options.settings(args).hparams.train_minutes == 12.5
