"""The shared names that mirror another library's agree with it."""

from tfx.utils import path_utils

from components import names


def test_the_serving_model_folder_is_tfxs():
    assert path_utils.serving_model_path("URI") == f"URI/{names.SERVING_MODEL_DIR}"


def test_channel_keys_are_tfxs():
    from tfx.types import standard_component_specs as specs

    assert names.EXAMPLES_KEY == specs.EXAMPLES_KEY
    assert names.TRANSFORM_GRAPH_KEY == specs.TRANSFORM_GRAPH_KEY
    assert names.MODEL_KEY == specs.MODEL_KEY
    assert names.MODEL_RUN_KEY == specs.MODEL_RUN_KEY
    assert names.BASE_MODEL_KEY == specs.BASE_MODEL_KEY
    assert names.BASELINE_MODEL_KEY == specs.BASELINE_MODEL_KEY
    assert names.BLESSING_KEY == specs.BLESSING_KEY
    assert names.EVALUATION_KEY == specs.EVALUATION_KEY
    assert names.PUSHED_MODEL_KEY == specs.PUSHED_MODEL_KEY


def test_component_names_are_the_node_ids_of_their_classes():
    from components.evaluation.evaluator import Evaluator
    from components.evaluation.fit_baselines import FitBaselines
    from components.evaluation.report import QualityReport
    from components.example_gen.component import MovieLensExampleGen
    from components.pusher.component import TFLitePusher

    for component, name in (
        (MovieLensExampleGen, names.EXAMPLE_GEN),
        (FitBaselines, names.FIT_BASELINES),
        (Evaluator, names.EVALUATOR),
        (QualityReport, names.QUALITY_REPORT),
        (TFLitePusher, names.PUSHER),
    ):
        assert component.__name__ == name
