"""Names that several stages (and the TensorFlow-free tools) share, each defined once."""

# A Model artifact's SavedModel folder, as tfx.utils.path_utils.serving_model_path names it
# (spelled here for the tools that do not import TFX; components/names_test.py keeps them equal).
SERVING_MODEL_DIR = "Format-Serving"

# Under an output folder (local runs) or a pipeline root (Kubeflow): pushed TFLite models,
# one versioned folder each.
PUSHED_MODELS_DIR = "serving_models"

# Keys of the components' custom configs and execution parameters: the input config's text
# (Transform, Trainer, TFLitePusher, the on-device spec), the hyper-parameters (Trainer,
# TFLitePusher) and the gate's K (Trainer, Evaluator). The lineage tools read them back.
INPUT_CONFIG_KEY = "input_config"
HPARAMS_KEY = "hparams"
GATE_K_KEY = "gate_k"

# In ExampleGen's Examples folder: the movie table it read (id -> title, genres, year).
MOVIES_FILE = "movies.json"

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
EXAMPLES_COUNT_PREFIX = "examples_"  # Examples: examples_train, examples_eval, examples_test

# In the Evaluator's ModelBlessing folder: every gate rule, its figures and verdict.
GATE_FILE = "gate.json"

# In the QualityReport's folder.
REPORT_SUMMARY_FILE = "summary.txt"
REPORT_HTML_FILE = "report.html"
REPORT_CHART_FILE = "quality.png"
REPORT_METRICS_FILE = "metrics.json"

# Beside a Trainer's SavedModel (Format-Serving/): how the model started (warm start or
# scratch, from which model); components.model.warm_start writes it.
WARM_START_STARTED_FILE = "assets.extra/warm_start/started.json"

# The logger components report progress through (the Trainer's epochs): the local runner
# shows its records on the terminal while the rest of the log goes to the run's log file.
PROGRESS_LOGGER = "movie_recs.progress"
