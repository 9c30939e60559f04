"""The output folder's run lock: a second holder is refused at once, or waits."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from pipeline import run_lock

# A process that holds the lock for HOLD_S seconds (it says "held" once it has it).
HOLDER = """
import sys, time
from pipeline import run_lock
with run_lock.RunLock(sys.argv[1], command="holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hold(folder, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_holder_is_refused_in_one_line_naming_the_live_one(tmp_path):
    holder = hold(tmp_path, 30)
    try:
        with pytest.raises(run_lock.RunLockedError) as refused:
            run_lock.RunLock(str(tmp_path)).acquire()
        message = str(refused.value)
        assert f"pid {holder.pid}" in message and "started 20" in message
        assert "(holder)" in message and "--wait" in message and "\n" not in message
    finally:
        holder.kill()
        holder.wait()
    # The kernel released it with the process: a stale file blocks nobody.
    with run_lock.RunLock(str(tmp_path)):
        assert run_lock.holder(str(tmp_path))["pid"] == os.getpid()


def test_wait_queues_behind_the_live_holder(tmp_path):
    holder = hold(tmp_path, 1.5)
    said: list[str] = []
    started = time.monotonic()
    try:
        with run_lock.RunLock(str(tmp_path), wait=True, say=said.append, poll_s=0.1):
            waited = time.monotonic() - started
    finally:
        holder.wait()
    assert waited > 0.5 and len(said) == 1 and f"pid {holder.pid}" in said[0]


def test_one_process_holding_it_twice_is_refused_too(tmp_path):
    with run_lock.RunLock(str(tmp_path)), pytest.raises(run_lock.RunLockedError):
        run_lock.RunLock(str(tmp_path)).acquire()
