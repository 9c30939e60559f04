"""AnomaliesGate: stops the pipeline when ExampleValidator found anomalies.

ExampleValidator records anomalies but never fails; Transform and everything after it run
only when this gate passes, and a failure prints one readable line per anomaly.
"""

import os

from tensorflow_data_validation.utils import anomalies_util
from tfx import v1 as tfx
from tfx.types import artifact_utils

ANOMALIES_FILE = "SchemaDiff.pb"


class DataAnomaliesError(RuntimeError):
    """The examples do not match the curated schema."""


def anomaly_report(anomalies_artifact: tfx.types.standard_artifacts.ExampleAnomalies) -> list[str]:
    """One line per anomaly: split, feature, short description, and the details."""
    lines = []
    for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
        path = os.path.join(
            artifact_utils.get_split_uri([anomalies_artifact], split), ANOMALIES_FILE
        )
        anomalies = anomalies_util.load_anomalies_binary(path)
        for feature, info in sorted(anomalies.anomaly_info.items()):
            lines.append(f"[{split}] {feature}: {info.short_description}: {info.description}")
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            lines.append(f"[{split}] dataset: {info.short_description}: {info.description}")
    return lines


@tfx.dsl.components.component
def AnomaliesGate(
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
) -> None:
    """Raises DataAnomaliesError listing every anomaly, so no later component runs."""
    report = anomaly_report(anomalies)
    if report:
        raise DataAnomaliesError(
            "The examples do not match schema/schema.pbtxt:\n  " + "\n  ".join(report)
        )
