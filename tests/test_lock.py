"""The dependency locks: hashed, consistent with pyproject.toml and each other, installed as
written, and reproducible by `make lock` (which keeps the pins it finds)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
import tomli

from pipeline import paths

LOCK = os.path.join(paths.REPO_ROOT, "requirements.lock")
RUNTIME_LOCK = os.path.join(paths.REPO_ROOT, "requirements-runtime.lock")
PYPROJECT = os.path.join(paths.REPO_ROOT, "pyproject.toml")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: str) -> dict[str, tuple[str, frozenset[str]]]:
    """{package: (version, hashes)} of a pip requirements file written by uv."""
    entries: dict[str, tuple[str, frozenset[str]]] = {}
    with open(path) as handle:
        text = re.sub(r"\\\n", " ", handle.read())
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            hashes = frozenset(re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))
            entries[canonical(match.group(1))] = (match.group(2), hashes)
    return entries


def direct_pins(extra: str | None = None) -> dict[str, str]:
    with open(PYPROJECT, "rb") as handle:
        project = tomli.load(handle)["project"]
    requirements = project["dependencies"]
    if extra:
        requirements = requirements + project["optional-dependencies"][extra]
    pins = {}
    for requirement in requirements:
        pinned = re.fullmatch(r"([A-Za-z0-9._-]+)(?:\[[^]]*\])?==(\S+)", requirement)
        name, version = pinned.groups()
        pins[canonical(name)] = version
    return pins


def test_every_package_is_pinned_with_hashes():
    for path in (LOCK, RUNTIME_LOCK):
        entries = read_lock(path)
        assert len(entries) > 200, path
        unhashed = [name for name, (_, hashes) in entries.items() if not hashes]
        assert not unhashed, f"{os.path.basename(path)} has no hash for {unhashed}"


def test_the_locks_hold_pyprojects_pins_and_the_runtime_lock_leaves_out_the_dev_tools():
    lock, runtime = read_lock(LOCK), read_lock(RUNTIME_LOCK)
    for name, version in direct_pins("dev").items():
        assert lock[name][0] == version, name
    for name, version in direct_pins().items():
        assert runtime[name][0] == version, name
    for tool in set(direct_pins("dev")) - set(direct_pins()):
        assert tool not in runtime, tool
    # The image runs exactly what the tests ran: same versions, same files.
    for name, entry in runtime.items():
        assert lock[name] == entry, name


def test_the_environment_running_the_tests_is_the_lock():
    distributions = importlib.metadata.distributions()
    installed = {canonical(dist.metadata["Name"]): dist.version for dist in distributions}
    differing = {
        name: (version, installed.get(name))
        for name, (version, _) in read_lock(LOCK).items()
        if installed.get(name) != version
    }
    assert not differing, f"(lock, installed): {differing}"


def registry_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_make_lock_reproduces_both_locks(tmp_path):
    if not registry_reachable():
        pytest.skip("pypi.org cannot be reached: `make lock` needs the package index")
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "requirements-runtime.lock"):
        shutil.copy(os.path.join(paths.REPO_ROOT, name), tmp_path / name)
    completed = subprocess.run(
        ["make", "--no-print-directory", "lock", f"PYTHON={sys.executable}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for name in ("requirements.lock", "requirements-runtime.lock"):
        with open(os.path.join(paths.REPO_ROOT, name)) as ours:
            assert (tmp_path / name).read_text() == ours.read(), f"`make lock` changes {name}"
