"""Every command is quiet by default: its ``--help`` starts with its usage line, with no
TensorFlow, CUDA or absl start-up line before it (``bootstrap.quiet_tensorflow``).

Each command runs in a fresh interpreter, stdout and stderr in one stream (as a terminal
shows them), with ``TF_CPP_MIN_LOG_LEVEL`` unset: what a person gets by default. The
commands chosen import TensorFlow (and TFX) before parsing their flags, the path that printed
start-up lines; ``commands.recommend`` never imports TensorFlow and stands for the others.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# TensorFlow's C++ log lines ("2026-01-01 12:00:00.000000: I tensorflow/..."), absl's
# pre-initialization notice, and the Python warnings of the cloud libraries it imports.
START_UP_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] |absl::InitializeLog|Warning:|cuda|TensorRT",
    re.M,
)


def help_output(module: str) -> str:
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    completed = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=REPO_ROOT,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    return completed.stdout


@pytest.mark.parametrize(
    "module", ["commands.data", "commands.recommend", "pipeline.local_runner", "kubeflow.runner"]
)
def test_help_starts_with_the_usage_line(module):
    output = help_output(module)
    assert output.startswith("usage: "), output[:2000]
    assert not START_UP_LINE.search(output), output[:2000]


def test_the_start_up_pattern_sees_tensorflow_lines():
    """The check itself: the lines commands printed before they were quiet are found."""
    seen = [
        "2026-12-04 20:30:05.361372: I tensorflow/core/util/port.cc:113] oneDNN custom ops",
        "2026-12-04 20:30:05.391876: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc",
        "  FutureWarning: Support for google-cloud-storage < 3.0.0 will be removed",
    ]
    assert all(START_UP_LINE.search(line) for line in seen)
    assert not START_UP_LINE.search("usage: data.py [-h] {download,convert} ...")
