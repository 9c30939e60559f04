"""The Trainer's sequence layout inside the real pipeline (Transformer, loss at every position)."""

import os

import numpy as np
import pytest
import tensorflow as tf

from components.data_formats import synthetic
from components.export.signatures import TOP_IDS, TOP_SCORES
from tests import pipeline_runs

pytestmark = pytest.mark.slow


def test_transformer_trains_on_sequences_and_serves_one_window(tmp_path):
    spec = synthetic.SyntheticSpec(num_users=80, num_movies=120, mean_ratings_per_user=20, seed=11)
    synthetic.write_movielens(tmp_path / "data", "ml-latest", spec)
    pipeline_runs.run_pipeline(
        str(tmp_path / "data"),
        str(tmp_path / "out"),
        "--config",
        "cnn_id",
        "--encoder",
        "TRANSFORMER",
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
    recommend = tf.saved_model.load(model_dir).signatures["recommend_unseen"]
    history = np.zeros(10, np.int32)
    history[-2:] = [1, 2]
    top = recommend(context_movie_id=tf.constant(history))[TOP_IDS].numpy()
    assert len(set(top.tolist())) == 10 and not {1, 2} & set(top.tolist())


def test_activity_and_user_features_train_on_sequences_of_a_random_split(tmp_path):
    # A random split holds out labels inside each timeline; the Trainer still rebuilds every
    # activity from the windows it has and trains only the given labels.
    spec = synthetic.SyntheticSpec(num_users=80, num_movies=120, mean_ratings_per_user=20, seed=12)
    synthetic.write_movielens(tmp_path / "data", "ml-1m", spec)
    pipeline_runs.run_pipeline(
        str(tmp_path / "data"),
        str(tmp_path / "out"),
        "--config",
        "cnn_id_features",
        "--split",
        "random",
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
    recommend = tf.saved_model.load(model_dir).signatures["recommend_unseen"]
    inputs = {
        name: np.zeros(spec.shape, spec.dtype.as_numpy_dtype)
        for name, spec in recommend.structured_input_signature[1].items()
    }
    inputs["context_movie_id"][-2:] = [1, 2]
    top = recommend(**{k: tf.constant(v) for k, v in inputs.items()})
    top_ids = top[TOP_IDS].numpy()
    assert len(set(top_ids.tolist())) == 10 and not {1, 2} & set(top_ids.tolist())
    # The user's profile is an input of the trained model: another age, other scores.
    inputs["user_age"][...] = 25
    other = recommend(**{k: tf.constant(v) for k, v in inputs.items()})
    assert not np.allclose(other[TOP_SCORES].numpy(), top[TOP_SCORES].numpy())
