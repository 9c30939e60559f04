"""Names that several stages (and the TensorFlow-free tools) share, each defined once."""

# A Model artifact's SavedModel folder, as tfx.utils.path_utils.serving_model_path names it
# (spelled here for the tools that do not import TFX; components/names_test.py keeps them equal).
SERVING_MODEL_DIR = "Format-Serving"

# Under an output folder (local runs) or a pipeline root (Kubeflow): pushed TFLite models,
# one versioned folder each.
PUSHED_MODELS_DIR = "serving_models"

# The pipeline's node ids (a component's id is its class name unless given one): the
# runner's console, lineage and the benchmarks look components up by them.
EXAMPLE_GEN = "MovieLensExampleGen"
TRANSFORM = "Transform"
TRAINER = "Trainer"
FIT_BASELINES = "FitBaselines"
EVALUATOR = "Evaluator"
QUALITY_REPORT = "QualityReport"
PUSHER = "TFLitePusher"
BASELINE_RESOLVER = "latest_blessed_model_resolver"

# Channel keys: a component's inputs and outputs (as tfx.types.standard_component_specs
# spells TFX's; components/names_test.py keeps them equal), and the MLMD event path keys.
EXAMPLES_KEY = "examples"
TRANSFORM_GRAPH_KEY = "transform_graph"
MODEL_KEY = "model"
MODEL_RUN_KEY = "model_run"
BASE_MODEL_KEY = "base_model"
BASELINE_MODEL_KEY = "baseline_model"
BASELINES_KEY = "baselines"  # QualityReport's and the Evaluator's input
BASELINES_MODEL_KEY = "baselines_model"  # FitBaselines' output
BLESSING_KEY = "blessing"
EVALUATION_KEY = "evaluation"
REPORT_KEY = "report"
PUSHED_MODEL_KEY = "pushed_model"

# Keys of the components' custom configs and execution parameters: the input config's text
# (Transform, Trainer, TFLitePusher, the on-device spec), the hyper-parameters (Trainer,
# TFLitePusher) and the gate's K (Trainer, Evaluator). The lineage tools read them back.
INPUT_CONFIG_KEY = "input_config"
HPARAMS_KEY = "hparams"
GATE_K_KEY = "gate_k"

# ML Metadata custom properties: written by one component, read by lineage and the runners.
BLESSED_PROPERTY = "blessed"  # ModelBlessing (TFX's Evaluator) and the quality report: 0/1
PUSHED_PROPERTY = "pushed"  # PushedModel: 0/1
PUSHED_VERSION_PROPERTY = "pushed_version"
PUSHED_DESTINATION_PROPERTY = "pushed_destination"
TFLITE_BYTES_PROPERTY = "tflite_bytes"
TFLITE_SHA256_PROPERTY = "tflite_sha256"  # PushedModel: the pushed model.tflite's sha256
# PushedModel: set (to the served version) when the blessed model's bytes were those the
# serving pointer already named, so nothing new was written (pushed = 0).
PUSH_UNCHANGED_PROPERTY = "unchanged_version"
# Examples (ExampleGen, span data): the span TFX's driver resolved; also its exec property.
SPAN_PROPERTY = "span"
EXAMPLES_COUNT_PREFIX = "examples_"  # Examples: examples_train, examples_eval, examples_test
# Examples (ExampleGen): the ratings file's lines, those accepted, and rejected_<reason>.
RATING_LINES_PROPERTY = "rating_lines"
ACCEPTED_RATINGS_PROPERTY = "accepted_ratings"
REJECTED_PREFIX = "rejected_"
# Model (Trainer): how it started (warm_start, scratch), and from which model.
STARTED_FROM_PROPERTY = "started_from"
WARM_STARTED_FROM_PROPERTY = "warm_started_from"
WARM_STARTED_FROM_ID_PROPERTY = "warm_started_from_id"

# In the QualityReport's folder (its metrics.json: components.contracts.quality_metrics; the
# gate's gate.json, the ingest report, training log, model start and the pushed sidecar are
# components.contracts' too).
REPORT_SUMMARY_FILE = "summary.txt"
REPORT_HTML_FILE = "report.html"
REPORT_CHART_FILE = "quality.png"

# The logger components report progress through (the Trainer's epochs): the local runner
# shows its records on the terminal while the rest of the log goes to the run's log file.
PROGRESS_LOGGER = "movie_recs.progress"
