"""Bad input stops a run with one clear message instead of a stack trace or a silent drop."""

import pytest

from components.data_formats import synthetic
from components.data_formats.movielens.layouts import DataError
from pipeline import local_runner
from tests import pipeline_runs

pytestmark = [pytest.mark.slow, pytest.mark.integration]
SMALL = synthetic.SyntheticSpec(num_users=40, num_movies=80, mean_ratings_per_user=12, seed=3)


def test_too_many_bad_lines_fail_with_file_line_and_reason(tmp_path):
    spec = synthetic.SyntheticSpec(
        num_users=40, num_movies=80, mean_ratings_per_user=12, seed=3, bad_lines=60
    )
    synthetic.write_movielens(tmp_path / "data", "ml-1m", spec)
    with pytest.raises(DataError) as error:
        pipeline_runs.run_pipeline(
            str(tmp_path / "data"), str(tmp_path / "out"), "--until", pipeline_runs.EXAMPLE_GEN
        )
    message = str(error.value)
    assert "ratings.dat" in message and "> max_bad_fraction 1.0%" in message
    assert "line " in message and "wrong_column_count" in message


def test_missing_movie_file_is_reported_before_anything_runs(tmp_path, capsys):
    synthetic.write_movielens(tmp_path / "data", "ml-1m", SMALL)
    (tmp_path / "data" / "movies.dat").unlink()
    code = local_runner.main(
        ["--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "out")]
    )
    assert code == 2
    assert "movies.dat is missing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_user_features_on_data_without_users_file_is_a_config_error(tmp_path, capsys):
    synthetic.write_movielens(tmp_path / "data", "ml-latest", SMALL)
    code = local_runner.main(
        [
            "--data-dir",
            str(tmp_path / "data"),
            "--output-dir",
            str(tmp_path / "o"),
            "--config",
            "cnn_full",
        ]
    )
    assert code == 2
    assert "has no users file" in capsys.readouterr().err


def test_sequence_layout_with_two_feature_groups_fails_before_anything_runs(tmp_path, capsys):
    synthetic.write_movielens(tmp_path / "data", "ml-1m", SMALL)
    args = ["--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "out")]
    layout = ["--hparam", 'training_layout="sequences"']
    code = local_runner.main([*args, "--config", "cnn_id_genre", *layout])
    assert code == 2
    assert "needs exactly one activity feature group" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_release_years_outside_the_schema_are_rejected_at_ingest_before_anything_runs(
    tmp_path, capsys
):
    # The schema's year domain is what ingest accepts, so such a movie is a counted
    # rejection as the file is read (not an anomaly after statistics); a file of them fails.
    synthetic.write_movielens(tmp_path / "data", "ml-1m", SMALL)
    movies = tmp_path / "data" / "movies.dat"
    lines = movies.read_bytes().decode("latin-1").splitlines()
    # Every movie from the future: release years outside the schema's domain.
    shifted = [line.replace("(19", "(29").replace("(20", "(30") for line in lines]
    movies.write_bytes(("\n".join(shifted) + "\n").encode("latin-1"))
    code = local_runner.main(
        ["--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "out")]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "movies.dat: 80 of 80 lines are invalid" in error and "year_out_of_range" in error
    assert not (tmp_path / "out").exists()
