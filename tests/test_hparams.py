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
            "sequence_stride=1000",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "num_predictions (5)" in err and "sequence_stride (1000)" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_train_minutes_flag_sets_the_budget():
    args = local_runner.parse_args(["--train-minutes", "12.5"])
    assert options.settings(args).hparams.train_minutes == 12.5


def test_the_recipe_follows_the_size_of_the_data(tmp_path):
    embedded = local_runner.parse_args([])
    chosen = options.settings(embedded, ratings=100_836)
    assert chosen.recipe.startswith("hstu (100,836 ratings")
    assert chosen.hparams.similarity == "cosine" and chosen.hparams.sequence_stride == 25
    assert chosen.hparams.train_minutes == 24
    tiny = options.settings(embedded, ratings=5_000)
    assert tiny.recipe.startswith("compact") and tiny.hparams.similarity == "dot"
    large = options.settings(embedded, ratings=25_000_095)
    assert large.hparams.train_minutes == 120 and large.hparams.sequence_stride == 0


def embedded_args():
    return local_runner.parse_args([])


def test_flags_win_over_the_recipe():
    args = local_runner.parse_args(["--recipe", "hstu", "--hparam", "temperature=0.1"])
    assert options.settings(args).hparams.temperature == 0.1
    # The recipe line says what the command line changed (here the budget the size chose).
    flagged = local_runner.parse_args(["--train-minutes", "10", "--hparam", "seed=1"])
    line = options.settings(flagged, ratings=5_000_000).recipe
    assert line.startswith("hstu (5,000,000 ratings: training budget 120 min")
    assert line.endswith("; changed by the command line: seed=1, train_minutes=10.0"), line
    assert "changed" not in options.settings(embedded_args(), ratings=5_000_000).recipe
    # A named config without --recipe trains with the plain defaults.
    plain = options.settings(local_runner.parse_args(["--config", "hstu_id"]), ratings=10**6)
    assert plain.hparams.similarity == "dot" and plain.hparams.train_minutes is None


def test_an_unknown_recipe_is_one_line(tmp_path, capsys):
    code = local_runner.main(["--output-dir", str(tmp_path / "out"), "--recipe", "best"])
    err = capsys.readouterr().err
    assert code == 2 and "recipe 'best' not found" in err and "hstu" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
