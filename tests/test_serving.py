"""The runner's side of the serving contract, without running a pipeline: one run per output
folder (the lock, --wait), a damaged ML Metadata store, a full disk (issue 22)."""

from __future__ import annotations

import errno
import os
import time

from commands import lineage
from pipeline import cli_errors, local_runner, metadata, paths, run_lock
from pipeline.run_lock_test import hold


def one_error_line(code: int, err: str) -> str:
    assert code == cli_errors.EXIT_ERROR, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.rstrip().splitlines()[-1] == errors[0], err[-3000:]
    return errors[0]


def runner(capsys, output_dir, *args: str) -> tuple[int, str, str]:
    code = local_runner.main(["--output-dir", str(output_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_second_run_on_a_held_output_folder_is_refused_at_once(tmp_path, capsys):
    with run_lock.RunLock(str(tmp_path), command="python -m pipeline.local_runner"):
        started = time.monotonic()
        code, _, err = runner(capsys, tmp_path)
    line = one_error_line(code, err)
    assert f"pid {os.getpid()}" in line and "is in use by a live run" in line
    assert time.monotonic() - started < 5
    assert os.listdir(tmp_path) == [run_lock.LOCK_FILE]  # nothing else touched


def test_wait_queues_the_run_behind_the_live_one(tmp_path, capsys):
    holder = hold(tmp_path, 2)
    started = time.monotonic()
    try:  # no data there: once it has the folder, the run fails in preflight, as it should
        code, _, err = runner(capsys, tmp_path, "--wait", "--data-dir", str(tmp_path / "none"))
    finally:
        holder.wait()
    assert time.monotonic() - started > 1
    assert f"Waiting for the run holding {tmp_path}: pid {holder.pid}" in err
    assert "does not exist" in one_error_line(code, err)


def _truncated_store(output_dir) -> bytes:
    handle = metadata.store(str(output_dir))
    handle.put_execution_type(metadata.metadata_store_pb2.ExecutionType(name="x"))
    path = paths.metadata_path(str(output_dir))
    with open(path, "r+b") as store:
        store.truncate(os.path.getsize(path) // 3)
    with open(path, "rb") as store:
        return store.read()


def test_a_truncated_store_is_one_line_for_the_runner_and_the_commands(tmp_path, capsys):
    damaged = _truncated_store(tmp_path)
    code, _, err = runner(capsys, tmp_path)
    line = one_error_line(code, err)
    assert "metadata.sqlite is not a readable ML Metadata store" in line
    assert "move it aside" in line
    code = lineage.main(["--output-dir", str(tmp_path), "runs"])
    assert "not a readable ML Metadata store" in one_error_line(code, capsys.readouterr().err)
    with open(paths.metadata_path(str(tmp_path)), "rb") as store:
        assert store.read() == damaged  # nothing overwritten


def test_a_full_disk_is_one_line_naming_the_folder_and_its_free_space(tmp_path):
    # TensorFlow's and SQLite's words for it, and Python's own OSError without a path.
    for error in (
        RuntimeError("... /tmp/x/part-0; No space left on device"),
        RuntimeError("Error when executing query: database or disk is full"),
        OSError(errno.ENOSPC, "No space left on device"),
    ):
        found = local_runner.disk_error(error, str(tmp_path))
        assert found.errno == errno.ENOSPC and found.filename.startswith(str(tmp_path))
        assert cli_errors.message(found).startswith(f"the disk is full: {tmp_path}")
        assert "free there)" in cli_errors.message(found)
    assert local_runner.disk_error(ValueError("a bug"), str(tmp_path)) is None
