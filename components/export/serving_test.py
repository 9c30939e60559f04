"""The serving contract without a pipeline: staging, the pointer, dedup, rollback, pruning."""

from __future__ import annotations

import errno
import json
import os

import pytest

from components.export import on_device_model, serving
from components.export.layout import MODEL_FILE, SIDECAR_FILE


def model(tag: str) -> bytes:
    """Bytes that pass the model file check (size, TFLite identifier), distinct per tag."""
    return b"\x1c\x00\x00\x00TFL3" + tag.encode().ljust(64, b"\x00")


def files(tag: str, hr: float = 0.1) -> tuple[dict[str, bytes], dict]:
    sidecar = {"k": 10, "quality": {"hr@10": hr}, "metrics": {}, "lineage": {}}
    return {MODEL_FILE: model(tag), SIDECAR_FILE: json.dumps(sidecar).encode()}, sidecar


def push(root, tag: str, hr: float = 0.1) -> serving.PushResult:
    return serving.push(str(root), *files(tag, hr))


def listing(root) -> list[str]:
    return sorted(os.listdir(root))


def test_a_push_publishes_a_complete_version_and_points_to_it(tmp_path):
    first = push(tmp_path, "a")
    assert not first.unchanged and listing(tmp_path) == [first.version.id, serving.POINTER_FILE]
    pointer = serving.read_pointer(str(tmp_path))
    assert pointer["version"] == first.version.id
    assert pointer["model_sha256"] == serving.sha256_bytes(model("a"))
    assert pointer["figures"]["test"] == {"hr@10": 0.1} and pointer["by"]
    second = push(tmp_path, "b")
    assert int(second.version.id) > int(first.version.id)
    assert serving.current(str(tmp_path))[0] == second.version
    assert serving.read_pointer(str(tmp_path))["history"] == [first.version.id]


def test_the_same_model_bytes_are_not_pushed_again(tmp_path):
    first = push(tmp_path, "a")
    again = push(tmp_path, "a", hr=0.2)
    assert again.unchanged and again.version == first.version
    assert serving.version_ids(str(tmp_path)) == [first.version.id]


def test_version_ids_are_unique_and_ordered_within_one_millisecond(tmp_path, monkeypatch):
    monkeypatch.setattr(serving.time, "time_ns", lambda: 1_700_000_000_000_000_000)
    ids = [push(tmp_path, tag).version.id for tag in "abc"]
    assert ids == sorted(ids, key=int) and len(set(ids)) == 3


def test_a_crash_before_the_rename_leaves_the_pointer_on_the_old_version(tmp_path, monkeypatch):
    old = push(tmp_path, "a").version

    def crash(*args):
        raise KeyboardInterrupt  # what a kill between staging and publishing looks like

    monkeypatch.setattr(serving.os, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        push(tmp_path, "b")
    assert serving.current(str(tmp_path))[0] == old
    assert listing(tmp_path) == [old.id, serving.POINTER_FILE]


def test_a_crash_before_the_pointer_leaves_the_old_version_served(tmp_path, monkeypatch):
    old = push(tmp_path, "a").version

    def crash(root, content):
        raise KeyboardInterrupt

    monkeypatch.setattr(serving, "replace_pointer", crash)
    with pytest.raises(KeyboardInterrupt):
        push(tmp_path, "b")
    assert len(serving.version_ids(str(tmp_path))) == 2  # published, not pointed to
    assert serving.current(str(tmp_path))[0] == old
    assert on_device_model.find_model(str(tmp_path)) == old.model_path


def test_readers_ignore_staging_and_empty_folders_and_the_next_push_cleans_up(tmp_path):
    old = push(tmp_path, "a").version
    staging = tmp_path / f"{serving.STAGING_PREFIX}99999999999999"
    staging.mkdir()
    (staging / MODEL_FILE).write_bytes(model("half")[:20])  # a killed push's half file
    assert serving.current(str(tmp_path))[0] == old
    assert serving.version_ids(str(tmp_path)) == [old.id]
    # Even a push that writes nothing (the same bytes) removes it.
    assert push(tmp_path, "a").unchanged and not staging.exists()
    staging.mkdir()
    new = push(tmp_path, "b").version
    assert not staging.exists() and serving.current(str(tmp_path))[0] == new


def test_an_old_layout_without_a_pointer_serves_its_newest_complete_version(tmp_path):
    complete, empty, half = (
        tmp_path / "1700000000",
        tmp_path / "1700000500",
        tmp_path / "1700000600",
    )
    for folder in (complete, empty, half):
        folder.mkdir()
    content, _ = files("a")
    for name, data in content.items():
        (complete / name).write_bytes(data)
    (half / MODEL_FILE).write_bytes(content[MODEL_FILE][:10])
    found, pointer = serving.current(str(tmp_path))
    assert found.id == "1700000000" and pointer is None
    assert on_device_model.find_model(str(tmp_path)) == str(complete / MODEL_FILE)
    # The first push under the pointer remembers it as the version before.
    new = push(tmp_path, "b")
    assert serving.read_pointer(str(tmp_path))["history"] == ["1700000000"]
    assert serving.rollback_target(str(tmp_path)) == "1700000000" != new.version.id


def test_a_disk_full_during_the_push_changes_nothing(tmp_path, monkeypatch):
    old = push(tmp_path, "a").version
    pointer = (tmp_path / serving.POINTER_FILE).read_bytes()

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(serving, "write_file", full)
    with pytest.raises(OSError) as raised:
        push(tmp_path, "b")
    assert raised.value.errno == errno.ENOSPC
    assert listing(tmp_path) == [old.id, serving.POINTER_FILE]
    assert (tmp_path / serving.POINTER_FILE).read_bytes() == pointer


def test_a_damaged_pointer_is_one_clear_error_and_a_push_replaces_it(tmp_path):
    push(tmp_path, "a")
    (tmp_path / serving.POINTER_FILE).write_text('{"version": ')
    with pytest.raises(serving.ServingError, match="is not a serving pointer"):
        serving.current(str(tmp_path))
    with pytest.raises(on_device_model.RecommendError, match="not a serving pointer"):
        on_device_model.find_model(str(tmp_path))
    assert not push(tmp_path, "b").unchanged
    assert serving.current(str(tmp_path))[1]["version"] == serving.version_ids(str(tmp_path))[-1]


def test_a_pointer_to_a_modified_version_is_refused(tmp_path):
    served = push(tmp_path, "a").version
    with open(served.model_path, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(serving.ServingError, match="does not have the sha256"):
        serving.current(str(tmp_path))


def test_rollback_walks_back_and_promote_goes_anywhere(tmp_path):
    a, b, c = (push(tmp_path, tag).version.id for tag in "abc")
    root = str(tmp_path)
    assert serving.point_to(root, serving.rollback_target(root), "rollback") == (c, b)
    assert serving.point_to(root, serving.rollback_target(root), "rollback") == (b, a)
    with pytest.raises(serving.ServingError, match="no earlier one"):
        serving.rollback_target(root)
    assert serving.point_to(root, c, "promote") == (a, c)
    assert serving.rollback_target(root) == a
    with pytest.raises(serving.ServingError, match="no version '123'"):
        serving.point_to(root, "123", "promote")


def test_pruning_never_deletes_the_current_version(tmp_path):
    ids = [push(tmp_path, tag).version.id for tag in "abcd"]
    root = str(tmp_path)
    serving.point_to(root, ids[0], "promote")
    assert serving.prune(root, 1) == ids[1:3]
    assert serving.version_ids(root) == [ids[0], ids[3]]
    assert serving.current(root)[0].id == ids[0]
    assert not [n for n in os.listdir(root) if n.startswith(serving.STAGING_PREFIX)]
