"""Trainer module: ``run_fn`` builds, trains and exports the model the input config describes.

The Trainer's ``custom_config`` carries the input config text and the hyper-parameters,
so the model is built from the same config Transform used.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections import defaultdict

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from components.example_gen import features as raw
from components.export import signatures
from components.model import sequence_training
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
    keep: list[str] | None = None,
) -> tf.data.Dataset:
    """(features, label) batches of transformed examples, only the ``keep`` features if given."""
    dataset = data_accessor.tf_dataset_factory(
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
    if keep is None:
        return dataset
    return dataset.map(lambda features, label: ({k: features[k] for k in keep}, label))


def build_model(config, transform_output: tft.TFTransformOutput, hparams: HParams) -> Recommender:
    tf.keras.utils.set_random_seed(hparams.seed)
    model = Recommender(config, vocab_sizes(transform_output, config), hparams)
    compile_model(model, hparams)
    return model


def _fit_sequences(
    model: Recommender,
    config,
    windows: tf.data.Dataset,
    hparams: HParams,
    callbacks: list[tf.keras.callbacks.Callback],
) -> None:
    """Trains on each user's timeline rebuilt from one pass over the window examples."""
    sequence_training.check_config(config)
    (group,) = config.activity_feature_groups
    activity = [f.feature_name for f in group.features]
    user = [f.feature_name for g in config.global_feature_groups for f in g.features]
    columns: dict[str, list[np.ndarray]] = defaultdict(list)
    for features, labels in windows:
        for name in (raw.USER_ID, raw.HISTORY_LENGTH, *activity, *user):
            columns[name].append(features[name].numpy())
        columns["label"].append(labels.numpy())
    column = {name: np.concatenate(parts) for name, parts in columns.items()}
    timelines = sequence_training.timelines_from_windows(
        column[raw.USER_ID].reshape(-1),
        column[raw.HISTORY_LENGTH].reshape(-1),
        {name: column[name] for name in activity},
        column["label"].reshape(-1),
        movie_feature=sequence_training.movie_feature(config),
        user_features={name: column[name].reshape(-1, 1) for name in user},
    )
    inputs, targets = sequence_training.sequence_examples(
        timelines, group.features[0].feature_length
    )
    logging.info("Sequence layout: %d timelines, %d sequences", len(timelines), len(targets))
    sequence_training.fit_sequences(
        model, inputs, targets, hparams, verbose=_progress(), callbacks=callbacks
    )


def _progress() -> int:
    """Keras verbosity: a progress bar on a terminal, one line per epoch in logs."""
    return 1 if sys.stdout.isatty() else 2


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point."""
    custom = fn_args.custom_config or {}
    config = input_config.parse(custom[CONFIG_KEY], "Trainer custom_config")
    hparams = HParams.from_dict(custom.get(HPARAMS_KEY))
    # The Trainer's own train_args win over the hyper-parameter.
    hparams = dataclasses.replace(hparams, train_steps=fn_args.train_steps or hparams.train_steps)
    transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    label = config.label_feature.feature_name
    inputs = [f.feature_name for f in input_config.input_features(config)]
    logging.info("Training with %s", hparams)

    sequences = hparams.training_layout == "sequences"
    train = make_dataset(
        fn_args.train_files,
        fn_args.data_accessor,
        transform_output,
        label,
        hparams.batch_size,
        shuffle=not sequences,
        seed=hparams.seed,
        num_epochs=None if hparams.train_steps and not sequences else 1,
        # The sequence layout needs the pass-through user ids and positions.
        keep=None if sequences else inputs,
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
        keep=inputs,
    )
    model = build_model(config, transform_output, hparams)
    tensorboard = tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)
    if sequences:
        evaluation_each_epoch = sequence_training.WindowEvaluation(model, evaluation)
        _fit_sequences(model, config, train, hparams, [evaluation_each_epoch, tensorboard])
    else:
        model.fit(
            train,
            epochs=hparams.epochs,
            steps_per_epoch=hparams.steps_per_epoch,
            validation_data=evaluation,
            callbacks=[tensorboard],
            verbose=_progress(),
        )
    signatures.export(
        model, transform_output, config, hparams.num_predictions, fn_args.serving_model_dir
    )
