"""Benchmark scripts (not tests); results are recorded in docs/benchmarks.md."""

import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
