"""The project's custom ML Metadata artifact types: the one module that defines them.

Why a top-level module: Kubeflow Pipelines v2 / Vertex AI identify an artifact type by its
schema title, which the TFX compiler only accepts as ``namespace.Type``, and the TFX
container entry point imports that title as a class path. A type named
``movie_recs.EvaluationReport`` can therefore only be read back in a container where
``import movie_recs`` works and the module has an ``EvaluationReport`` class. This package
sits at the repository root (``/pipeline`` in the image, on its ``PYTHONPATH``) and
``kubeflow/Dockerfile`` copies it. It is the layer right above ``bootstrap`` (and below
``components``, whose components produce these types): it imports nothing else of the project.

Every custom type's ``TYPE_NAME`` is ``movie_recs.<ClassName>`` and its class lives here;
``tests/test_kubeflow.py`` checks that every custom type a compiled job names can be
imported in the image.
"""

import bootstrap  # noqa: F401  (selects Keras 2 before tfx.types imports TensorFlow)

# isort: split
from tfx import types


class Baselines(types.Artifact):
    """Popularity and first-order Markov fitted on the training split (baselines.npz), and
    their quality on the eval and test splits (metrics.json)."""

    TYPE_NAME = "movie_recs.Baselines"


class EvaluationReport(types.Artifact):
    """The quality report a person reads: summary.txt, report.html, quality.png and
    metrics.json (the test split's figures for the model, the latest blessed model and the
    baselines; the gate's rules and verdict)."""

    TYPE_NAME = "movie_recs.EvaluationReport"
