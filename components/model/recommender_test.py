"""The recommender: context features end in the window, it learns planted patterns (trained
by windows or by sequences), the sampled losses and tied embeddings, and TFLite conversion."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np
import pytest
import tensorflow as tf

from components.data_formats import synthetic
from components.model import sequence_training
from components.model.hparams import HParams
from components.model.recommender import Recommender, compile_model
from components.transform import ids
from configs import input_config
from configs.input_config_pb2 import FLOAT

# Trains (and converts) a model in most cases: in make test, not in make unit.
pytestmark = pytest.mark.slow

HPARAMS = HParams(dropout=0.0)
ENCODER_NAMES = ("BOW", "CNN", "LSTM", "TRANSFORMER", "HSTU")


@pytest.mark.parametrize("name", ENCODER_NAMES)
def test_sequence_context_with_activity_and_user_features_ends_in_the_window(name):
    config = input_config.parse(
        input_config.with_encoder(input_config.load("cnn_id_features"), name)
    )
    vocab_sizes = dict.fromkeys(input_config.vocabularies(config), 30)
    tf.keras.utils.set_random_seed(0)
    model = Recommender(config, vocab_sizes, HPARAMS)
    rng = np.random.default_rng(4)
    inputs = {}
    for feature in input_config.input_features(config):
        shape = (3, feature.feature_length)
        if feature.feature_type == FLOAT:
            inputs[feature.feature_name] = tf.constant(rng.random(shape), tf.float32)
        else:
            inputs[feature.feature_name] = tf.constant(rng.integers(1, 30, shape))
    every = model.context_tower.sequence_context(inputs).numpy()
    np.testing.assert_allclose(every[:, -1], model.context(inputs).numpy(), rtol=1e-4, atol=1e-5)
    # The user's features reach every position: changing them changes each output.
    changed = {**inputs, "user_age": inputs["user_age"] % 29 + 1}
    moved = np.abs(model.context_tower.sequence_context(changed).numpy() - every).max(axis=-1)
    assert (moved > 1e-6).all()


def _planted_data(num_movies: int, seed: int):
    """Context windows of row ids and next-movie labels from synthetic timelines."""
    spec = synthetic.SyntheticSpec(
        num_users=300,
        num_movies=num_movies,
        mean_ratings_per_user=30,
        successor_strength=0.8,
        tie_probability=0.0,
        seed=seed,
    )
    return spec, synthetic.planted_successors(spec)


def _windows(sequences: list[list[int]], length: int):
    contexts, labels = [], []
    for sequence in sequences:
        for position in range(1, len(sequence)):
            context = sequence[max(0, position - length) : position]
            contexts.append([ids.PADDING] * (length - len(context)) + context)
            labels.append(sequence[position])
    return np.array(contexts, np.int64), np.array(labels, np.int64)[:, np.newaxis]


@pytest.mark.parametrize("name", ["CNN", "TRANSFORMER"])
def test_model_learns_a_planted_next_movie_pattern(name, tmp_path):
    num_movies = 200
    spec, successors = _planted_data(num_movies, seed=5)
    summary = synthetic.write_movielens(tmp_path, "ml-latest", spec)
    assert summary.num_ratings > 0
    rows = {movie: row for row, movie in enumerate(sorted(successors), ids.FIRST_VOCAB_ROW)}
    by_user: dict[int, list[tuple[int, int]]] = defaultdict(list)
    lines = (tmp_path / "ratings.csv").read_text().splitlines()[1:]
    for line_no, line in enumerate(lines):
        user, movie, _, timestamp = line.split(",")
        by_user[int(user)].append((int(timestamp), line_no, rows[int(movie)]))
    sequences = [[row for *_, row in sorted(events)] for events in by_user.values()]
    train_x, train_y = _windows([s[:-1] for s in sequences], 10)
    test_x, test_y = _windows([s[-11:] for s in sequences], 10)
    test_x, test_y = test_x[-len(sequences) :], test_y[-len(sequences) :]

    config = input_config.with_encoder(input_config.load("cnn_id"), name)
    hparams = HParams(epochs=8, batch_size=128, learning_rate=0.01, dropout=0.0)
    tf.keras.utils.set_random_seed(0)
    model = Recommender(input_config.parse(config), {"movie_id": num_movies}, hparams)
    compile_model(model, hparams)
    model.fit({"context_movie_id": train_x}, train_y, epochs=hparams.epochs, verbose=0)
    logits = model({"context_movie_id": tf.constant(test_x)}).numpy()
    top10 = np.argsort(-logits, axis=1)[:, :10]
    hit_rate = float(
        np.mean([label in top for label, top in zip(test_y[:, 0], top10, strict=True)])
    )
    chance = 10 / num_movies
    print(f"{name} planted HR@10 {hit_rate:.3f} vs chance {chance:.3f}")
    assert hit_rate > 5 * chance, (hit_rate, chance)
    assert not np.isin(top10, [ids.PADDING, ids.oov_row(num_movies)]).any()


@pytest.mark.parametrize("tie", [False, True], ids=["label-table", "tied"])
@pytest.mark.parametrize("loss", ["sampled_softmax", "in_batch"])
def test_sampled_losses_train(loss, tie):
    config = _tied_config(8, 8)
    hparams = HParams(
        loss=loss,
        num_sampled=20,
        batch_size=32,
        learning_rate=0.02,
        dropout=0.0,
        tie_embeddings=tie,
        training_layout="windows",
    )
    tf.keras.utils.set_random_seed(0)
    model = Recommender(config, {"movie_id": 50}, hparams)
    compile_model(model, hparams)
    rng = np.random.default_rng(0)
    # A history of one repeated movie, followed by a fixed other movie: learnable by BOW.
    context = np.repeat(rng.integers(1, 51, size=(512, 1)), 10, axis=1)
    labels = (context[:, -1:] % 50) + 1
    history = model.fit({"context_movie_id": context}, labels, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses


@pytest.mark.parametrize("loss", ["softmax", "sampled_softmax", "in_batch"])
def test_every_loss_trains_in_the_sequence_layout_on_known_targets_only(loss):
    config = _tied_config(8, 8)
    hparams = HParams(loss=loss, num_sampled=20, batch_size=16, learning_rate=0.02, dropout=0.0)
    tf.keras.utils.set_random_seed(0)
    model = Recommender(config, {"movie_id": 50}, hparams)
    # Each movie is followed by the next one: learnable at every position.
    rng = np.random.default_rng(0)
    start = rng.integers(1, 41, size=(256, 1))
    inputs = (start + np.arange(10)).astype(np.int32)
    targets = inputs + 1
    targets[:, :3] = ids.PADDING  # not trained on: must not count
    targets[:, 3] = ids.oov_row(50)
    hparams = dataclasses.replace(hparams, epochs=5)
    batches = sequence_training.in_memory_dataset({"context_movie_id": inputs}, targets, hparams)
    history = sequence_training.fit_sequences(model, batches, hparams, 0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.7 * losses[0], losses
    # The loss averages the known targets only: OOV targets count as padding, and giving
    # those positions real targets changes it.
    movies = {"context_movie_id": inputs}
    skipped = np.where(targets == ids.oov_row(50), ids.PADDING, targets)
    trained = np.where(np.arange(10) < 4, inputs + 1, targets)
    loss_of = {
        name: float(model.sequence_loss(movies, t))
        for name, t in [("given", targets), ("skipped", skipped), ("trained", trained)]
    }
    if loss == "softmax":  # the sampled ones draw new negatives at every call
        assert loss_of["given"] == pytest.approx(loss_of["skipped"], rel=1e-6)
        assert loss_of["given"] != pytest.approx(loss_of["trained"], rel=1e-3)


def _tied_config(context_dim: int, label_dim: int):
    config = input_config.load("bow_id")
    config.activity_feature_groups[0].features[0].embedding_dim = context_dim
    config.label_feature.embedding_dim = label_dim
    return config


def test_tied_embeddings_score_with_the_history_table_and_train():
    hparams = HParams(
        tie_embeddings=True,
        batch_size=32,
        learning_rate=0.02,
        dropout=0.0,
        training_layout="windows",
    )
    tf.keras.utils.set_random_seed(0)
    model = Recommender(_tied_config(8, 8), {"movie_id": 50}, hparams)
    compile_model(model, hparams)
    rng = np.random.default_rng(0)
    context = np.repeat(rng.integers(1, 51, size=(512, 1)), 10, axis=1)
    labels = (context[:, -1:] % 50) + 1
    history = model.fit({"context_movie_id": context}, labels, epochs=6, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]

    movie_tables = [w for w in model.weights if "embedding" in w.name]
    assert len(movie_tables) == 1, [w.name for w in model.weights]
    inputs = {"context_movie_id": tf.constant(context[:4])}
    expected = tf.matmul(model.context(inputs), movie_tables[0], transpose_b=True).numpy()
    logits = model(inputs).numpy()
    valid = logits > -1e8  # padding and OOV rows are masked either way
    assert valid[:, ids.PADDING].sum() == 0
    np.testing.assert_allclose(logits[valid], expected[valid], rtol=1e-5, atol=1e-5)


def test_tied_embeddings_need_equal_sizes():
    with pytest.raises(
        ValueError, match="context movie's embedding_dim \\(8\\) to equal the label's \\(16\\)"
    ):
        Recommender(_tied_config(8, 16), {"movie_id": 50}, HParams(tie_embeddings=True))


def _known_timeline(movies: np.ndarray) -> sequence_training.Timeline:
    """A timeline whose every next movie is a training label."""
    next_movies = np.r_[movies[1:], ids.PADDING].astype(np.int32)
    return sequence_training.Timeline({"context_movie_id": movies}, next_movies)


@pytest.mark.parametrize("name", ["CNN", "LSTM", "TRANSFORMER", "HSTU"])
def test_sequence_training_learns_the_planted_pattern(tmp_path, name):
    num_movies = 200
    spec, successors = _planted_data(num_movies, seed=5)
    synthetic.write_movielens(tmp_path, "ml-latest", spec)
    rows = {movie: row for row, movie in enumerate(sorted(successors), ids.FIRST_VOCAB_ROW)}
    by_user: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    lines = (tmp_path / "ratings.csv").read_text().splitlines()[1:]
    for line_no, line in enumerate(lines):
        user, movie, _, timestamp = line.split(",")
        by_user[int(user)].append((int(timestamp), line_no, rows[int(movie)]))
    sequences = [np.array([row for *_, row in sorted(e)], np.int32) for e in by_user.values()]
    train = [_known_timeline(s[:-1]) for s in sequences]
    inputs, targets = sequence_training.sequence_examples(train, 10)
    test_x, test_y = _windows([s[-11:].tolist() for s in sequences], 10)
    test_x, test_y = test_x[-len(sequences) :], test_y[-len(sequences) :]

    config = input_config.parse(input_config.with_encoder(input_config.load("cnn_id"), name))
    hparams = HParams(epochs=15, batch_size=64, learning_rate=0.005, dropout=0.0)
    tf.keras.utils.set_random_seed(0)
    model = Recommender(config, {"movie_id": num_movies}, hparams)
    compile_model(model, hparams)
    batches = sequence_training.in_memory_dataset(inputs, targets, hparams)
    sequence_training.fit_sequences(model, batches, hparams, verbose=0)
    # The sequence-trained weights serve one window through the usual call.
    logits = model({"context_movie_id": tf.constant(test_x)}).numpy()
    top10 = np.argsort(-logits, axis=1)[:, :10]
    hit_rate = float(
        np.mean([label in top for label, top in zip(test_y[:, 0], top10, strict=True)])
    )
    print(f"sequence-trained {name} planted HR@10 {hit_rate:.3f}")
    assert hit_rate > 5 * 10 / num_movies, hit_rate


@pytest.mark.parametrize("name", ENCODER_NAMES)
def test_every_encoder_converts_to_builtin_tflite_and_agrees(name, tmp_path):
    config = input_config.parse(input_config.with_encoder(input_config.load("cnn_id"), name))
    length = config.activity_feature_groups[0].features[0].feature_length
    tf.keras.utils.set_random_seed(0)
    model = Recommender(config, {"movie_id": 50}, HPARAMS)
    spec = tf.TensorSpec([1, length], tf.int32, name="rows")

    module = tf.Module()
    module.model = model
    module.logits = tf.function(lambda rows: {"logits": model({"context_movie_id": rows})})
    signature = module.logits.get_concrete_function(spec)
    tf.saved_model.save(module, str(tmp_path), signatures={"logits": signature})

    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path), signature_keys=["logits"])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    runner = interpreter.get_signature_runner("logits")
    for real in (0, 3, length):
        rows = np.zeros((1, length), np.int32)
        rows[0, length - real :] = np.arange(2, 2 + real)
        expected = model({"context_movie_id": tf.constant(rows)}).numpy()
        np.testing.assert_allclose(runner(rows=rows)["logits"], expected, rtol=1e-4, atol=1e-4)
