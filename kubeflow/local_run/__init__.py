"""Runs a compiled PipelineJob JSON on this machine, task by task, as Vertex AI would.

A verification tool for this project's own jobs, not a Kubeflow Pipelines implementation:
compiling proves only that a job is well-formed, while running it proves that every task's
container command works with the inputs the orchestrator hands it. Each task runs the
command compiled into the job (TFX's ``kubeflow_v2_run_executor`` entry point, and the
file-based ExampleGen's ``preCacheCheck`` driver before it) in a subprocess of this
virtualenv with the image's environment, in dependency order, with local folders as
artifact URIs. It supports what TFX compiles: container tasks, the resolvers of
LatestBlessedModelStrategy and LatestArtifactStrategy, importers, runtime parameters and
Vertex's caching (a task whose inputs, parameters and command match an earlier
execution's reuses its outputs; ``--no-cache`` runs everything). No Docker, conditions,
loops or exit handlers.

::

    python -m kubeflow.local_run --package kubeflow/build/movie-recs.json \\
        --pipeline-root outputs/kubeflow-local [--data-dir DIR] [--parameter NAME=VALUE]

Everything a run leaves is under ``PIPELINE_ROOT/local_run/``: ``artifacts.jsonl`` (the
registry of every artifact of every run, which the resolvers query, so a second run finds
the first run's blessed model), ``executions.jsonl`` (the cache) and ``RUN_ID/``: ``run.json``
(each task's duration and status) and per task ``TASK/``: ``log.txt``,
``executor_input.json``, ``executor_output.json`` and the task's output artifacts.
"""
