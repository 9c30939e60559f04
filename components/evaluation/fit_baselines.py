"""FitBaselines: popularity and first-order Markov, fitted on the training split and scored on
the eval and test splits, so that the gate and the report compare every model with them."""

# No `from __future__ import annotations`: TFX reads the component function's type hints.
import io
import os

import numpy as np
import tensorflow as tf
from absl import logging
from tfx import v1 as tfx

import movie_recs as artifacts
from components.contracts.baseline_metrics import BaselineMetrics
from components.evaluation import baselines, quality, ranking
from components.evaluation.examples import read_split
from components.example_gen import timelines
from configs import features as raw

ARRAYS_FILE = "baselines.npz"


def fit(examples_uri: str) -> baselines.Baselines:
    """From the training split's (previous movie, label) pairs: each window's newest context
    movie and label, or each sequence piece's movies and their targets (the same pairs:
    every training label is one window's label, or one piece's target)."""
    names = [raw.CONTEXT_MOVIE_ID, raw.LABEL_MOVIE_ID, raw.NEXT_MOVIE_IDS]
    train = read_split(examples_uri, timelines.TRAIN, names)
    contexts, targets = train[raw.CONTEXT_MOVIE_ID], train[raw.NEXT_MOVIE_IDS].values
    if len(targets):  # sequence pieces: a target per context movie, or NO_TARGET
        trained = targets != raw.NO_TARGET
        return baselines.Baselines.fit(contexts.values[trained], targets[trained], contexts.values)
    return baselines.Baselines.fit(
        contexts.last(), train[raw.LABEL_MOVIE_ID].values, contexts.values
    )


def evaluate(fitted: baselines.Baselines, held_out: quality.HeldOut) -> dict[str, dict]:
    """Each baseline's metrics on held-out examples (see quality.evaluate)."""
    previous = held_out.columns[raw.CONTEXT_MOVIE_ID].last()
    return {
        name: quality.evaluate(
            fitted.candidates,
            lambda start, end, name=name: fitted.scores(name, previous[start:end]),
            held_out,
        )
        for name in baselines.NAMES
    }


def read_metrics(baselines_uri: str) -> dict[str, dict]:
    """split -> baseline -> quality.evaluate's table."""
    return BaselineMetrics.read(baselines_uri).splits


@tfx.dsl.components.component
def FitBaselines(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    baselines_model: tfx.dsl.components.OutputArtifact[artifacts.Baselines],
) -> None:
    """Fits the baselines on the training split; writes their eval and test metrics."""
    fitted = fit(examples.uri)
    table = {}
    for split in timelines.HELD_OUT_SPLITS:
        held_out = quality.read_held_out(examples.uri, split, [raw.CONTEXT_MOVIE_ID])
        table[split] = evaluate(fitted, held_out)
    tf.io.gfile.makedirs(baselines_model.uri)
    packed = io.BytesIO()  # a zip needs a seekable file, which GCS files are not
    np.savez_compressed(packed, **fitted.to_arrays())
    with tf.io.gfile.GFile(os.path.join(baselines_model.uri, ARRAYS_FILE), "wb") as handle:
        handle.write(packed.getvalue())
    BaselineMetrics(table).write(baselines_model.uri)
    for split, by_baseline in table.items():
        for name, results in by_baseline.items():
            overall = results[quality.SEEN_EXCLUDED]["overall"]
            hr = ranking.hr_name(ranking.DEFAULT_K)
            key = f"{split}_{name}_{ranking.key_name(hr)}"  # e.g. eval_markov_hr_at_10
            baselines_model.set_float_custom_property(key, overall[hr])
            logging.info("Baseline %s on %s: %s", name, split, overall)
