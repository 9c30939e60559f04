"""The user commands, each runnable as ``python -m commands.NAME``.

    recommend   recommendations from a pushed TFLite model (LiteRT, no TensorFlow)
    demo        serves the in-browser demo of a pushed model
    data        downloads, converts and splits data sets (MovieLens, synthetic, spans)
    lineage     provenance of runs and pushed models, from ML Metadata
    train_workers  the pipeline with its Trainer on several local worker processes

Commands sit on top of the layers below them (configs -> components -> pipeline ->
commands): they may import any of those, and nothing there imports a command.
"""

import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
