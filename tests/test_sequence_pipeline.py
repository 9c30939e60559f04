"""The Trainer's sequence layout inside the real pipeline (a loss at every position)."""

import os

import numpy as np
import pytest
import tensorflow as tf

from components.data_formats import synthetic
from components.export.layout import TOP_IDS, TOP_SCORES
from tests import pipeline_runs

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _recommend_unseen(tmp_path, layout: str, seed: int, *flags: str):
    """Runs the pipeline through the Trainer on sequences; the exported on-device signature."""
    spec = synthetic.SyntheticSpec(
        num_users=80, num_movies=120, mean_ratings_per_user=20, seed=seed
    )
    synthetic.write_movielens(tmp_path / "data", layout, spec)
    pipeline_runs.run_pipeline(
        str(tmp_path / "data"),
        str(tmp_path / "out"),
        *flags,
        "--hparam",
        'training_layout="sequences"',
        "--hparam",
        "epochs=2",
        "--until",
        "Trainer",
    )
    model_dir = os.path.join(
        pipeline_runs.latest_artifact(str(tmp_path / "out"), "Model").uri, "Format-Serving"
    )
    return tf.saved_model.load(model_dir).signatures["recommend_unseen"]


def _assert_ten_unseen(top_ids: np.ndarray, history: set[int]) -> None:
    assert len(set(top_ids.tolist())) == 10 and not history & set(top_ids.tolist())


def test_transformer_trains_on_sequences_and_serves_one_window(tmp_path):
    recommend = _recommend_unseen(
        tmp_path, "ml-latest", 11, "--config", "cnn_id", "--encoder", "TRANSFORMER"
    )
    history = np.zeros(10, np.int32)
    history[-2:] = [1, 2]
    nothing_else = tf.zeros(
        recommend.structured_input_signature[1]["excluded_movie_ids"].shape, tf.int32
    )
    top = recommend(context_movie_id=tf.constant(history), excluded_movie_ids=nothing_else)
    _assert_ten_unseen(top[TOP_IDS].numpy(), {1, 2})
    # Each epoch logs the sequence loss and the served (window) model's eval hit rates.
    epochs = pipeline_runs.tensorboard_epochs(str(tmp_path / "out"))
    assert epochs["train"]["epoch_loss"] == 2
    assert epochs["validation"]["epoch_hr_at_10"] == 2


def test_activity_and_user_features_train_on_sequences_of_a_random_split(tmp_path):
    # A random split holds out labels inside each timeline; the Trainer still rebuilds every
    # activity from the windows it has and trains only the given labels.
    recommend = _recommend_unseen(
        tmp_path, "ml-1m", 12, "--config", "cnn_id_features", "--split", "random"
    )
    inputs = {
        name: np.zeros(spec.shape, spec.dtype.as_numpy_dtype)
        for name, spec in recommend.structured_input_signature[1].items()
    }
    inputs["context_movie_id"][-2:] = [1, 2]
    top = recommend(**{k: tf.constant(v) for k, v in inputs.items()})
    _assert_ten_unseen(top[TOP_IDS].numpy(), {1, 2})
    # The user's profile is an input of the trained model: another age, other scores.
    inputs["user_age"][...] = 25
    other = recommend(**{k: tf.constant(v) for k, v in inputs.items()})
    assert not np.allclose(other[TOP_SCORES].numpy(), top[TOP_SCORES].numpy())
