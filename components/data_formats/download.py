"""Download, verify and unpack the official GroupLens MovieLens archives.

``download(name, data_root)`` leaves the dataset's files directly in ``data_root/<name>/``
(the archive's own top folder, e.g. ``ml-10M100K/``, is stripped) and returns that folder.
Every archive is checked against a known size and checksum before anything is unpacked, and
a marker file records the verified checksum so a second call does no network work at all.

Offline use: put the official zip at ``data_root/<name>.zip`` and call ``download`` again;
it is verified and unpacked from there without touching the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import os
import shutil
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import IO, NoReturn

DEFAULT_DATA_ROOT = "data/movielens"
GROUPLENS_BASE_URL = "https://files.grouplens.org/datasets/movielens"
MARKER_NAME = ".movielens-download.json"
DEFAULT_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One downloadable archive and what it must look like once fetched."""

    name: str
    url: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    # Folder the zip wraps its files in; stripped so files land in data_root/<name>/.
    top_folder: str | None = None


# Where the numbers come from (the sources were searched offline, nothing was guessed):
# * ml-latest-small, ml-100k, ml-1m, ml-20m, ml-25m: sha256 and byte size from
#   tensorflow/datasets, tensorflow_datasets/url_checksums/movielens.txt.
# * ml-10m: sha256 from ISG-Siegen/OmniRec, src/omnirec/data_loaders/movielens_small.py
#   (its sha256 for ml-1m, ml-20m, ml-25m and ml-latest-small match TFDS exactly). The md5 is
#   the one GroupLens publishes in ml-10m.zip.md5, as quoted by eli-osherovich/papers_with_code,
#   datasets/movielens/dl_config.py (its md5s for the other archives match GroupLens' too).
#   The byte size is the one several public projects that pinned the sha256 record with it.
# * ml-32m: TFDS does not list it. The md5 is GroupLens' published ml-32m.zip.md5 value, and
#   the sha256 and byte size are what independent public projects pinned after downloading
#   it; many repositories quote each of them and all agree.
DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="ml-latest-small",
            url=f"{GROUPLENS_BASE_URL}/ml-latest-small.zip",
            sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            size=978_202,
            top_folder="ml-latest-small",
        ),
        Dataset(
            name="ml-100k",
            url=f"{GROUPLENS_BASE_URL}/ml-100k.zip",
            sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
            size=4_924_029,
            top_folder="ml-100k",
        ),
        Dataset(
            name="ml-1m",
            url=f"{GROUPLENS_BASE_URL}/ml-1m.zip",
            sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
            size=5_917_549,
            top_folder="ml-1m",
        ),
        Dataset(
            name="ml-10m",
            url=f"{GROUPLENS_BASE_URL}/ml-10m.zip",
            sha256="813c411ccb6122564edfe752e7f80c4dcc5aa25fa94c93622f6877a7ba252862",
            md5="ce571fd55effeba0271552578f2648bd",
            size=65_566_137,
            top_folder="ml-10M100K",
        ),
        Dataset(
            name="ml-20m",
            url=f"{GROUPLENS_BASE_URL}/ml-20m.zip",
            sha256="96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
            size=198_702_078,
            top_folder="ml-20m",
        ),
        Dataset(
            name="ml-25m",
            url=f"{GROUPLENS_BASE_URL}/ml-25m.zip",
            sha256="8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
            size=261_978_986,
            top_folder="ml-25m",
        ),
        Dataset(
            name="ml-32m",
            url=f"{GROUPLENS_BASE_URL}/ml-32m.zip",
            sha256="e4a68655d7386b8f95f2f2424b2ff975dfdd15ffd59e0d864a14dca43e99d6ee",
            md5="d472be332d4daa821edc399621853b57",
            size=238_950_008,
            top_folder="ml-32m",
        ),
    )
}


class DownloadError(RuntimeError):
    """The archive could not be fetched (offline, refused, timed out, HTTP error)."""


class VerificationError(RuntimeError):
    """An archive's size or checksum differs from the known value."""


class UnsafeArchiveError(RuntimeError):
    """A zip member would be written outside the target folder (or is a link)."""


def download(
    name: str,
    data_root: str | os.PathLike[str] = DEFAULT_DATA_ROOT,
    *,
    base_url: str | None = None,
    registry: Mapping[str, Dataset] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """Fetch, verify and unpack dataset ``name`` into ``data_root/<name>/``; return that path.

    ``base_url`` replaces the GroupLens host (the archive is ``<base_url>/<name>.zip``);
    ``registry`` replaces the built-in dataset table (tests use both).
    """
    registry = DATASETS if registry is None else registry
    if name not in registry:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(registry))}")
    dataset = registry[name]
    root = Path(data_root)
    target = root / name
    if _is_complete(target, dataset):
        return target
    root.mkdir(parents=True, exist_ok=True)

    local_zip = root / f"{name}.zip"
    if local_zip.is_file():
        # A zip the user placed by hand: verify it but never delete it, it is theirs.
        digests = _verify(local_zip, dataset, source=str(local_zip), owned=False)
        _unpack(local_zip, dataset, root, target, digests)
        return target

    url = f"{base_url.rstrip('/')}/{name}.zip" if base_url else dataset.url
    part = _fetch(url, dataset, root, timeout)
    try:
        digests = _verify(part, dataset, source=url, owned=True)
        _unpack(part, dataset, root, target, digests)
    finally:
        part.unlink(missing_ok=True)
    return target


def _fetch(url: str, dataset: Dataset, root: Path, timeout: float) -> Path:
    """Stream ``url`` into a temporary file under ``root``; network failures -> DownloadError."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dataset.name}.", suffix=".zip.part", dir=root)
    part = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "movielens-download"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                total = _content_length(response) or dataset.size
                _copy_with_progress(response, out, total, f"{dataset.name}.zip")
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as e:
        part.unlink(missing_ok=True)
        raise DownloadError(_offline_advice(dataset, url, root, e)) from e
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return part


def _content_length(response: http.client.HTTPResponse) -> int | None:
    """The advertised body size, if the server sent a usable one."""
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _copy_with_progress(src: IO[bytes], dst: IO[bytes], total: int | None, label: str) -> None:
    """Copy in chunks, redrawing one progress line on stderr at most ~4 times a second."""
    done = 0
    last_draw = 0.0
    while chunk := src.read(_CHUNK):
        dst.write(chunk)
        done += len(chunk)
        now = time.monotonic()
        if now - last_draw >= 0.25:
            _draw_progress(label, done, total)
            last_draw = now
    _draw_progress(label, done, total)
    print(file=sys.stderr)


def _draw_progress(label: str, done: int, total: int | None) -> None:
    """Write (and overwrite, via \\r) the progress line."""
    mb = done / 1e6
    if total:
        line = f"\r{label}: {mb:.1f} / {total / 1e6:.1f} MB ({100 * done // total}%)"
    else:
        line = f"\r{label}: {mb:.1f} MB"
    print(line, end="", file=sys.stderr, flush=True)


def _offline_advice(dataset: Dataset, url: str, root: Path, error: BaseException) -> str:
    """The DownloadError message: what failed, why, and how to carry on without network."""
    if isinstance(error, urllib.error.HTTPError):
        reason = f"HTTP {error.code} {error.reason}"
    else:
        reason = str(getattr(error, "reason", None) or error)
    return (
        f"Download of {dataset.name} failed: could not fetch {url}: {reason}.\n"
        "This machine may be offline or the server unreachable. To proceed offline, download "
        f"{dataset.url} on a machine with internet access, then either:\n"
        "  * unpack it and pass --data-dir DIR (the folder holding its files) to "
        "`python -m pipeline.local_runner`, or\n"
        f"  * place the zip at {root / (dataset.name + '.zip')} and rerun; it is then verified "
        "and unpacked without network."
    )


def _verify(path: Path, dataset: Dataset, *, source: str, owned: bool) -> dict[str, str]:
    """Check size and every known checksum of ``path``; return its computed digests.

    On a mismatch an ``owned`` file (one we downloaded) is deleted before raising.
    """
    size = path.stat().st_size
    if dataset.size is not None and size != dataset.size:
        _reject(path, source, f"size {size} bytes, expected {dataset.size} bytes", owned)
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
    digests = {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}
    for algo, expected in (("sha256", dataset.sha256), ("md5", dataset.md5)):
        if expected is not None and digests[algo] != expected.lower():
            _reject(path, source, f"{algo} {digests[algo]}, expected {expected}", owned)
    if dataset.sha256 is None and dataset.md5 is None:
        print(
            f"WARNING: no known checksum for {dataset.name}; the archive from {source} was "
            f"NOT verified (its sha256 is {digests['sha256']}).",
            file=sys.stderr,
        )
    return digests


def _reject(path: Path, source: str, detail: str, owned: bool) -> NoReturn:
    """Raise VerificationError; a file we downloaded ourselves is deleted first."""
    if owned:
        path.unlink(missing_ok=True)
    hint = "the download was deleted" if owned else f"delete or replace {path} and rerun"
    raise VerificationError(f"{source} failed verification: {detail}; {hint}.")


def _safe_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Validate every member before anything is written; return (member, relative path)."""
    members = []
    for info in archive.infolist():
        raw = info.filename.replace("\\", "/")
        rel = PurePosixPath(raw)
        if rel.is_absolute() or ".." in rel.parts or (rel.parts and ":" in rel.parts[0]):
            raise UnsafeArchiveError(f"refusing zip member outside the target: {info.filename!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchiveError(f"refusing symbolic link in zip: {info.filename!r}")
        members.append((info, rel))
    return members


def _strip_top_folder(
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]], top_folder: str | None
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Drop the archive's single wrapping folder so the files sit flat in the target."""
    tops = {rel.parts[0] for _, rel in members if rel.parts}
    wrapped = len(tops) == 1 and all(
        len(rel.parts) > 1 or info.is_dir() for info, rel in members if rel.parts
    )
    if not wrapped:
        return members
    (top,) = tops
    if top_folder is not None and top != top_folder:
        print(
            f"note: archive folder is {top!r}, expected {top_folder!r}; unpacking it anyway",
            file=sys.stderr,
        )
    return [(info, PurePosixPath(*rel.parts[1:])) for info, rel in members if len(rel.parts) > 1]


def _unpack(
    zip_path: Path, dataset: Dataset, root: Path, target: Path, digests: dict[str, str]
) -> None:
    """Extract into a scratch folder, move the files into ``target``, then write the marker."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as e:
        raise VerificationError(f"{zip_path} is not a valid zip archive: {e}") from e
    with archive, tempfile.TemporaryDirectory(prefix=f".{dataset.name}.", dir=root) as scratch:
        members = _strip_top_folder(_safe_members(archive), dataset.top_folder)
        scratch_dir = Path(scratch)
        files: list[str] = []
        for info, rel in members:
            dest = scratch_dir.joinpath(*rel.parts)
            # Belt and braces on top of _safe_members: the resolved path must stay inside.
            if not dest.resolve().is_relative_to(scratch_dir.resolve()):
                raise UnsafeArchiveError(
                    f"refusing zip member outside the target: {info.filename!r}"
                )
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
            files.append(rel.as_posix())
        # Move file by file so anything the user already keeps in target/ survives.
        target.mkdir(parents=True, exist_ok=True)
        for rel_name in files:
            dest = target / rel_name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(scratch_dir / rel_name, dest)
    marker = {
        "name": dataset.name,
        "source_url": dataset.url,
        "sha256": digests["sha256"],
        "md5": digests["md5"],
        "verified": bool(dataset.sha256 or dataset.md5),
        "files": sorted(files),
    }
    # Written last and atomically: its presence means the unpack completed.
    tmp_marker = target / f"{MARKER_NAME}.tmp"
    tmp_marker.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_marker, target / MARKER_NAME)


def _is_complete(target: Path, dataset: Dataset) -> bool:
    """True if ``target`` holds a finished unpack of exactly the archive ``dataset`` names."""
    try:
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or not isinstance(marker.get("files"), list):
        return False
    if dataset.sha256 is not None and marker.get("sha256") != dataset.sha256.lower():
        return False
    if dataset.md5 is not None and marker.get("md5") != dataset.md5.lower():
        return False
    files = marker["files"]
    return bool(files) and all((target / f).is_file() for f in files)
