"""The Trainer's SavedModel: serving and on-device signatures agree, and TFLite converts."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from ai_edge_litert.interpreter import Interpreter

from components.evaluation import quality
from components.export import conversion, on_device_inputs, signatures
from components.export.layout import (
    EXCLUDED_MOVIES,
    ON_DEVICE_SIGNATURES,
    RECOMMEND,
    RECOMMEND_UNSEEN,
    SCORE_ALL_MOVIES,
    TOP_IDS,
    TOP_SCORES,
)
from components.model import trainer, transition_prior
from components.model.hparams import HParams
from configs import input_config
from tests import pipeline_runs
from tests.conftest import PIPELINE_CONFIG

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def exported(pipeline_run):
    output_dir = pipeline_run.output_dir
    model_dir = os.path.join(
        pipeline_runs.latest_artifact(output_dir, "Model").uri, "Format-Serving"
    )
    transform_output = tft.TFTransformOutput(
        pipeline_runs.latest_artifact(output_dir, "TransformGraph").uri
    )
    examples_uri = pipeline_runs.latest_artifact(
        output_dir, "Examples", pipeline_runs.EXAMPLE_GEN
    ).uri
    examples = pipeline_runs.read_examples(examples_uri, "test")[:40]
    config = input_config.load(PIPELINE_CONFIG)
    vocabularies = on_device_inputs.string_vocabularies(transform_output, config)
    held_out = quality.read_held_out(
        examples_uri, "test", on_device_inputs.feature_names(config), limit=40
    )
    columns = on_device_inputs.from_columns(held_out.columns, config, vocabularies)
    inputs = [
        {name: values[row] for name, values in columns.items()} for row in range(len(examples))
    ]
    return tf.saved_model.load(model_dir), model_dir, examples, inputs


def _signature_inputs(signature, features: dict[str, np.ndarray]) -> dict[str, tf.Tensor]:
    """The features a signature takes (recommend has no excluded_movie_ids)."""
    return {name: tf.constant(features[name]) for name in signature.structured_input_signature[1]}


def test_saved_model_has_its_signatures(exported):
    model, *_ = exported
    assert set(model.signatures) == {
        "serving_default",
        "transform_features",
        *ON_DEVICE_SIGNATURES,
        SCORE_ALL_MOVIES,
    }


def test_on_device_signature_matches_serving_default(exported):
    model, _, examples, inputs = exported
    serving = model.signatures["serving_default"](
        examples=tf.constant([e.SerializeToString() for e in examples])
    )
    # Test examples carry the whole history: both exclude it.
    recommend = model.signatures[RECOMMEND_UNSEEN]
    for row, features in enumerate(inputs):
        on_device = recommend(**_signature_inputs(recommend, features))
        np.testing.assert_array_equal(on_device[TOP_IDS].numpy(), serving[TOP_IDS][row].numpy())
        np.testing.assert_allclose(
            on_device[TOP_SCORES].numpy(), serving[TOP_SCORES][row].numpy(), rtol=1e-4, atol=1e-4
        )


def test_recommend_unseen_never_returns_a_movie_of_the_history(exported):
    model, _, examples, inputs = exported
    unseen = model.signatures[RECOMMEND_UNSEEN]
    histories = [set(pipeline_runs.values(e, "history_movie_ids")) for e in examples]
    assert max(map(len, histories)) > len(inputs[0]["context_movie_id"])  # beyond the window
    for history, features in zip(histories, inputs, strict=True):
        top = unseen(**_signature_inputs(unseen, features))[TOP_IDS].numpy()
        assert not set(top.tolist()) & history
        assert (top > 0).all()


def test_excluded_movies_beyond_the_window_are_never_recommended(exported):
    model, _, _, inputs = exported
    unseen = model.signatures[RECOMMEND_UNSEEN]
    nothing_else = np.zeros_like(inputs[0][EXCLUDED_MOVIES])
    features = {**inputs[0], EXCLUDED_MOVIES: nothing_else}
    best = int(unseen(**_signature_inputs(unseen, features))[TOP_IDS].numpy()[0])
    excluded = nothing_else.copy()
    excluded[-1] = best  # watched long ago: in the exclusion list, not in the window
    without = unseen(**_signature_inputs(unseen, {**features, EXCLUDED_MOVIES: excluded}))
    assert best not in features["context_movie_id"]
    assert best not in without[TOP_IDS].numpy().tolist()


def test_score_all_movies_ranks_like_the_on_device_signature(exported):
    model, _, _, inputs = exported
    score = model.signatures[SCORE_ALL_MOVIES]
    batch = {name: np.stack([f[name] for f in inputs]) for name in inputs[0]}
    scored = score(**_signature_inputs(score, batch))
    movie_ids, scores = scored["movie_ids"].numpy(), scored["scores"].numpy()
    recommend = model.signatures[RECOMMEND]
    for row, features in enumerate(inputs[:10]):
        top = recommend(**_signature_inputs(recommend, features))[TOP_IDS].numpy()
        np.testing.assert_array_equal(movie_ids[np.argsort(-scores[row], kind="stable")[:10]], top)


@pytest.fixture(scope="module")
def tflite_model(exported):
    _, model_dir, *_ = exported
    converter = tf.lite.TFLiteConverter.from_saved_model(
        model_dir, signature_keys=list(ON_DEVICE_SIGNATURES)
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def test_on_device_signatures_convert_to_builtin_tflite_and_agree(exported, tflite_model):
    model, _, _, inputs = exported
    interpreter = tf.lite.Interpreter(model_content=tflite_model)
    assert set(interpreter.get_signature_list()) == set(ON_DEVICE_SIGNATURES)
    for name in ON_DEVICE_SIGNATURES:
        runner = interpreter.get_signature_runner(name)
        for features in inputs[:10]:
            lite = runner(**{k: features[k] for k in runner.get_input_details()})
            saved = model.signatures[name](**_signature_inputs(model.signatures[name], features))
            np.testing.assert_array_equal(lite[TOP_IDS], saved[TOP_IDS].numpy())
            np.testing.assert_allclose(lite[TOP_SCORES], saved[TOP_SCORES].numpy(), rtol=1e-4)


def test_all_padding_and_unknown_ids_still_give_real_movies(exported, tflite_model):
    _, _, _, inputs = exported
    interpreter = tf.lite.Interpreter(model_content=tflite_model)
    runner = interpreter.get_signature_runner(RECOMMEND)
    names = list(runner.get_input_details())
    empty = {name: np.zeros_like(inputs[0][name]) for name in names}
    unknown = dict(empty, context_movie_id=np.full_like(inputs[0]["context_movie_id"], 10**8))
    for features in (empty, unknown):
        top = runner(**features)[TOP_IDS]
        assert len(set(top.tolist())) == len(top) and (top > 0).all()


def test_the_transition_prior_adds_its_bonus_to_every_signature(exported, pipeline_run, tmp_path):
    _, _, _, inputs = exported
    output_dir = pipeline_run.output_dir
    transform_output = tft.TFTransformOutput(
        pipeline_runs.latest_artifact(output_dir, "TransformGraph").uri
    )
    config = input_config.load(PIPELINE_CONFIG)
    recommender = trainer._built(config, transform_output, HParams().for_config(config))
    rows = recommender.num_rows
    # Every movie row is followed by the next two (the OOV row by none).
    movies = np.arange(1, rows - 1)
    following = np.minimum(np.concatenate([movies + 1, movies + 2]), rows - 2)
    pairs = [(np.concatenate([movies, movies]), following)]
    prior = transition_prior.fit(pairs, rows, successors=4).with_weight(1.5)
    plain_dir, prior_dir = str(tmp_path / "plain"), str(tmp_path / "prior")
    signatures.export(recommender, transform_output, config, 10, plain_dir)
    signatures.export(recommender, transform_output, config, 10, prior_dir, prior=prior)

    batch = {name: np.stack([f[name] for f in inputs]) for name in inputs[0]}
    plain = tf.saved_model.load(plain_dir).signatures[SCORE_ALL_MOVIES]
    with_prior = tf.saved_model.load(prior_dir)
    scored = with_prior.signatures[SCORE_ALL_MOVIES]
    table = signatures.raw_to_row_table(transform_output.vocabulary_by_name("movie_id"))
    newest = signatures.raw_to_row(table, batch["context_movie_id"][:, -1]).numpy()
    bonus = prior.scores(newest)
    assert bonus.any()
    np.testing.assert_allclose(
        scored(**_signature_inputs(scored, batch))["scores"].numpy(),
        plain(**_signature_inputs(plain, batch))["scores"].numpy() + bonus,
        rtol=1e-5,
        atol=1e-4,
    )
    # The on-device file answers like the SavedModel, bonus included.
    lite = conversion.convert(prior_dir)
    columns = {name: np.stack([f[name] for f in inputs[:20]]) for name in inputs[0]}
    assert conversion.parity_report(with_prior, lite, columns) == []


@pytest.mark.parametrize("similarity", ["dot", "cosine"])
def test_the_on_device_file_holds_the_movie_table_once(pipeline_run, tmp_path, similarity):
    # The history's lookup and the scoring read one table; a second copy (e.g. a unit-length
    # one folded by the converter for cosine scores) would double the file.
    transform_output = tft.TFTransformOutput(
        pipeline_runs.latest_artifact(pipeline_run.output_dir, "TransformGraph").uri
    )
    config = input_config.load(PIPELINE_CONFIG)
    hparams = HParams(similarity=similarity, temperature=0.05).for_config(config)
    recommender = trainer._built(config, transform_output, hparams)
    export_dir = str(tmp_path / similarity)
    signatures.export(recommender, transform_output, config, 10, export_dir)
    table = recommender.label_table().numpy()
    for quantize in (False, True):
        interpreter = Interpreter(model_content=conversion.convert(export_dir, quantize))
        shapes = [tuple(d["shape"]) for d in interpreter.get_tensor_details()]
        assert shapes.count(table.shape) == 1, (similarity, quantize)
    # Scores are still dot products or cosines / temperature; padding and OOV never win.
    context = tf.random.stateless_normal([2, table.shape[1]], seed=[1, 2])
    logits = recommender.logits(context).numpy()
    query = context.numpy()
    if similarity == "cosine":
        query = query / np.linalg.norm(query, axis=-1, keepdims=True) / 0.05
        table = table / np.linalg.norm(table, axis=-1, keepdims=True)
    np.testing.assert_allclose(logits[:, 1:-1], (query @ table.T)[:, 1:-1], rtol=1e-4, atol=1e-4)
    assert logits[:, [0, -1]].max() < -1e6
