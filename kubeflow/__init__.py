"""Kubeflow Pipelines v2 / Vertex AI Pipelines: compile, container image, submit.

Quiet by default, as the commands are: TensorFlow's start-up lines are hidden
(``bootstrap.quiet_tensorflow``) before any runner imports it.
"""

import bootstrap

bootstrap.quiet_tensorflow()
