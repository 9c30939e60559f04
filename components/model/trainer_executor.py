"""The Trainer's executor: TFX's generic one, plus the record of how a model started.

The pipeline passes it as the Trainer's ``custom_executor_spec`` (rather than subclassing
the component), so executions keep TFX's Trainer type in ML Metadata, where tools and
tests look Trainer executions up.

``run_fn`` sees only paths (``fn_args.base_model`` is the base model's SavedModel folder),
so this executor hands it the base model's ML Metadata identity, and afterwards copies
how training started (components.model.warm_start) into the Model artifact's custom
properties: ``started_from`` ("warm_start" or "scratch"), ``warm_started_from`` (the base
model's URI) and ``warm_started_from_id`` (its artifact id). With the Trainer's
``base_model`` input event, that is the ML Metadata link ``commands.lineage`` shows.
"""

from __future__ import annotations

import os
from typing import Any

from tfx.components.trainer import executor as trainer_executor
from tfx.components.util import udf_utils
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import json_utils, path_utils

from components import names
from components.contracts.model_start import ModelStart
from components.model import distribution
from components.model.trainer import BASE_MODEL_KEY

STARTED_FROM = names.STARTED_FROM_PROPERTY
WARM_STARTED_FROM = names.WARM_STARTED_FROM_PROPERTY
WARM_STARTED_FROM_ID = names.WARM_STARTED_FROM_ID_PROPERTY


def base_model_identity(input_dict: dict[str, list]) -> dict[str, Any] | None:
    """The base model's artifact id and URI, or None when the Trainer got none."""
    base = input_dict.get(standard_component_specs.BASE_MODEL_KEY) or []
    if not base:
        return None
    return {"artifact_id": int(base[0].id or 0), "uri": base[0].uri}


class Executor(trainer_executor.GenericExecutor):
    """GenericExecutor that tells ``run_fn`` which model is the base and records the start."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        properties = dict(exec_properties)
        key = standard_component_specs.CUSTOM_CONFIG_KEY
        custom = json_utils.loads(properties.get(key) or "null") or {}
        custom[BASE_MODEL_KEY] = base_model_identity(input_dict)
        properties[key] = json_utils.dumps(custom)
        # TF_CONFIG only (no GPU query): TensorFlow's runtime must not start before run_fn
        # creates its strategy.
        if not distribution.task_from(os.environ.get("TF_CONFIG"), 0).is_chief:
            # A non-chief replica writes its model to a temporary folder: TFX's check that
            # the model folder exists would race the chief's export, and the chief records.
            self._log_startup(input_dict, output_dict, properties)
            run_fn = udf_utils.get_fn(properties, "run_fn")
            run_fn(self._GetFnArgs(input_dict, output_dict, properties))
            return
        super().Do(input_dict, output_dict, properties)
        record_start(output_dict)


def record_start(output_dict: dict[str, list]) -> None:
    """Copies how the exported model started into the Model artifact's custom properties."""
    model = artifact_utils.get_single_instance(output_dict[standard_component_specs.MODEL_KEY])
    started = ModelStart.read_if_present(path_utils.serving_model_dir(model.uri))
    model.set_string_custom_property(STARTED_FROM, started.started if started else "unknown")
    if started is not None and started.warm:
        model.set_string_custom_property(WARM_STARTED_FROM, started.base_model_uri)
        if started.base_model_artifact_id:
            model.set_int_custom_property(WARM_STARTED_FROM_ID, int(started.base_model_artifact_id))
