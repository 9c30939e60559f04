"""The serving contract: versioned pushed folders and the pointer that names the one apps use.

Under a push destination (``OUTPUT/serving_models/``)::

    1733328000123/model.tflite, model.json, ...   one folder per version, never changed
    .staging-1733328000456/                        a push in progress (or a dead one)
    CURRENT.json                                   the pointer: the version apps use

A push stages its files in a sibling ``.staging-<version>`` folder (each file written and
fsynced), publishes it with one ``os.rename`` to ``<version>``, then replaces the pointer
(write a temporary file, fsync, ``os.replace``). A reader trusts only the pointer, so a push
killed at any instant leaves the previous version served and no partial one visible.
Version ids are milliseconds since the epoch, made unique and increasing (an id never
reuses an existing folder). An output folder from before the pointer existed is still
readable: without a pointer, the newest *complete* version (its files verify) is served.

This module alone reads and writes the pointer; the pusher, ``commands.recommend``,
``commands.demo``, ``commands.models``, lineage and the runner's summary go through it. No
TensorFlow here. On object stores (``gs://``) there is no atomic rename: the pusher writes
the version folder first and the pointer last (``pointer_bytes``), and readers trust only
the pointer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import getpass
import hashlib
import json
import os
import shutil
import socket
import time
from typing import Any

from components.contracts.base import ContractError
from components.contracts.sidecar import Sidecar
from components.export import model_files
from components.export.layout import MODEL_FILE

POINTER_FILE = "CURRENT.json"
STAGING_PREFIX = ".staging-"
POINTER_FORMAT = 1
# How many earlier pointer targets the pointer remembers (what `rollback` walks back).
HISTORY_LENGTH = 20


class ServingError(ValueError):
    """The pushed models cannot be read or changed as asked: one line says why."""


@dataclasses.dataclass(frozen=True)
class Version:
    id: str
    path: str

    @property
    def model_path(self) -> str:
        return os.path.join(self.path, MODEL_FILE)

    @property
    def sidecar_path(self) -> str:
        return Sidecar.path(self.path)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version_ids(root: str) -> list[str]:
    """Every published version folder's id, oldest first (staging folders are not)."""
    if not os.path.isdir(root):
        return []
    found = [
        name
        for name in os.listdir(root)
        if name.isdigit() and os.path.isdir(os.path.join(root, name))
    ]
    return sorted(found, key=int)


def version(root: str, version_id: str) -> Version:
    return Version(version_id, os.path.join(root, version_id))


def problem(folder: str, sha256: str | None = None) -> str | None:
    """Why a version folder is not complete (None if it is): its model must be a TFLite
    file (of the given sha256, when known) and its sidecar a JSON object."""
    try:
        data = model_files.read_tflite(os.path.join(folder, MODEL_FILE))
    except model_files.ModelFileError as error:
        return str(error)
    if sha256 is not None and sha256_bytes(data) != sha256:
        return f"{os.path.join(folder, MODEL_FILE)} does not have the sha256 the pointer names"
    sidecar = Sidecar.path(folder)
    try:
        with open(sidecar, encoding="utf-8") as handle:
            Sidecar.from_document(json.load(handle), sidecar)
    except ContractError as error:  # not an object, or of a newer version
        return str(error)
    except (OSError, ValueError) as error:
        return f"{sidecar} cannot be read: {getattr(error, 'strerror', None) or error}"
    return None


# --- the pointer --------------------------------------------------------------------------


def figures(sidecar: dict[str, Any]) -> dict[str, Any]:
    """What the pointer and `models list` show of a version: the gate's and test figures."""
    quality = sidecar.get("quality") or {}
    metrics = sidecar.get("metrics") or {}
    return {
        "k": sidecar.get("k"),
        "test": {k: v for k, v in quality.items() if isinstance(v, (int, float))},
        "eval": {k: v for k, v in metrics.items() if isinstance(v, (int, float))},
        "model_artifact_id": (sidecar.get("lineage") or {}).get("model_artifact_id"),
    }


def pointer_bytes(
    version_id: str,
    model_sha256: str,
    sidecar: dict[str, Any],
    *,
    action: str,
    previous: dict[str, Any] | None = None,
    history: list[str] | None = None,
) -> bytes:
    """The pointer's content (the one place that defines it)."""
    if history is None:
        history = []
        if previous is not None:
            history = [previous["version"], *previous.get("history", [])]
        history = [v for v in history if v != version_id][:HISTORY_LENGTH]
    content = {
        "format": POINTER_FORMAT,
        "version": version_id,
        "model_file": MODEL_FILE,
        "model_sha256": model_sha256,
        "figures": figures(sidecar),
        "action": action,
        "by": pointer_user(),
        "host": socket.gethostname(),
        "at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "history": history,
    }
    return (json.dumps(content, indent=1) + "\n").encode()


def parse_pointer(data: bytes, path: str) -> dict[str, Any]:
    try:
        content = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        content = None
    if (
        not isinstance(content, dict)
        or not isinstance(content.get("version"), str)
        or not content["version"].isdigit()
        or not isinstance(content.get("model_sha256"), str)
    ):
        raise ServingError(
            f"{path} is not a serving pointer (damaged?): choose the version apps should "
            "use with `python -m commands.models promote VERSION`."
        )
    return content


def read_pointer(root: str) -> dict[str, Any] | None:
    """The pointer's content, or None when there is none (an output folder from before it)."""
    path = os.path.join(root, POINTER_FILE)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ServingError(f"cannot read {path}: {error.strerror}") from None
    return parse_pointer(data, path)


def current(root: str) -> tuple[Version, dict[str, Any] | None] | None:
    """The version apps should use and the pointer naming it (None for an old layout, whose
    newest complete version is served), or None when nothing was pushed."""
    pointer = read_pointer(root)
    if pointer is not None:
        found = version(root, pointer["version"])
        why = problem(found.path, pointer["model_sha256"])
        if why is not None:
            raise ServingError(
                f"{os.path.join(root, POINTER_FILE)} names version {found.id}, which is not "
                f"complete ({why}); choose another with `python -m commands.models promote`."
            )
        return found, pointer
    for version_id in reversed(version_ids(root)):
        if problem(os.path.join(root, version_id)) is None:
            return version(root, version_id), None
    return None


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: str, data: bytes) -> None:
    """Writes and flushes a file to the disk."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def replace_pointer(root: str, content: bytes) -> None:
    """Atomically replaces the pointer (temporary file, fsync, os.replace, fsync the folder)."""
    temporary = os.path.join(root, f".{POINTER_FILE}.{os.getpid()}.tmp")
    try:
        write_file(temporary, content)
        os.replace(temporary, os.path.join(root, POINTER_FILE))
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _fsync_dir(root)


def new_version_id(root: str) -> str:
    """Milliseconds since the epoch, after every existing version and staging folder."""
    now = time.time_ns() // 1_000_000
    taken = [int(v) for v in version_ids(root)]
    taken += [
        int(name[len(STAGING_PREFIX) :])
        for name in (os.listdir(root) if os.path.isdir(root) else [])
        if name.startswith(STAGING_PREFIX) and name[len(STAGING_PREFIX) :].isdigit()
    ]
    return str(max([now, *(t + 1 for t in taken)]))


def clean_staging(root: str) -> list[str]:
    """Removes staging folders a dead push left (call it holding the run lock)."""
    removed = []
    if not os.path.isdir(root):
        return removed
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.startswith(STAGING_PREFIX) and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
        elif name.startswith(f".{POINTER_FILE}.") and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.remove(path)
    return removed


@dataclasses.dataclass(frozen=True)
class PushResult:
    version: Version
    unchanged: bool  # the pointer already named a version with these model bytes


def push(root: str, files: dict[str, bytes], sidecar: dict[str, Any]) -> PushResult:
    """Publishes ``files`` (model.tflite, model.json, ...) as a new version and points to it,
    or, when the current version has the same model bytes, changes nothing."""
    sha256 = sha256_bytes(files[MODEL_FILE])
    clean_staging(root)
    unchanged = unchanged_version(root, sha256)
    if unchanged is not None:
        return PushResult(unchanged, True)
    os.makedirs(root, exist_ok=True)
    found = current_or_none(root)
    previous = None
    if found is not None:
        previous = found[1] or {"version": found[0].id, "history": []}
    version_id = new_version_id(root)
    staging = os.path.join(root, STAGING_PREFIX + version_id)
    final = os.path.join(root, version_id)
    if os.path.exists(final):
        raise ServingError(f"{final} exists already: a version folder is never reused.")
    os.mkdir(staging)
    try:
        for name, content in files.items():
            write_file(os.path.join(staging, name), content)
        _fsync_dir(staging)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_dir(root)
    replace_pointer(
        root, pointer_bytes(version_id, sha256, sidecar, action="push", previous=previous)
    )
    return PushResult(version(root, version_id), False)


def unchanged_version(root: str, sha256: str) -> Version | None:
    """The current version, if its model has exactly these bytes."""
    try:
        found = current(root)
    except ServingError:
        return None  # a damaged pointer: the push replaces it
    if found is None:
        return None
    served, pointer = found
    served_sha = pointer["model_sha256"] if pointer else sha256_file(served.model_path)
    return served if served_sha == sha256 else None


def read_sidecar(folder: str) -> dict[str, Any]:
    """A version folder's sidecar content; {} when it is missing or damaged."""
    sidecar = Sidecar.read_or_none(folder)
    return sidecar.content if sidecar else {}


def point_to(root: str, version_id: str, action: str) -> tuple[str | None, str]:
    """Moves the pointer to a complete version (promote, rollback); returns (from, to)."""
    if version_id not in version_ids(root):
        known = ", ".join(version_ids(root)) or "none"
        raise ServingError(f"no version {version_id!r} in {root} (versions: {known})")
    target = version(root, version_id)
    why = problem(target.path)
    if why is not None:
        raise ServingError(f"version {version_id} is not complete: {why}")
    found = current_or_none(root)
    previous = None
    if found is not None:
        previous = found[1] or {"version": found[0].id, "history": []}
    # Walking back: the version left behind is not a place a later rollback returns to.
    history = None
    if action == "rollback" and previous is not None:
        history = _after(previous.get("history", []), version_id)
    content = pointer_bytes(
        version_id,
        sha256_file(target.model_path),
        read_sidecar(target.path),
        action=action,
        previous=previous,
        history=history,
    )
    replace_pointer(root, content)
    return (None if previous is None else previous["version"]), version_id


def _after(history: list[str], version_id: str) -> list[str]:
    return history[history.index(version_id) + 1 :] if version_id in history else list(history)


def current_or_none(root: str) -> tuple[Version, dict[str, Any] | None] | None:
    """``current``, but a damaged pointer counts as none (for commands that replace it)."""
    try:
        return current(root)
    except ServingError:
        return None


def rollback_target(root: str) -> str:
    """The version a rollback returns to: the newest complete one the pointer named before
    the current one, else the newest complete version older than the current one."""
    found = current(root)
    if found is None:
        raise ServingError(f"nothing has been pushed to {root}: there is nothing to roll back.")
    served, pointer = found
    existing = set(version_ids(root))
    for candidate in (pointer or {}).get("history", []):
        complete = problem(os.path.join(root, candidate)) is None
        if candidate in existing and candidate != served.id and complete:
            return candidate
    for candidate in reversed(version_ids(root)):
        if int(candidate) < int(served.id) and problem(os.path.join(root, candidate)) is None:
            return candidate
    raise ServingError(
        f"version {served.id} is the oldest complete version: no earlier one to roll back to."
    )


def prune(root: str, keep: int) -> list[str]:
    """Deletes all but the newest ``keep`` versions, never the current one; returns the ids
    deleted. Incomplete version folders (a crash of an old pusher) go as well."""
    if keep < 1:
        raise ServingError(f"--keep-versions must be at least 1 (it is {keep}).")
    found = current(root)
    served = None if found is None else found[0].id
    ids = version_ids(root)
    complete = [v for v in ids if problem(os.path.join(root, v)) is None]
    kept = set(complete[-keep:]) | ({served} if served else set())
    removed = [v for v in ids if v not in kept]
    for version_id in removed:
        # Out of sight first (one rename), then deleted: a reader never sees half a folder.
        doomed = os.path.join(root, f"{STAGING_PREFIX}{version_id}.deleting")
        os.rename(os.path.join(root, version_id), doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    return removed


def pointer_user() -> str:
    """Who moves the pointer (the login name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
