"""What every process of this project sets before TensorFlow is first imported.

The lowest layer: it imports nothing from the project (and no TensorFlow), so every other
package can import it first.

- Keras 2: TFX's Transform layers are tf_keras objects, so ``TF_USE_LEGACY_KERAS`` must be
  set before TensorFlow is imported. Importing this package sets it; ``movie_recs`` and
  ``components`` import it first, so every entry point (runners, commands, tests, the
  container, Beam workers) gets it.
- Quiet start-up: ``quiet_tensorflow()`` hides TensorFlow's C++ start-up lines (CUDA
  plugins, CPU features, TensorRT) for a process that has its own output to show: the
  commands, the Kubeflow runners and the benchmarks call it (through their package's
  ``__init__``). A pipeline run holds those lines in its log instead
  (``pipeline.run_console``). ``TF_CPP_MIN_LOG_LEVEL=0`` in the environment shows them.
"""

import os
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# google-cloud libraries (pulled in by TFX) warn on import that Python 3.10 is old and that
# google-cloud-storage 2.x will not be supported; TFX 1.16 pins both, so the warnings are noise.
warnings.filterwarnings("ignore", message="You are using a non-supported Python version")
warnings.filterwarnings("ignore", message="Support for google-cloud-storage < 3.0.0")

# TensorFlow's C++ logging threshold (0 all, 1 no INFO, 2 no WARNING, 3 no ERROR): its
# start-up lines are INFO, WARNING and ERROR (the CUDA factories it cannot register).
QUIET_LOG_LEVEL = "3"


def quiet_tensorflow() -> None:
    """Hides TensorFlow's C++ start-up lines in this process and the processes it starts,
    unless ``TF_CPP_MIN_LOG_LEVEL`` is already set. Call before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LOG_LEVEL)
