"""Every encoder: output shape, padding never counts, and every position sees only earlier
activities (the newest position is the one window serving encodes)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.model.encoders import registry
from components.model.hparams import HParams
from configs.input_config_pb2 import BOW, CNN, HSTU, LSTM, TRANSFORMER

HPARAMS = HParams(dropout=0.0)
LENGTH, DIM = 8, 6


def _encoder(encoder_type: int) -> tf.keras.layers.Layer:
    tf.keras.utils.set_random_seed(0)
    return registry.make_encoder(encoder_type, LENGTH, DIM, HPARAMS)


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
