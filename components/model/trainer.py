"""Trainer module: ``run_fn`` builds, trains and exports the model the input config describes.

The Trainer's ``custom_config`` carries the input config text and the hyper-parameters,
so the model is built from the same config Transform used.
"""

from __future__ import annotations

import dataclasses
import logging
import sys

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from components import names
from components.evaluation import ranking
from components.example_gen.pieces import SEQUENCES
from components.export import signatures
from components.model import (
    callbacks,
    distribution,
    sequence_training,
    transition_prior,
    warm_start,
)
from components.model.hparams import HParams
from components.model.recommender import Recommender, compile_model
from components.transform.preprocessing import HISTORY_ROWS, TARGET_ROWS
from configs import input_config

# Set by the Trainer's executor (components.model.trainer_executor): the base model's
# artifact id and URI, for the record of how training started.
BASE_MODEL_KEY = "base_model_artifact"
# Batches of reading (not training): the per-epoch evaluation.
EVAL_BATCH = 1024
# Training examples held for shuffling: the Trainer's memory stays bounded whatever the
# data's size (ExampleGen writes each user's examples together; this mixes a few thousand
# users into every batch).
SHUFFLE_BUFFER = 100_000


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
    shuffle_buffer: int = SHUFFLE_BUFFER,
) -> tf.data.Dataset:
    """(features, label) batches of transformed examples, only the ``keep`` features if given,
    streamed from the files (``shuffle``: through a buffer of ``shuffle_buffer`` examples)."""
    dataset = data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size,
            label_key=label_name,
            shuffle=shuffle,
            shuffle_seed=seed,
            shuffle_buffer_size=shuffle_buffer,
            num_epochs=num_epochs,
        ),
        transform_output.transformed_metadata.schema,
    )
    if keep is None:
        return dataset
    return dataset.map(lambda features, label: ({k: features[k] for k in keep}, label))


def build_model(
    config,
    transform_output: tft.TFTransformOutput,
    hparams: HParams,
    strategy: tf.distribute.Strategy | None = None,
) -> Recommender:
    """The compiled model, its variables and optimizer under ``strategy`` (default: none)."""
    strategy = strategy or tf.distribute.get_strategy()
    tf.keras.utils.set_random_seed(hparams.seed)
    with distribution.building(strategy, hparams.mixed_precision):
        model = Recommender(config, vocab_sizes(transform_output, config), hparams)
        compile_model(model, hparams)
        if distribution.distributed(strategy):
            # Mirrored variables must be created under the scope, not at a first call
            # outside it (warm start, the evaluation callback).
            warm_start.build_weights(model, config)
    return model


def sequence_batches(
    files: list[str],
    data_accessor: tfx.components.DataAccessor,
    transform_output: tft.TFTransformOutput,
    config,
    hparams: HParams,
    shuffle_buffer: int = SHUFFLE_BUFFER,
) -> tf.data.Dataset:
    """(inputs, targets) batches of the training pieces ExampleGen wrote for the sequence
    layout, streamed from Transform's output: memory does not grow with the data."""
    inputs = [f.feature_name for f in input_config.input_features(config)]
    pieces = make_dataset(
        files,
        data_accessor,
        transform_output,
        config.label_feature.feature_name,
        hparams.batch_size,
        shuffle=True,
        seed=hparams.seed,
        num_epochs=None if hparams.train_steps else 1,
        keep=[*inputs, TARGET_ROWS],
        shuffle_buffer=shuffle_buffer,
    )
    return pieces.map(
        lambda features, _: (
            {name: features[name] for name in inputs},
            tf.cast(features[TARGET_ROWS], tf.int32),
        )
    )


def count_examples(patterns: list[str]) -> int:
    """How many examples the (gzipped TFRecord) files hold: one pass, no parsing."""
    files = [path for pattern in patterns for path in tf.io.gfile.glob(pattern)]
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return int(dataset.reduce(np.int64(0), lambda count, _: count + 1).numpy())


def _progress() -> int:
    """Keras verbosity: a progress bar on a terminal, one line per epoch in logs."""
    return 1 if sys.stdout.isatty() else 2


def training_callbacks(
    model: Recommender,
    evaluation: tf.data.Dataset,
    hparams: HParams,
    gate_k: int,
    log_dir: str,
    warm: bool = False,
    task: distribution.Task | None = None,
) -> tuple[list[tf.keras.callbacks.Callback], callbacks.TrainingLog]:
    """Per-epoch evaluation, early stopping on it (best weights restored), the time budget,
    TensorBoard, and the log of it all; in the order they must run after each epoch.

    ``warm``: training starts from a base model's weights, which are scored first and
    count as epoch 0 (kept when no epoch beats them)."""
    monitor = callbacks.metric_log_name(gate_k)
    ks = sorted({*hparams.eval_top_k, gate_k})
    evaluation_each_epoch = callbacks.HeldOutEvaluation(model, evaluation, ks)
    stopping = {
        "monitor": monitor,
        "mode": "max",
        # Patience 0 trains every epoch; the best one is restored all the same.
        "patience": hparams.early_stopping_patience or hparams.epochs,
        "restore_best_weights": True,
        "verbose": 1,
    }
    initial = None
    if warm:
        initial = ranking.metrics(evaluation_each_epoch.ranks(), [gate_k])[ranking.hr_name(gate_k)]
        logging.info("Warm start: %s of the starting weights %.4f", monitor, initial)
        early_stopping = callbacks.FromStartingPoint(initial, **stopping)
    else:
        early_stopping = tf.keras.callbacks.EarlyStopping(**stopping)
    budget = callbacks.TimeBudget(hparams.train_minutes)
    log = callbacks.TrainingLog(monitor, early_stopping, budget, initial)
    decay = []
    if hparams.learning_rate_decay < 1:
        decay.append(
            tf.keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                mode="max",
                factor=hparams.learning_rate_decay,
                patience=hparams.learning_rate_patience,
                min_delta=0,
                verbose=1,
            )
        )
    return (
        [
            evaluation_each_epoch,
            *decay,
            early_stopping,
            budget,
            log,
            tf.keras.callbacks.TensorBoard(log_dir=log_dir),
            # In a cluster, each worker says how many steps it took.
            *([distribution.StepLog(task, monitor)] if task and task.workers > 1 else []),
        ],
        log,
    )


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point."""
    # First: MultiWorkerMirroredStrategy must exist before TensorFlow runs any op.
    strategy, task = distribution.strategy_from_environment()
    custom = fn_args.custom_config or {}
    config = input_config.parse(custom[names.INPUT_CONFIG_KEY], "Trainer custom_config")
    gate_k = int(custom.get(names.GATE_K_KEY, ranking.DEFAULT_K))
    hparams = HParams.from_dict(custom.get(names.HPARAMS_KEY)).for_config(config, gate_k)
    # The Trainer's own train_args win over the hyper-parameter.
    hparams = dataclasses.replace(hparams, train_steps=fn_args.train_steps or hparams.train_steps)
    transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    label = config.label_feature.feature_name
    inputs = [f.feature_name for f in input_config.input_features(config)]
    logging.info("Training with %s", hparams)

    evaluation = make_dataset(
        fn_args.eval_files,
        fn_args.data_accessor,
        transform_output,
        label,
        EVAL_BATCH,
        shuffle=False,
        seed=hparams.seed,
        num_epochs=1,
        keep=[*inputs, HISTORY_ROWS],
    )
    model = build_model(config, transform_output, hparams, strategy)
    # "auto" values the model resolved (the loss follows the size of the catalogue).
    hparams = dataclasses.replace(hparams, loss=model.hparams.loss)
    logging.info("Loss: %s over %d movie rows", hparams.loss, model.num_rows)
    vocabularies = {
        name: transform_output.vocabulary_by_name(name)
        for name in input_config.vocabularies(config)
    }
    started = warm_start.start(
        model,
        config,
        vocabularies,
        hparams.warm_start,
        fn_args.base_model,
        custom.get(BASE_MODEL_KEY),
    )
    logging.info("Training starts: %s", started.to_json())
    if started.warm:
        hparams = hparams.for_warm_start()
    if hparams.training_layout == SEQUENCES:
        # ExampleGen wrote the training split as pieces: trained as they are read.
        pieces = count_examples(fn_args.train_files)
        logging.info("Sequence layout: %d training pieces", pieces)
        hparams = hparams.with_batch_size_for(pieces)
        fit_callbacks, log = training_callbacks(
            model, evaluation, hparams, gate_k, fn_args.model_run_dir, started.warm, task
        )
        sequence_training.fit_sequences(
            model,
            sequence_batches(
                fn_args.train_files, fn_args.data_accessor, transform_output, config, hparams
            ),
            hparams,
            verbose=_progress(),
            callbacks=fit_callbacks,
        )
    else:
        hparams = hparams.with_batch_size_for(count_examples(fn_args.train_files))
        train = make_dataset(
            fn_args.train_files,
            fn_args.data_accessor,
            transform_output,
            label,
            hparams.batch_size,
            shuffle=True,
            seed=hparams.seed,
            num_epochs=None if hparams.train_steps else 1,
            keep=inputs,
        )
        train = distribution.shard_by_data(train)
        fit_callbacks, log = training_callbacks(
            model, evaluation, hparams, gate_k, fn_args.model_run_dir, started.warm, task
        )
        model.fit(
            train,
            epochs=hparams.epochs,
            steps_per_epoch=hparams.steps_per_epoch,
            callbacks=fit_callbacks,
            verbose=_progress(),
        )
    logging.info("Trained with batch size %d", hparams.batch_size)
    settings = {
        "batch_size": hparams.batch_size,
        "loss": hparams.loss,
        "started": started.to_json(),
    }
    prior = None
    # In a cluster the export is a float32 copy outside the strategy: saving it runs no
    # collective, so the other workers have nothing to take part in (TF's rule that every
    # worker saves, to a temporary folder, is for saves of distributed variables).
    if task.is_chief:
        model = distribution.exportable(
            model,
            lambda: _built(config, transform_output, hparams),
            strategy,
            hparams.mixed_precision,
        )
        if hparams.transition_prior:
            prior, weights = fitted_prior(model, config, hparams, fn_args, transform_output)
            if prior is not None:
                settings["transition_prior"] = {
                    "weight": prior.weight,
                    "transitions": prior.entries,
                    "eval_by_weight": weights,
                }
    # Only the chief's log and model are kept; other workers write their log to a temporary
    # folder (distribution.write_dir).
    with distribution.write_dir(task, fn_args.model_run_dir) as model_run_dir:
        log.write(model_run_dir, **settings)
    if task.is_chief:
        signatures.export(
            model,
            transform_output,
            config,
            hparams.num_predictions,
            fn_args.serving_model_dir,
            prior=prior if prior is not None and prior.weight else None,
        )
        # What a later run needs to start from this model, and how this one started.
        warm_start.save(model, config, vocabularies, fn_args.serving_model_dir)
        warm_start.write_started(fn_args.serving_model_dir, started)
    distribution.finish(strategy)


def fitted_prior(
    model: Recommender,
    config,
    hparams: HParams,
    fn_args: tfx.components.FnArgs,
    transform_output: tft.TFTransformOutput,
) -> tuple[transition_prior.TransitionPrior | None, dict]:
    """The transition prior of the training transitions at the weight the eval split
    chooses, and every weight's eval figures; (None, {}) for catalogues too large for it."""
    if model.num_rows > transition_prior.MAX_ROWS:
        logging.info("Transition prior: not fitted for %d movie rows", model.num_rows)
        return None, {}
    movie = input_config.movie_feature(config).feature_name
    sequences = hparams.training_layout == SEQUENCES

    def read_once(files: list[str], keep: list[str]) -> tf.data.Dataset:
        return make_dataset(
            files,
            fn_args.data_accessor,
            transform_output,
            config.label_feature.feature_name,
            EVAL_BATCH,
            shuffle=False,
            seed=hparams.seed,
            num_epochs=1,
            keep=keep,
        )

    training = read_once(fn_args.train_files, [movie, TARGET_ROWS] if sequences else [movie])
    # Pieces: each movie and the one rated after it; windows: the newest movie and label.
    pairs = (
        (features[movie].numpy(), features[TARGET_ROWS].numpy())
        if sequences
        else (features[movie][:, -1].numpy(), label.numpy())
        for features, label in training
    )
    prior = transition_prior.fit(pairs, model.num_rows)
    evaluation = read_once(fn_args.eval_files, [*model.input_names, HISTORY_ROWS])
    prior, weights = transition_prior.choose_weight(
        prior, lambda: callbacks.held_out_batches(model, evaluation, movie)
    )
    logging.info(
        "Transition prior: %d transitions, weight %g chosen on the eval split (%s: %s)",
        prior.entries,
        prior.weight,
        transition_prior.CHOOSING_METRIC,
        {w: round(m[transition_prior.CHOOSING_METRIC], 4) for w, m in weights.items()},
    )
    return prior, weights


def _built(config, transform_output: tft.TFTransformOutput, hparams: HParams) -> Recommender:
    """A float32 model outside any strategy, its variables created: the export's copy."""
    model = Recommender(
        config,
        vocab_sizes(transform_output, config),
        dataclasses.replace(hparams, mixed_precision=False),
    )
    warm_start.build_weights(model, config)
    return model
