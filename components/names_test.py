"""The shared names that mirror another library's agree with it."""

from tfx.utils import path_utils

from components import names


def test_the_serving_model_folder_is_tfxs():
    assert path_utils.serving_model_path("URI") == f"URI/{names.SERVING_MODEL_DIR}"
