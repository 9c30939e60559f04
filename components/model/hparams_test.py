"""Hyper-parameters: the best recipe by default, "auto" resolved per config, and every
combination that cannot work refused with one message naming it (tests/test_hparams.py:
the runner refuses them before a run)."""

from __future__ import annotations

import pytest

from components.model.hparams import AUTO, FULL_SOFTMAX_MAX_MOVIES, HParams
from components.model.recommender import Recommender
from configs import input_config


def test_defaults_are_the_best_recipe_on_the_default_config():
    resolved = HParams().for_config(input_config.load("transformer_id"), gate_k=10)
    assert resolved.training_layout == "sequences"
    assert resolved.tie_embeddings is True
    assert resolved.hidden_layer_dims == ()
    assert (resolved.learning_rate, resolved.dropout) == (0.002, 0.2)
    assert resolved.early_stopping_patience > 0 and resolved.epochs >= 20


def test_auto_falls_back_where_the_config_does_not_allow_the_recipe():
    # Two activity groups (ids + flattened genres), context dims 8 vs label 32.
    resolved = HParams().for_config(input_config.load("cnn_id_genre"))
    assert resolved.training_layout == "windows"
    assert resolved.tie_embeddings is False


@pytest.mark.parametrize(
    ("examples", "batch"), [(10, 32), (9_600, 32), (19_200, 64), (38_400, 128), (10**7, 128)]
)
def test_auto_batch_size_scales_with_the_data(examples, batch):
    assert HParams().with_batch_size_for(examples).batch_size == batch
    assert HParams(batch_size=512).with_batch_size_for(examples).batch_size == 512


@pytest.mark.parametrize(
    ("values", "config", "gate_k", "message"),
    [
        (
            {"tie_embeddings": True},
            "cnn_id",
            10,
            "tie_embeddings needs the context movie's embedding_dim (8) to equal the label's (32)",
        ),
        (
            {"training_layout": "sequences"},
            "cnn_id_genre",
            10,
            'training_layout="sequences" needs exactly one activity feature group',
        ),
        (
            {"sequence_stride": 11},
            "transformer_id",
            10,
            "sequence_stride (11) must be at most the history length (10)",
        ),
        (
            {"num_predictions": 5},
            "transformer_id",
            10,
            "num_predictions (5) must be at least the gate's K (10)",
        ),
    ],
)
def test_combinations_that_cannot_work_fail_with_one_clear_message(values, config, gate_k, message):
    with pytest.raises(ValueError) as raised:
        HParams.from_dict(values).for_config(input_config.load(config), gate_k)
    assert message in str(raised.value)


@pytest.mark.parametrize("layout", ["windows", "sequences"])
def test_tied_embeddings_with_a_sampled_loss_are_allowed_in_both_layouts(layout):
    hparams = HParams(loss="sampled_softmax", training_layout=layout, tie_embeddings=AUTO)
    resolved = hparams.for_config(input_config.load("transformer_id"))
    assert resolved.tie_embeddings is True and resolved.loss == "sampled_softmax"


def test_a_constant_learning_rate_leaves_early_stopping_free():
    hparams = HParams(early_stopping_patience=1, learning_rate_decay=1.0)
    assert hparams.early_stopping_patience == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": "ten"}, "epochs must be int"),
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"dropout": 1.5}, "dropout must be in [0, 1)"),
        ({"learning_rate": -0.1}, "learning_rate must be >= 0"),
        ({"train_minutes": 0}, "train_minutes must be positive"),
        ({"early_stopping_patience": -1}, "early_stopping_patience must be >= 0"),
        ({"learning_rate_decay": 0}, "learning_rate_decay must be in (0, 1]"),
        ({"learning_rate_patience": 0}, "learning_rate_patience must be at least 1"),
        (
            {"early_stopping_patience": 2, "learning_rate_patience": 2},
            "early_stopping_patience (2) must exceed learning_rate_patience (2)",
        ),
        ({"tie_embeddings": "yes"}, "tie_embeddings must be true, false or 'auto'"),
        ({"optimizer": "lion"}, "optimizer must be one of"),
        ({"hidden_layer_dims": [64, 0]}, "hidden_layer_dims must be positive"),
        ({"colour": 1}, "Unknown hyper-parameters ['colour']"),
    ],
)
def test_bad_values_fail_naming_the_value(values, message):
    with pytest.raises(ValueError) as raised:
        HParams.from_dict(values)
    assert message in str(raised.value)


def test_several_problems_are_listed_together():
    with pytest.raises(ValueError) as raised:
        HParams.from_dict({"dropout": 2.0, "epochs": 0})
    assert "dropout" in str(raised.value) and "epochs" in str(raised.value)


def test_the_auto_loss_follows_the_size_of_the_catalogue():
    auto = HParams()
    assert auto.loss == AUTO
    small, large = FULL_SOFTMAX_MAX_MOVIES, FULL_SOFTMAX_MAX_MOVIES + 1
    assert auto.with_loss_for(3_706).loss == auto.with_loss_for(small).loss == "softmax"
    assert auto.with_loss_for(large).loss == auto.with_loss_for(62_423).loss == "sampled_softmax"
    # A loss that is set stays, whatever the size.
    assert HParams(loss="softmax").with_loss_for(62_423).loss == "softmax"
    assert HParams(loss="in_batch").with_loss_for(100).loss == "in_batch"
    # The model resolves it from its own vocabulary.
    config = input_config.load("transformer_id")
    assert Recommender(config, {"movie_id": large}, auto).hparams.loss == "sampled_softmax"
    assert Recommender(config, {"movie_id": 50}, auto).hparams.loss == "softmax"


def test_gpu_options_are_off_by_default_and_only_serialized_when_on():
    assert (HParams().mixed_precision, HParams().xla) == (False, False)
    # Off: absent, so compiled jobs and cache keys stay what they were before the options.
    assert not {"mixed_precision", "xla"} & set(HParams().to_dict())
    on = HParams(mixed_precision=True, xla=True)
    assert on.to_dict()["mixed_precision"] is True and on.to_dict()["xla"] is True
    assert HParams.from_dict(on.to_dict()) == on
