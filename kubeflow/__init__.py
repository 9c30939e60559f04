"""Kubeflow Pipelines v2 / Vertex AI Pipelines: compile, container image, submit."""
