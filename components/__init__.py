"""Pipeline components: data formats, example generation, transform, model, export.

Importing this package first imports ``bootstrap`` (Keras 2 for TensorFlow, set before
TensorFlow is imported; see there), so every entry point that imports it first is set up.
"""

import bootstrap  # noqa: F401  (selects Keras 2 before TensorFlow is imported)

# Beam workers import this package too: keep TensorFlow's exit-time noise out of their stderr.
from components import quiet_exit

quiet_exit.install()
