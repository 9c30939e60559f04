"""Orchestration: wires the components into a TFX pipeline and hosts the entry points."""

import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
