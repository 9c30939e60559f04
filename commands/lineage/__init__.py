"""Lineage of the pipeline's runs and pushed models, from a local run's ML Metadata store.

    python -m commands.lineage [--output-dir DIR | --metadata PATH] COMMAND [--format F]
        [--out FILE]

Commands:

    runs [RUN ...]        each pipeline run: status, start and end, and per component its
                          execution id, state, duration and whether it was served from cache
    model [--pushed latest|previous|ARTIFACT_ID|VERSION]
                          provenance of a pushed TFLite model, walked through ML Metadata
                          events back to the input files: data files (path, bytes,
                          SHA-256), ExampleGen split counts and rejected lines, schema,
                          Transform vocabulary sizes, Trainer input config, hyper-parameters
                          and training metrics, Evaluator metrics, thresholds, baseline and
                          blessing, the pushed folder (path, sizes, signatures); each step
                          with its execution id, run and times
    diff RUN_A RUN_B      what changed between two runs: data files, example counts,
                          ingest settings, schema, input config (a unified diff),
                          hyper-parameters, thresholds, metrics, blessing and push

``--format`` is text (default), json, dot (Graphviz source: executions and artifacts as
nodes, one edge per event), or svg/png rendered by Graphviz's ``dot`` into ``--out FILE``
(``make graphviz`` installs it). ``--output-dir`` defaults to $RECS_OUTPUT_DIR or outputs/.

RUN is a run id as ``runs`` prints it (TFX's pipeline_run timestamp, or a unique prefix of
it), an index in ``runs`` (1 = the oldest), ``latest`` or ``previous``. The store is opened
read-only. A missing or empty store, an unknown id, or a run still in progress prints
``error: ...`` and exits with status 2 (``--debug`` shows the traceback instead).

A run whose process died (killed, out of memory) is ``abandoned``, not in progress: the
local runner records its process on the run, and its unfinished executions are shown as
FAILED with the reason (the next local run marks them so in the store).

JSON output:

* runs: {metadata, runs: [{run, index, pipeline, status, started, finished, duration_s,
  pushed_version, abandoned, components: [EXECUTION]}]}, where an EXECUTION is {component,
  component_class, execution_id, state, cached, run, started, finished, duration_s}
* model: {pushed_model: {artifact_id, version, path, run, run_index}, data_files: [{role,
  path, bytes, sha256, lines, accepted, rejected}], steps: [EXECUTION + {reused_by, inputs,
  outputs, details}], graph: {nodes, edges}}
* diff: {run_a, run_b, input_config: {changed, unified_diff}, metrics: {NAME: {a, b,
  delta}}, components: {a, b}, and the compared sections data_files, input_fingerprint,
  example_counts, ingest_settings, schema, hparams, thresholds, outcome, each {changed:
  {KEY: {a, b}}, same: {KEY: value}}}
"""

from commands.lineage.cli import main
from commands.lineage.store import LineageError

__all__ = ["LineageError", "main"]
