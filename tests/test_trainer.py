"""The Trainer inside the shared pipeline run (windows layout)."""

import pytest

from tests import pipeline_runs
from tests.conftest import PIPELINE_EPOCHS

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_each_epoch_logs_loss_and_eval_hit_rates_to_tensorboard(pipeline_run):
    logged = pipeline_runs.tensorboard_epochs(pipeline_run.output_dir)
    assert logged["train"]["epoch_loss"] == PIPELINE_EPOCHS
    for k in (1, 5, 10):
        assert logged["validation"][f"epoch_hr_at_{k}"] == PIPELINE_EPOCHS
