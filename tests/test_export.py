"""The Trainer's SavedModel: serving and on-device signatures agree, and TFLite converts."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from components.export import on_device_inputs
from components.export.signatures import ON_DEVICE_SIGNATURES, TOP_IDS, TOP_SCORES
from configs import input_config
from tests import pipeline_runs
from tests.conftest import PIPELINE_CONFIG

pytestmark = pytest.mark.slow


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
    inputs = [on_device_inputs.from_example(e, config, vocabularies) for e in examples]
    return tf.saved_model.load(model_dir), model_dir, examples, inputs


def test_saved_model_has_the_four_signatures(exported):
    model, *_ = exported
    assert set(model.signatures) == {
        "serving_default",
        "transform_features",
        *ON_DEVICE_SIGNATURES,
    }


def test_on_device_signature_matches_serving_default(exported):
    model, _, examples, inputs = exported
    serving = model.signatures["serving_default"](
        examples=tf.constant([e.SerializeToString() for e in examples])
    )
    recommend = model.signatures["recommend"]
    for row, features in enumerate(inputs):
        on_device = recommend(**{k: tf.constant(v) for k, v in features.items()})
        np.testing.assert_array_equal(on_device[TOP_IDS].numpy(), serving[TOP_IDS][row].numpy())
        np.testing.assert_allclose(
            on_device[TOP_SCORES].numpy(), serving[TOP_SCORES][row].numpy(), rtol=1e-4, atol=1e-4
        )


def test_recommend_unseen_never_returns_a_movie_of_the_history(exported):
    model, _, _, inputs = exported
    unseen = model.signatures["recommend_unseen"]
    for features in inputs:
        top = unseen(**{k: tf.constant(v) for k, v in features.items()})[TOP_IDS].numpy()
        assert not set(top) & set(features["context_movie_id"].tolist())
        assert (top > 0).all()


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
            lite = runner(**features)
            saved = model.signatures[name](**{k: tf.constant(v) for k, v in features.items()})
            np.testing.assert_array_equal(lite[TOP_IDS], saved[TOP_IDS].numpy())
            np.testing.assert_allclose(lite[TOP_SCORES], saved[TOP_SCORES].numpy(), rtol=1e-4)


def test_all_padding_and_unknown_ids_still_give_real_movies(exported, tflite_model):
    _, _, _, inputs = exported
    interpreter = tf.lite.Interpreter(model_content=tflite_model)
    runner = interpreter.get_signature_runner("recommend")
    empty = {name: np.zeros_like(values) for name, values in inputs[0].items()}
    unknown = dict(inputs[0], context_movie_id=np.full_like(inputs[0]["context_movie_id"], 10**8))
    for features in (empty, unknown):
        top = runner(**features)[TOP_IDS]
        assert len(set(top.tolist())) == len(top) and (top > 0).all()
