"""Encoders, the recommender and its signatures."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import tensorflow as tf

from components.data_formats import synthetic
from components.model import encoders, sequence_training
from components.model.hparams import HParams
from components.model.recommender import Recommender, compile_model
from components.transform import ids
from configs import input_config
from configs.input_config_pb2 import BOW, CNN, FLOAT, HSTU, LSTM, TRANSFORMER

HPARAMS = HParams(dropout=0.0)
LENGTH, DIM = 8, 6


def _encoder(encoder_type: int) -> tf.keras.layers.Layer:
    tf.keras.utils.set_random_seed(0)
    return encoders.make_encoder(encoder_type, LENGTH, DIM, HPARAMS)


def _history(length: int, items: int, padding_values: str) -> tuple[tf.Tensor, tf.Tensor]:
    """The same ``items`` activities, left-padded to ``length``; padding holds noise or 0."""
    rng = np.random.default_rng(1)
    real = np.random.default_rng(2).normal(size=(items, DIM)).astype(np.float32)
    pad = length - items
    noise = rng.normal(size=(pad, DIM)) * 100 if padding_values == "noise" else np.zeros((pad, DIM))
    embeddings = np.concatenate([noise.astype(np.float32), real])[np.newaxis]
    mask = np.array([[False] * pad + [True] * items])
    return tf.constant(embeddings), tf.constant(mask)


ENCODERS = {"BOW": BOW, "CNN": CNN, "LSTM": LSTM, "TRANSFORMER": TRANSFORMER, "HSTU": HSTU}


@pytest.mark.parametrize("name", ENCODERS)
def test_encoder_output_shape(name):
    encoder = _encoder(ENCODERS[name])
    embeddings = tf.random.normal([4, LENGTH, DIM])
    mask = tf.sequence_mask([0, 1, 5, LENGTH], LENGTH)[:, ::-1]
    output = encoder(embeddings, mask)
    assert output.shape[0] == 4 and len(output.shape) == 2
    assert np.isfinite(output.numpy()).all()


@pytest.mark.parametrize("name", ENCODERS)
def test_padding_never_changes_the_encoding(name):
    encoder = _encoder(ENCODERS[name])
    reference = encoder(*_history(LENGTH, 3, "zeros")).numpy()
    for length in (3, 5, LENGTH):
        for padding_values in ("zeros", "noise"):
            output = encoder(*_history(length, 3, padding_values)).numpy()
            np.testing.assert_allclose(output, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ENCODERS)
def test_encoding_depends_on_the_history(name):
    encoder = _encoder(ENCODERS[name])
    first = encoder(*_history(LENGTH, 3, "zeros")).numpy()
    second = encoder(*_history(LENGTH, 4, "zeros")).numpy()
    assert not np.allclose(first, second)


def _every_position(name: str, embeddings: tf.Tensor, mask: tf.Tensor) -> np.ndarray:
    return _encoder(ENCODERS[name])(embeddings, mask, all_positions=True).numpy()


@pytest.mark.parametrize("name", ENCODERS)
def test_every_position_sees_only_earlier_activities(name):
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(4, LENGTH, DIM)).astype(np.float32)
    mask = tf.sequence_mask([0, 1, 5, LENGTH], LENGTH)[:, ::-1]
    every = _every_position(name, tf.constant(embeddings), mask)
    assert every.shape[:2] == (4, LENGTH)
    # The newest position is exactly the one-window encoding that serving computes.
    window = _encoder(ENCODERS[name])(tf.constant(embeddings), mask).numpy()
    np.testing.assert_allclose(every[:, -1], window, rtol=1e-4, atol=1e-5)
    changed = embeddings.copy()
    changed[:, 5:] = rng.normal(size=changed[:, 5:].shape)
    later_changed = _every_position(name, tf.constant(changed), mask)
    # Only real positions count: padding positions carry no loss and feed nothing later.
    earlier = mask.numpy()[:, :5]
    np.testing.assert_allclose(
        later_changed[:, :5][earlier], every[:, :5][earlier], rtol=1e-4, atol=1e-5
    )
    assert not np.allclose(later_changed[:, 5:], every[:, 5:])


@pytest.mark.parametrize("name", ["BOW", "CNN", "LSTM", "HSTU"])
def test_every_position_encodes_the_window_ending_there(name):
    # Not the Transformer: its learned positions count back from the newest input, so
    # earlier outputs see shifted positions (as SASRec's do); only the newest is a window.
    rng = np.random.default_rng(3)
    embeddings = tf.constant(rng.normal(size=(4, LENGTH, DIM)).astype(np.float32))
    mask = tf.sequence_mask([0, 1, 5, LENGTH], LENGTH)[:, ::-1]
    every = _every_position(name, embeddings, mask)
    encoder = _encoder(ENCODERS[name])
    for end in range(1, LENGTH + 1):
        window = encoder(embeddings[:, :end], mask[:, :end]).numpy()
        np.testing.assert_allclose(every[:, end - 1], window, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ENCODERS)
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


def test_sequence_examples_make_every_activity_a_target_once():
    timeline = _known_timeline(np.arange(1, 12, dtype=np.int32))  # 11 activities
    inputs, targets = sequence_training.sequence_examples([timeline], length=4)
    inputs = inputs["context_movie_id"]
    assert inputs.shape == targets.shape and inputs.shape[1] == 4
    real_targets = targets[targets != ids.PADDING]
    assert sorted(real_targets.tolist()) == list(range(2, 12))
    for row_inputs, row_targets in zip(inputs, targets, strict=True):
        real = row_inputs != ids.PADDING
        # The target at each real position is the activity right after its input.
        assert (row_targets[real] == row_inputs[real] + 1).all()


def test_sequence_examples_skip_held_out_labels_but_keep_their_activities():
    movies = np.arange(1, 12, dtype=np.int32)
    timeline = _known_timeline(movies)
    timeline.next_movies[[2, 3, 4, 5]] = ids.PADDING  # labels 4..7 held out
    timeline.activities["context_movie_rating"] = movies / 10
    timeline.user = {"user_age": np.array([25])}
    inputs, targets = sequence_training.sequence_examples([timeline], length=4)
    assert sorted(targets[targets != ids.PADDING].tolist()) == [2, 3, 8, 9, 10, 11]
    # Activities 4..7 are still inputs, their piece holds no label and is dropped.
    assert inputs["context_movie_id"].tolist() == [[7, 8, 9, 10], [0, 0, 1, 2]]
    np.testing.assert_allclose(inputs["context_movie_rating"], inputs["context_movie_id"] / 10)
    assert inputs["user_age"].tolist() == [[25], [25]]


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
    sequence_training.fit_sequences(model, inputs, targets, hparams, verbose=0)
    # The sequence-trained weights serve one window through the usual call.
    logits = model({"context_movie_id": tf.constant(test_x)}).numpy()
    top10 = np.argsort(-logits, axis=1)[:, :10]
    hit_rate = float(
        np.mean([label in top for label, top in zip(test_y[:, 0], top10, strict=True)])
    )
    print(f"sequence-trained {name} planted HR@10 {hit_rate:.3f}")
    assert hit_rate > 5 * 10 / num_movies, hit_rate


def test_sequence_training_honours_train_steps_and_the_optimizer():
    config = input_config.load("cnn_id")
    hparams = HParams(epochs=2, train_steps=6, batch_size=4, optimizer="sgd")
    model = Recommender(config, {"movie_id": 40}, hparams)
    movies = np.arange(1, 20, dtype=np.int32)
    inputs, targets = sequence_training.sequence_examples([_known_timeline(movies)], 10)
    history = sequence_training.fit_sequences(model, inputs, targets, hparams, verbose=0)
    # Two sequences make one batch per pass; the steps repeat the data.
    assert isinstance(history.model.optimizer, tf.keras.optimizers.SGD)
    assert int(history.model.optimizer.iterations) == 6
    assert len(history.history["loss"]) == 2


def _window_examples(truth: dict[int, np.ndarray], length: int, keep: float, seed: int):
    """Window examples (user, position, context movies and ratings, label, age) of each
    user's timeline, a random ``keep`` share of them, shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for user, timeline in truth.items():
        for position in range(1, len(timeline)):
            if rng.random() < keep:
                context = timeline[max(0, position - length) : position]
                padded = np.r_[np.zeros(length - len(context), np.int32), context]
                rows.append((user, position, padded, padded / 10, timeline[position], user + 18))
    rows = [rows[i] for i in rng.permutation(len(rows))]
    users, positions, movies, ratings, labels, ages = (np.array(c) for c in zip(*rows, strict=True))
    contexts = {"context_movie_id": movies, "context_movie_rating": ratings}
    return users, positions, contexts, labels, {"user_age": ages.reshape(-1, 1)}


def _truth(users: int, seed: int) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        u: rng.integers(1, 100, size=rng.integers(2, 30)).astype(np.int32) for u in range(users)
    }


def test_timelines_are_rebuilt_exactly_from_window_examples():
    truth = _truth(20, seed=0)
    users, positions, contexts, labels, _ = _window_examples(truth, 4, keep=1.0, seed=0)
    rebuilt = sequence_training.timelines_from_windows(
        users,
        positions,
        {"context_movie_id": contexts["context_movie_id"]},
        labels,
        movie_feature="context_movie_id",
    )
    assert [t.activities["context_movie_id"].tolist() for t in rebuilt] == [
        truth[user].tolist() for user in sorted(truth)
    ]
    assert [t.next_movies.tolist() for t in rebuilt] == [
        [*truth[user][1:].tolist(), ids.PADDING] for user in sorted(truth)
    ]


def test_timelines_from_a_random_share_of_windows_train_only_those_labels():
    truth = _truth(40, seed=1)
    users, positions, contexts, labels, user_features = _window_examples(truth, 4, keep=0.6, seed=1)
    rebuilt = sequence_training.timelines_from_windows(
        users, positions, contexts, labels, "context_movie_id", user_features
    )
    given = {(u, p) for u, p in zip(users.tolist(), positions.tolist(), strict=True)}
    # Some users' timelines have an activity no given window covers: they are cut there.
    assert len(rebuilt) > len(set(users.tolist()))
    trained = []
    for timeline in rebuilt:
        movies = timeline.activities["context_movie_id"]
        (age,) = timeline.user["user_age"]
        user = int(age) - 18
        # Each run of known activities is a stretch of the user's true timeline.
        offsets = [
            o
            for o in range(len(truth[user]) - len(movies) + 1)
            if (truth[user][o : o + len(movies)] == movies).all()
        ]
        assert offsets, (user, movies)
        np.testing.assert_allclose(timeline.activities["context_movie_rating"], movies / 10)
        for index in np.flatnonzero(timeline.next_movies):
            # A target is the next true movie, and only where that label's window was given.
            position = offsets[0] + index + 1
            assert timeline.next_movies[index] == truth[user][position]
            assert (user, position) in given
            trained.append((user, position))
    # A window's own context holds the activity before its label: every given label is
    # trained, exactly once.
    assert sorted(trained) == sorted(given)


@pytest.mark.parametrize("name", ENCODERS)
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
