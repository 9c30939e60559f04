"""Tests for configs/input_config.py: the shipped configs and every validation rule."""

from __future__ import annotations

import glob
import os
import re

import pytest
from google.protobuf import text_format

from configs import input_config
from configs import input_config_pb2 as pb
from configs.input_config import ConfigError

SHIPPED = sorted(glob.glob(os.path.join(input_config.CONFIG_DIR, "*.pbtxt")))


def full() -> pb.InputConfig:
    """A fresh copy of cnn_full: two activity groups, one global group, the label."""
    return input_config.load("cnn_full")


def feature(config: pb.InputConfig, name: str) -> pb.Feature:
    for candidate in input_config.all_features(config):
        if candidate.feature_name == name:
            return candidate
    raise KeyError(name)


def problems(config: pb.InputConfig) -> str:
    with pytest.raises(ConfigError) as error:
        input_config.validate(config, "test.pbtxt")
    message = str(error.value)
    assert message.startswith("Invalid input config test.pbtxt:")
    return message


# --- shipped configs -----------------------------------------------------------------------


def test_configs_are_shipped():
    names = {os.path.basename(path) for path in SHIPPED}
    assert {"bow_id.pbtxt", "cnn_id.pbtxt", "cnn_full.pbtxt"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=os.path.basename)
def test_every_shipped_config_validates(path):
    config = input_config.load(path)
    assert config.activity_feature_groups
    assert config.label_feature.feature_name == "label_movie_id"
    # A bare name finds the same file in configs/.
    bare = os.path.basename(path)[: -len(".pbtxt")]
    assert input_config.load(bare) == config
    input_config.validate(config)


def test_unknown_config_name_lists_the_available_ones():
    with pytest.raises(ConfigError, match=r"'no_such_config' not found.*cnn_full\.pbtxt"):
        input_config.load("no_such_config")


# --- context_length and helpers ------------------------------------------------------------


def test_context_length_ignores_the_flattened_genre_length():
    config = full()
    assert feature(config, "context_movie_genre").feature_length == 32
    assert input_config.context_length(config) == 10


@pytest.mark.parametrize("name", ["bow_id", "cnn_id", "lstm_id", "cnn_id_genre"])
def test_context_length_of_shipped_id_configs(name):
    assert input_config.context_length(input_config.load(name)) == 10


def test_context_length_is_the_longest_per_movie_feature():
    config = full()
    group = config.activity_feature_groups[0]
    # Move context_movie_year into a group of its own with a longer length.
    year = pb.Feature()
    year.CopyFrom(group.features[2])
    del group.features[2]
    year.feature_length = 25
    config.activity_feature_groups.add(features=[year], encoder_type=pb.LSTM)
    input_config.validate(config)
    assert input_config.context_length(config) == 25
    feature(config, "context_movie_genre").feature_length = 64
    assert input_config.context_length(config) == 25


def test_vocabularies_are_shared_by_name():
    shared = input_config.vocabularies(full())
    assert [f.feature_name for f in shared["movie_id"]] == ["context_movie_id", "label_movie_id"]
    assert "context_movie_rating" not in {f.feature_name for fs in shared.values() for f in fs}
    assert input_config.needs_user_features(full())
    assert not input_config.needs_user_features(input_config.load("cnn_id"))


# --- invalid configs -----------------------------------------------------------------------


def test_unknown_feature():
    config = full()
    feature(config, "context_movie_year").feature_name = "context_movie_title"
    message = problems(config)
    assert "activity_feature_groups[0]: unknown feature 'context_movie_title'" in message
    assert "context_movie_year" in message  # the valid names are listed


def test_wrong_feature_type():
    config = full()
    feature(config, "context_movie_rating").feature_type = pb.INT
    message = problems(config)
    assert "context_movie_rating has feature_type INT" in message
    assert "writes it as FLOAT" in message


def test_mismatched_lengths_in_one_group():
    config = full()
    feature(config, "context_movie_year").feature_length = 8
    message = problems(config)
    assert "activity_feature_groups[0]: features of one group need equal feature_length" in message
    assert "context_movie_id=10" in message
    assert "context_movie_year=8" in message


def test_categorical_feature_needs_vocab_name():
    config = full()
    feature(config, "user_gender").vocab_name = ""
    message = problems(config)
    assert "global_feature_groups[0]: categorical feature user_gender needs a vocab_name" in message


def test_float_feature_cannot_have_a_vocabulary():
    config = full()
    feature(config, "context_movie_rating").vocab_name = "ratings"
    assert "FLOAT feature context_movie_rating cannot have a vocabulary" in problems(config)


def test_label_and_context_movie_ids_need_one_vocabulary():
    config = full()
    config.label_feature.vocab_name = "label_movies"
    message = problems(config)
    assert "must share one movie vocabulary" in message
    assert "'movie_id' != 'label_movies'" in message


def test_same_vocabulary_with_different_sizes():
    config = full()
    config.label_feature.vocab_size = 1000
    message = problems(config)
    assert "vocabulary 'movie_id' is declared with different sizes/types" in message
    assert "context_movie_id(size 0)" in message
    assert "label_movie_id(size 1000)" in message


def test_same_vocabulary_with_different_types():
    config = full()
    feature(config, "user_gender").vocab_name = "user_age"
    assert "vocabulary 'user_age' is declared with different sizes/types" in problems(config)


def test_global_group_with_a_sequence_feature():
    config = full()
    config.global_feature_groups[0].features.add(
        feature_name="context_movie_rating", feature_type=pb.FLOAT, feature_length=1
    )
    message = problems(config)
    assert "global_feature_groups[0]: context_movie_rating is a sequence feature" in message
    assert "declared twice" in message


def test_activity_group_with_a_scalar_feature():
    config = full()
    config.activity_feature_groups[1].features.add(
        feature_name="history_length",
        feature_type=pb.INT,
        vocab_name="history",
        embedding_dim=2,
        feature_length=32,
    )
    assert "history_length is not a sequence feature" in problems(config)


def test_global_feature_needs_length_one():
    config = full()
    for f in config.global_feature_groups[0].features:
        f.feature_length = 3
    assert "global feature user_age needs length 1" in problems(config)


def test_missing_encoder_type():
    config = full()
    config.activity_feature_groups[1].encoder_type = pb.ENCODER_TYPE_UNSPECIFIED
    message = problems(config)
    assert "activity_feature_groups[1]: encoder_type is required" in message
    assert "activity_feature_groups[0]: encoder_type" not in message


def test_global_groups_need_no_encoder_type():
    config = full()
    assert config.global_feature_groups[0].encoder_type == pb.ENCODER_TYPE_UNSPECIFIED
    input_config.validate(config)


def test_wrong_label_feature():
    config = full()
    config.label_feature.feature_name = "context_movie_id"
    assert "label_feature must be 'label_movie_id', got 'context_movie_id'" in problems(config)


def test_no_activity_group_and_empty_group():
    config = input_config.load("cnn_id")
    del config.activity_feature_groups[:]
    config.global_feature_groups.add()
    message = problems(config)
    assert "at least one activity_feature_group is required" in message
    assert "global_feature_groups[0]: has no features" in message


def test_every_problem_is_listed_at_once():
    config = full()
    feature(config, "context_movie_rating").feature_type = pb.STRING
    feature(config, "user_zip_prefix").vocab_size = -1
    feature(config, "context_movie_id").embedding_dim = 0
    message = problems(config)
    assert len(re.findall(r"^  - ", message, flags=re.M)) >= 3
    assert "user_zip_prefix has a negative vocab_size" in message
    assert "categorical feature context_movie_id needs embedding_dim > 0" in message


@pytest.mark.parametrize(
    "text",
    [
        'activity_feature_groups { features { feature_name: "context_movie_id" ',
        "activity_feature_groups { encoder: CNN }",
        "activity_feature_groups { encoder_type: RNN }",
        'label_feature { feature_length: "ten" }',
    ],
    ids=["unclosed", "unknown-field", "unknown-enum", "wrong-value-type"],
)
def test_malformed_text_proto(text):
    with pytest.raises(ConfigError, match=r"^broken\.pbtxt: not a valid InputConfig text proto"):
        input_config.parse(text, "broken.pbtxt")


def test_parse_validates_after_parsing():
    text = text_format.MessageToString(input_config.load("bow_id"))
    assert input_config.parse(text).activity_feature_groups[0].encoder_type == pb.BOW
    with pytest.raises(ConfigError, match="encoder_type is required"):
        input_config.parse(text.replace("encoder_type: BOW", ""), "edited")


def test_label_needs_length_one_and_history_needs_movie_ids():
    config = full()
    config.label_feature.feature_length = 5
    assert "label_feature needs feature_length 1" in problems(config)
    config = full()
    feature(config, "context_movie_id").feature_name = "context_movie_year"
    message = problems(config)
    assert "context_movie_id must be in an activity group" in message


def test_an_activity_group_of_only_floats_has_no_padding_mask():
    config = full()
    group = config.activity_feature_groups[0]
    rating = pb.Feature()
    rating.CopyFrom(group.features[1])
    del group.features[1]
    config.activity_feature_groups.add(features=[rating], encoder_type=pb.BOW)
    assert "needs a categorical feature" in problems(config)
