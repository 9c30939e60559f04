"""python -m commands.models on pushed folders made here (fake model bytes, a real store)."""

from __future__ import annotations

import json
import os

import pytest

from commands import models
from components.export import serving, serving_test
from pipeline import metadata, paths, run_lock


def run(capsys, output_dir, *args: str) -> tuple[int, str, str]:
    code = models.main(["--output-dir", str(output_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error(code: int, err: str) -> str:
    assert code == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ")
    return line


@pytest.fixture
def pushed(tmp_path) -> tuple[str, list[str]]:
    """An output folder with an ML Metadata store and three pushed versions."""
    metadata.store(str(tmp_path))  # creates the store
    root = paths.push_destination(str(tmp_path))
    ids = [
        serving_test.push(root, tag, hr / 10).version.id
        for tag, hr in zip("abc", (1, 2, 3), strict=True)
    ]
    return str(tmp_path), ids


def test_list_shows_every_version_its_figures_and_the_current_one(pushed, capsys):
    output, ids = pushed
    code, out, _ = run(capsys, output, "list")
    lines = out.splitlines()
    assert code == 0 and [line[2:].split()[0] for line in lines[:3]] == ids
    assert lines[2].startswith("* ") and "hr@10 0.3000" in lines[2]
    assert lines[0].startswith("  ") and lines[-1].startswith("* = the version apps use")
    code, out, _ = run(capsys, output, "list", "--format", "json")
    listed = json.loads(out)
    assert listed["current"] == ids[-1] and [v["version"] for v in listed["versions"]] == ids


def test_promote_and_rollback_move_the_pointer_and_are_recorded(pushed, capsys):
    output, ids = pushed
    root = paths.push_destination(output)
    code, out, _ = run(capsys, output, "rollback")
    assert code == 0 and f"apps now use version {ids[1]} (was {ids[2]})" in out
    assert serving.current(root)[0].id == ids[1]
    code, out, _ = run(capsys, output, "promote", ids[0])
    assert code == 0 and serving.current(root)[0].id == ids[0]
    moves = metadata.pointer_moves(paths.metadata_path(output))
    assert [(m["action"], m["version"], m["from_version"]) for m in moves] == [
        ("rollback", ids[1], ids[2]),
        ("promote", ids[0], ids[1]),
    ]
    assert all(m["user"] == serving.pointer_user() for m in moves)
    code, out, _ = run(capsys, output, "show")
    assert code == 0 and f"Version {ids[0]}: current" in out and "promote (from" in out


def test_keep_versions_never_prunes_the_current_one(pushed, capsys):
    output, ids = pushed
    assert run(capsys, output, "promote", ids[0], "--keep-versions", "1")[0] == 0
    assert serving.version_ids(paths.push_destination(output)) == [ids[0], ids[2]]
    code, out, _ = run(capsys, output, "prune", "--keep-versions", "1")
    assert code == 0 and "Nothing to delete" in out


def test_unknown_versions_a_held_folder_and_a_damaged_store_are_one_line(pushed, capsys):
    output, ids = pushed
    root = paths.push_destination(output)
    assert "no version '42'" in one_error(*run(capsys, output, "promote", "42")[::2])
    assert "no version '42'" in one_error(*run(capsys, output, "show", "42")[::2])
    with run_lock.RunLock(output, command="a live run"):
        line = one_error(*run(capsys, output, "rollback")[::2])
    assert f"pid {os.getpid()}" in line and "(a live run)" in line
    store = paths.metadata_path(output)
    with open(store, "r+b") as handle:
        handle.truncate(os.path.getsize(store) // 3)
    with open(store, "rb") as handle:
        damaged = handle.read()
    line = one_error(*run(capsys, output, "promote", ids[0])[::2])
    assert "is not a readable ML Metadata store" in line and "move it aside" in line
    assert serving.current(root)[0].id == ids[-1]  # nothing moved
    assert "is not a readable ML Metadata store" in one_error(*run(capsys, output, "show")[::2])
    with open(store, "rb") as handle:
        assert handle.read() == damaged  # nothing written to it
