"""Pipeline components: data formats, example generation, transform, model, export.

Importing this package is the one place that selects Keras 2 for TensorFlow: TFX's
Transform layers are tf_keras objects, so ``TF_USE_LEGACY_KERAS`` must be set before
TensorFlow is first imported. Every entry point (runners, tests, the container) imports
this package first.
"""

import os
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# google-cloud libraries (pulled in by TFX) warn on every import that Python 3.10 is old;
# TFX 1.16 requires 3.10, so the warning is noise.
warnings.filterwarnings("ignore", message="You are using a non-supported Python version")

# Beam workers import this package too: keep TensorFlow's exit-time noise out of their stderr.
from components import quiet_exit  # noqa: E402

quiet_exit.install()
