"""The user commands, each runnable as ``python -m commands.NAME``.

    recommend   recommendations from a pushed TFLite model (LiteRT, no TensorFlow)
    demo        serves the in-browser demo of a pushed model
    data        downloads, converts and splits data sets (MovieLens, synthetic, spans)
    lineage     provenance of runs and pushed models, from ML Metadata
    train_workers  the pipeline with its Trainer on several local worker processes

Commands sit on top of the layers below them (bootstrap -> configs -> movie_recs ->
components -> pipeline -> kubeflow -> commands; tests/test_layers.py): they may import any of
those, and nothing there imports a command (only the benchmarks, above them).

Every command is quiet by default: importing this package, before any command module,
hides TensorFlow's start-up lines (``bootstrap.quiet_tensorflow``), so a command's own
output (or its ``--help``) comes first.
"""

import bootstrap
import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)

bootstrap.quiet_tensorflow()
