"""Orchestration: wires the components into a TFX pipeline and runs it (the runners).

The user commands (recommend, demo, data, lineage) are in the commands package.
"""

import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
