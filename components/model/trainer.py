"""Trainer module: ``run_fn`` builds, trains and exports the model the input config describes.

The Trainer's ``custom_config`` carries the input config text and the hyper-parameters,
so the model is built from the same config Transform used.
"""

from __future__ import annotations

import logging
import sys

import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from components.export import signatures
from components.model.hparams import HParams
from components.model.recommender import Recommender, compile_model
from configs import input_config

CONFIG_KEY = "input_config"
HPARAMS_KEY = "hparams"


def vocab_sizes(transform_output: tft.TFTransformOutput, config) -> dict[str, int]:
    return {
        name: transform_output.vocabulary_size_by_name(name)
        for name in input_config.vocabularies(config)
    }


def make_dataset(
    files: list[str],
    data_accessor: tfx.components.DataAccessor,
    transform_output: tft.TFTransformOutput,
    label_name: str,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    num_epochs: int | None,
) -> tf.data.Dataset:
    """(features, label) batches of transformed examples."""
    return data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size,
            label_key=label_name,
            shuffle=shuffle,
            shuffle_seed=seed,
            num_epochs=num_epochs,
        ),
        transform_output.transformed_metadata.schema,
    )


def build_model(config, transform_output: tft.TFTransformOutput, hparams: HParams) -> Recommender:
    tf.keras.utils.set_random_seed(hparams.seed)
    model = Recommender(config, vocab_sizes(transform_output, config), hparams)
    compile_model(model, hparams)
    return model


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point."""
    custom = fn_args.custom_config or {}
    config = input_config.parse(custom[CONFIG_KEY], "Trainer custom_config")
    hparams = HParams.from_dict(custom.get(HPARAMS_KEY))
    transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    label = config.label_feature.feature_name
    logging.info("Training with %s", hparams)

    train_steps = fn_args.train_steps or hparams.train_steps
    train = make_dataset(
        fn_args.train_files,
        fn_args.data_accessor,
        transform_output,
        label,
        hparams.batch_size,
        shuffle=True,
        seed=hparams.seed,
        num_epochs=None if train_steps else 1,
    )
    evaluation = make_dataset(
        fn_args.eval_files,
        fn_args.data_accessor,
        transform_output,
        label,
        hparams.batch_size,
        shuffle=False,
        seed=hparams.seed,
        num_epochs=1,
    )
    model = build_model(config, transform_output, hparams)
    epochs = hparams.epochs
    steps_per_epoch = None
    if train_steps:
        steps_per_epoch = max(1, train_steps // epochs)
    model.fit(
        train,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=evaluation,
        callbacks=[tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    signatures.export(
        model, transform_output, config, hparams.num_predictions, fn_args.serving_model_dir
    )
