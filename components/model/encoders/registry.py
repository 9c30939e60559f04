"""The encoder an activity group's ``encoder_type`` names, sized by the hyper-parameters."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from components.model.encoders.bow import BagOfWordsEncoder
from components.model.encoders.cnn import ConvEncoder
from components.model.encoders.hstu import HstuEncoder
from components.model.encoders.lstm import LstmEncoder
from components.model.encoders.transformer import TransformerEncoder
from components.model.hparams import HParams
from configs.input_config_pb2 import BOW, CNN, HSTU, LSTM, TRANSFORMER

keras = tf.keras

# (length, input_dim, hparams) -> a new encoder layer.
Builder = Callable[[int, int, HParams], keras.layers.Layer]


def _bow(length: int, input_dim: int, hparams: HParams) -> keras.layers.Layer:
    return BagOfWordsEncoder()


def _cnn(length: int, input_dim: int, hparams: HParams) -> keras.layers.Layer:
    filters = [max(1, round(r * input_dim)) for r in hparams.conv_num_filter_ratios]
    return ConvEncoder(filters, hparams.conv_kernel_size, length, hparams.conv_recency_filters)


def _lstm(length: int, input_dim: int, hparams: HParams) -> keras.layers.Layer:
    return LstmEncoder(hparams.lstm_num_units)


def _transformer(length: int, input_dim: int, hparams: HParams) -> keras.layers.Layer:
    return TransformerEncoder(
        length, hparams.transformer_layers, hparams.transformer_heads, hparams.dropout
    )


def _hstu(length: int, input_dim: int, hparams: HParams) -> keras.layers.Layer:
    per_head = max(1, input_dim // hparams.hstu_heads)
    return HstuEncoder(
        length,
        hparams.hstu_layers,
        hparams.hstu_heads,
        hparams.hstu_attention_dim or per_head,
        hparams.hstu_linear_dim or per_head,
        hparams.dropout,
    )


BUILDERS: dict[int, Builder] = {
    BOW: _bow,
    CNN: _cnn,
    LSTM: _lstm,
    TRANSFORMER: _transformer,
    HSTU: _hstu,
}


def make_encoder(
    encoder_type: int, length: int, input_dim: int, hparams: HParams
) -> keras.layers.Layer:
    """The encoder an activity group's ``encoder_type`` names, sized by the hyper-parameters."""
    if encoder_type not in BUILDERS:
        raise ValueError(f"Unsupported encoder_type {encoder_type}")
    return BUILDERS[encoder_type](length, input_dim, hparams)
