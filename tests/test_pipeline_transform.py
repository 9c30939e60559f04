"""The real pipeline, ExampleGen through Transform, on small synthetic ML-1M-layout data."""

from __future__ import annotations

import os
from collections import defaultdict

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from ml_metadata.proto import metadata_store_pb2

from components.data_formats.movielens.validation import INVALID_REASONS, Reason
from components.transform import ids
from components.transform.preprocessing import HISTORY_ROWS
from configs import features as raw
from configs import input_config
from tests import pipeline_runs
from tests.conftest import PIPELINE_CONFIG, PIPELINE_SPEC

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_every_rating_line_is_accounted_for(pipeline_run):
    output_dir, summary = pipeline_run.output_dir, pipeline_run.summary
    report = pipeline_runs.ingest_report(output_dir)
    ratings = report["ratings"]
    assert ratings["lines"] == summary.num_ratings + PIPELINE_SPEC.bad_lines
    assert ratings["lines"] == ratings["accepted"] + sum(ratings["rejected"].values())
    invalid = {r: n for r, n in ratings["rejected"].items() if Reason(r) in INVALID_REASONS}
    assert invalid == summary.bad_lines_by_reason
    # One example per rating after each user's first.
    assert sum(report["examples"].values()) == ratings["accepted"] - summary.num_users

    examples = pipeline_runs.latest_artifact(output_dir, "Examples", pipeline_runs.EXAMPLE_GEN)
    properties = examples.custom_properties
    assert properties["rating_lines"].int_value == ratings["lines"]
    assert properties["rejected_duplicate"].int_value == summary.bad_lines_by_reason["duplicate"]


def test_leave_last_out_keeps_eval_and_test_labels_out_of_training(pipeline_run):
    output_dir, summary = pipeline_run.output_dir, pipeline_run.summary
    uri = pipeline_runs.latest_artifact(output_dir, "Examples", pipeline_runs.EXAMPLE_GEN).uri
    positions: dict[str, dict[int, list[int]]] = {}
    for split in ("train", "eval", "test"):
        positions[split] = defaultdict(list)
        for example in pipeline_runs.read_examples(uri, split):
            user = pipeline_runs.values(example, raw.USER_ID)[0]
            positions[split][user].append(pipeline_runs.values(example, raw.HISTORY_LENGTH)[0])
    assert len(positions["test"]) == len(positions["eval"]) == summary.num_users
    for user, (test_position,) in positions["test"].items():
        (eval_position,) = positions["eval"][user]
        assert eval_position == test_position - 1
        assert max(positions["train"][user]) == eval_position - 1
        assert len(positions["train"][user]) == eval_position - 1


def _transform_output(output_dir: str) -> tft.TFTransformOutput:
    graph = pipeline_runs.latest_artifact(output_dir, "TransformGraph")
    return tft.TFTransformOutput(graph.uri)


def _transform(output_dir: str, examples: list[tf.train.Example]) -> dict[str, np.ndarray]:
    transform_output = _transform_output(output_dir)
    parsed = tf.io.parse_example(
        [e.SerializeToString() for e in examples], transform_output.raw_feature_spec()
    )
    transformed = transform_output.transform_features_layer()(parsed)
    return {
        name: (tf.sparse.to_dense(t) if isinstance(t, tf.SparseTensor) else t).numpy()
        for name, t in transformed.items()
    }


def test_sequences_keep_the_most_recent_movies_left_padded(pipeline_run):
    output_dir = pipeline_run.output_dir
    config = input_config.load(PIPELINE_CONFIG)
    (movie_feature,) = [
        f for f in input_config.activity_features(config) if f.feature_name == raw.CONTEXT_MOVIE_ID
    ]
    length = movie_feature.feature_length
    vocab = _transform_output(output_dir).vocabulary_by_name(movie_feature.vocab_name)
    row_of = {int(movie): row for row, movie in enumerate(vocab, start=ids.FIRST_VOCAB_ROW)}

    uri = pipeline_runs.latest_artifact(output_dir, "Examples", pipeline_runs.EXAMPLE_GEN).uri
    examples = pipeline_runs.read_examples(uri, "test")
    transformed = _transform(output_dir, examples)
    assert transformed[raw.CONTEXT_MOVIE_ID].shape == (len(examples), length)
    for example, padded in zip(examples, transformed[raw.CONTEXT_MOVIE_ID], strict=True):
        context = pipeline_runs.values(example, raw.CONTEXT_MOVIE_ID)[-length:]
        expected = [ids.PADDING] * (length - len(context)) + [
            row_of.get(m, ids.oov_row(len(vocab))) for m in context
        ]
        assert padded.tolist() == expected
    # The whole history, as movie rows, for the Trainer's evaluation (padded here by to_dense).
    for example, rows in zip(examples, transformed[HISTORY_ROWS], strict=True):
        history = pipeline_runs.values(example, raw.HISTORY_MOVIE_IDS)
        assert len(history) >= len(pipeline_runs.values(example, raw.CONTEXT_MOVIE_ID))
        expected = [row_of.get(m, ids.oov_row(len(vocab))) for m in history]
        assert rows[: len(history)].tolist() == expected
    ratings = transformed[raw.CONTEXT_MOVIE_RATING]
    assert ratings.shape == (len(examples), length)
    assert 0 < ratings.max() <= 1.0
    assert transformed[raw.LABEL_MOVIE_ID].shape == (len(examples), 1)


def test_unknown_ids_map_to_the_oov_row(pipeline_run):
    output_dir = pipeline_run.output_dir
    uri = pipeline_runs.latest_artifact(output_dir, "Examples", pipeline_runs.EXAMPLE_GEN).uri
    example = pipeline_runs.read_examples(uri, "test")[0]
    unseen = 10**9
    example.features.feature[raw.CONTEXT_MOVIE_ID].int64_list.value[-1] = unseen
    example.features.feature[raw.LABEL_MOVIE_ID].int64_list.value[0] = unseen
    example.features.feature[raw.USER_GENDER].bytes_list.value[0] = b"X"
    transformed = _transform(output_dir, [example])
    transform_output = _transform_output(output_dir)
    movie_vocab = transform_output.vocabulary_size_by_name("movie_id")
    assert transformed[raw.CONTEXT_MOVIE_ID][0, -1] == ids.oov_row(movie_vocab)
    assert transformed[raw.LABEL_MOVIE_ID][0, 0] == ids.oov_row(movie_vocab)
    gender_vocab = transform_output.vocabulary_size_by_name("user_gender")
    assert transformed[raw.USER_GENDER][0, 0] == ids.oov_row(gender_vocab)


def test_vocabularies_are_exported_for_every_configured_vocab_name(pipeline_run):
    transform_output = _transform_output(pipeline_run.output_dir)
    for vocab_name in input_config.vocabularies(input_config.load(PIPELINE_CONFIG)):
        assert transform_output.vocabulary_size_by_name(vocab_name) > 0
    assert set(transform_output.vocabulary_by_name("user_gender")) == {b"M", b"F"}


def test_rerun_with_unchanged_inputs_is_served_from_cache(pipeline_run):
    output_dir = pipeline_run.output_dir
    store = pipeline_runs.store(output_dir)
    before = {e.id for e in store.get_executions()}
    pipeline_runs.run_pipeline(pipeline_run.data_dir, output_dir, *pipeline_run.args)
    states = {}
    for execution in store.get_executions():
        if execution.id not in before:
            (execution_type,) = store.get_execution_types_by_id([execution.type_id])
            states[execution_type.name.rsplit(".", 1)[-1]] = execution.last_known_state
    # Everything up to the Trainer is served from cache. The Evaluator may run again: the
    # first run blessed a model, so this run has a baseline the first one did not.
    upstream = [
        "MovieLensExampleGen",
        "StatisticsGen",
        "ExampleValidator",
        "AnomaliesGate",
        "Transform",
        "Trainer",
    ]
    assert {name: states.get(name) for name in upstream} == dict.fromkeys(
        upstream, metadata_store_pb2.Execution.CACHED
    ), states


def test_schema_in_repo_lists_exactly_the_raw_features():
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from pipeline import paths

    with open(os.path.join(paths.SCHEMA_DIR, "schema.pbtxt")) as handle:
        schema = text_format.Parse(handle.read(), schema_pb2.Schema())
    assert {f.name for f in schema.feature} == set(raw.RAW_FEATURES)
