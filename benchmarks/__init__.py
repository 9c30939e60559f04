"""Benchmark scripts (not tests); results are recorded in docs/benchmarks.md.

Quiet by default, as the commands are: TensorFlow's start-up lines are hidden
(``bootstrap.quiet_tensorflow``) before any benchmark imports it.
"""

import bootstrap
import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)

bootstrap.quiet_tensorflow()
