"""What every contract shares: a round trip, today's files without a version, a newer
version as one clear error, damaged files."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import ClassVar

import pytest

from components.contracts.base import Contract, ContractError, NewerVersionError


@dataclasses.dataclass
class Probe(Contract):
    FILE: ClassVar[str] = "sub/probe.json"
    VERSION: ClassVar[int] = 2

    name: str
    count: int = 0


def test_round_trip_through_a_folder(tmp_path):
    path = Probe("a", 3).write(str(tmp_path))
    assert path == os.path.join(str(tmp_path), "sub", "probe.json")
    with open(path) as handle:
        assert json.load(handle) == {"version": 2, "name": "a", "count": 3}
    assert Probe.read(str(tmp_path)) == Probe("a", 3)


def test_a_file_without_a_version_is_version_one(tmp_path):
    assert Probe.loads('{"name": "old"}') == Probe("old")


def test_keys_a_reader_does_not_know_are_ignored():
    assert Probe.loads('{"version": 2, "name": "a", "later": 1}') == Probe("a")


def test_a_newer_version_is_one_clear_error(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "probe.json").write_text('{"version": 3, "name": "a"}')
    with pytest.raises(NewerVersionError, match=r"probe.json is version 3 of Probe, newer"):
        Probe.read(str(tmp_path))
    with pytest.raises(NewerVersionError):
        Probe.read_or_none(str(tmp_path))


def test_missing_and_damaged_files(tmp_path):
    with pytest.raises(OSError):
        Probe.read(str(tmp_path))
    assert Probe.read_if_present(str(tmp_path)) is None
    assert Probe.read_or_none(str(tmp_path)) is None
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "probe.json").write_text("[1, 2]")
    with pytest.raises(ContractError, match="not a JSON object"):
        Probe.read(str(tmp_path))
    assert Probe.read_or_none(str(tmp_path)) is None


def test_a_copy_elsewhere(tmp_path):
    path = str(tmp_path / "kept" / "7.json")
    Probe("a").write_file(path)
    assert Probe.read_file(path) == Probe("a")
