"""The Trainer's sequence layout inside the real pipeline (a loss at every position)."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from components.data_formats import synthetic
from components.export.layout import TOP_IDS, TOP_SCORES
from tests import pipeline_runs

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _recommend_unseen(tmp_path, layout: str, seed: int, *flags: str):
    """Runs the pipeline through the Trainer on sequences (into ``tmp_path / "out"``); the
    exported on-device signature."""
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
    _assert_the_trainer_streams_its_pieces(str(tmp_path / "out"), tmp_path / "stream")


def _assert_the_trainer_streams_its_pieces(output_dir: str, scratch) -> None:
    """The Trainer's training input, read from Transform's output of a pipeline run: pieces
    whose targets are their next movies, streamed (a batch is served long before the end of
    the files, which here is damaged)."""
    from tfx.components.trainer import fn_args_utils
    from tfx_bsl.public import tfxio

    from components.model import trainer
    from components.model.hparams import HParams
    from configs import input_config

    examples = pipeline_runs.latest_artifact(output_dir, "Examples", "Transform")
    graph = pipeline_runs.latest_artifact(output_dir, "TransformGraph")
    transform_output = tft.TFTransformOutput(graph.uri)
    accessor = fn_args_utils.DataAccessor(  # what TFX gives run_fn for gzipped tf.Examples
        tf_dataset_factory=lambda files, options, schema: tfxio.TFExampleRecord(
            files, schema=schema
        ).TensorFlowDataset(options),
        record_batch_factory=None,
        data_view_decode_fn=None,
    )
    config = input_config.load("cnn_id")
    config = input_config.parse(input_config.with_encoder(config, "TRANSFORMER"))
    hparams = HParams(batch_size=8).for_config(config)
    files = sorted(tf.io.gfile.glob(os.path.join(examples.uri, "Split-train", "*")))
    (inputs, targets), *_ = trainer.sequence_batches(
        files, accessor, transform_output, config, hparams
    ).take(1)
    movies = inputs["context_movie_id"].numpy()
    targets = targets.numpy()
    assert movies.shape == targets.shape == (8, 10) and targets.dtype == np.int32
    # Within a piece, the target after a movie is the piece's next movie wherever both are
    # there (the first rows of a piece may be an older piece's targets, left at 0).
    inner = (targets[:, :-1] != 0) & (movies[:, 1:] != 0)
    assert inner.sum() > 8 and (targets[:, :-1][inner] == movies[:, 1:][inner]).all()
    assert ((targets != 0) <= (movies != 0)).all()  # no target without its movie

    # A file with 150 good pieces and then damage: a reader holding every example in
    # memory fails; the Trainer's stream serves its first batches (a shuffle buffer of 16).
    records = list(tf.data.TFRecordDataset(files, compression_type="GZIP").take(150))
    assert len(records) == 150
    scratch.mkdir()
    damaged = str(scratch / "pieces.gz")
    with tf.io.TFRecordWriter(damaged, "GZIP") as writer:
        for record in records:
            writer.write(record.numpy())
    with open(damaged, "ab") as handle:
        handle.write(b"damaged" * 1000)
    stream = trainer.sequence_batches(
        [damaged], accessor, transform_output, config, hparams, shuffle_buffer=16
    )
    assert len(list(stream.take(10))) == 10
    with pytest.raises(tf.errors.DataLossError):
        list(stream)


def test_activity_and_user_features_train_on_sequences_of_a_random_split(tmp_path):
    # A random split holds out labels inside each timeline; ExampleGen's pieces keep every
    # activity and leave the held-out labels without a target.
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
