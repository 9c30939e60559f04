"""Tests for components.data_formats.download, against a loopback HTTP server only."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.data_formats import download as dl

RATINGS = b"userId,movieId,rating,timestamp\n1,10,4.0,964982703\n"
MOVIES = b'movieId,title,genres\n10,"Heat (1995)",Action\n'
# Mirrors the real archives: every file sits under one top folder whose name differs from
# the dataset name (like ml-10m.zip -> ml-10M100K/), including one nested file.
TINY_MEMBERS = {
    "tiny-TOP/": b"",
    "tiny-TOP/ratings.csv": RATINGS,
    "tiny-TOP/movies.csv": MOVIES,
    "tiny-TOP/extra/README.txt": b"readme\n",
}


def make_zip(members: dict[str, bytes]) -> bytes:
    """Build a zip in memory; names are stored verbatim (so '../evil' stays hostile)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def entry(payload: bytes, **overrides: object) -> dict[str, dl.Dataset]:
    """A one-dataset registry for ``payload`` with correct checksums unless overridden."""
    fields: dict[str, object] = {
        "name": "tiny",
        "url": "https://files.grouplens.org/datasets/movielens/tiny.zip",
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
        "top_folder": "tiny-TOP",
    }
    fields.update(overrides)
    return {"tiny": dl.Dataset(**fields)}  # type: ignore[arg-type]


class _Server(http.server.ThreadingHTTPServer):
    requests_seen: int = 0


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        """Count every request so tests can prove the second call stays offline."""
        self.server.requests_seen += 1  # type: ignore[attr-defined]
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        """Keep pytest output clean."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, _Server, Path]]:
    """An HTTP server on 127.0.0.1 (ephemeral port) serving files from a temp folder."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_Handler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server, root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on, so connecting is refused immediately."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_served_zip_downloads_verifies_unpacks_flat_and_is_idempotent(
    served: tuple[str, _Server, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base_url, server, served_dir = served
    payload = make_zip(TINY_MEMBERS)
    (served_dir / "tiny.zip").write_bytes(payload)
    data_root = tmp_path / "data"

    out = dl.download("tiny", data_root, base_url=base_url, registry=entry(payload), timeout=5)

    assert out == data_root / "tiny"
    assert (out / "ratings.csv").read_bytes() == RATINGS
    assert (out / "movies.csv").read_bytes() == MOVIES
    assert (out / "extra" / "README.txt").read_bytes() == b"readme\n"
    assert not (out / "tiny-TOP").exists()
    # No temporary download or scratch folder is left next to the dataset.
    assert sorted(p.name for p in data_root.iterdir()) == ["tiny"]
    marker = json.loads((out / dl.MARKER_NAME).read_text())
    assert marker["sha256"] == hashlib.sha256(payload).hexdigest()
    assert server.requests_seen == 1
    assert "tiny.zip" in capsys.readouterr().err

    again = dl.download("tiny", data_root, base_url=base_url, registry=entry(payload), timeout=5)

    assert again == out
    assert server.requests_seen == 1


def test_marker_for_another_checksum_triggers_a_fresh_download(
    served: tuple[str, _Server, Path], tmp_path: Path
) -> None:
    base_url, server, served_dir = served
    payload = make_zip(TINY_MEMBERS)
    (served_dir / "tiny.zip").write_bytes(payload)
    data_root = tmp_path / "data"
    registry = entry(payload)
    dl.download("tiny", data_root, base_url=base_url, registry=registry, timeout=5)
    marker_path = data_root / "tiny" / dl.MARKER_NAME
    marker = json.loads(marker_path.read_text())
    marker["sha256"] = "0" * 64
    marker_path.write_text(json.dumps(marker))

    dl.download("tiny", data_root, base_url=base_url, registry=registry, timeout=5)

    assert server.requests_seen == 2
    assert json.loads(marker_path.read_text())["sha256"] == hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize(
    ("override", "named", "expected"),
    [
        ({"sha256": "ab" * 32}, "sha256", "ab" * 32),
        ({"sha256": None, "md5": "cd" * 16}, "md5", "cd" * 16),
        ({"size": 12345}, "size", "12345"),
    ],
)
def test_mismatch_raises_and_leaves_no_partial_files(
    served: tuple[str, _Server, Path],
    tmp_path: Path,
    override: dict[str, object],
    named: str,
    expected: str,
) -> None:
    base_url, _, served_dir = served
    payload = make_zip(TINY_MEMBERS)
    (served_dir / "tiny.zip").write_bytes(payload)
    data_root = tmp_path / "data"
    registry = entry(payload, **override)
    actual = {
        "sha256": hashlib.sha256(payload).hexdigest(),
        "md5": hashlib.md5(payload).hexdigest(),
        "size": str(len(payload)),
    }[named]

    with pytest.raises(dl.VerificationError) as info:
        dl.download("tiny", data_root, base_url=base_url, registry=registry, timeout=5)

    message = str(info.value)
    assert named in message
    assert expected in message
    assert actual in message
    assert list(data_root.iterdir()) == []


def test_closed_port_raises_download_error_with_offline_advice(
    closed_port_url: str, tmp_path: Path
) -> None:
    data_root = tmp_path / "data"

    with pytest.raises(dl.DownloadError) as info:
        dl.download("ml-1m", data_root, base_url=closed_port_url, timeout=5)

    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "failed" in message
    assert "ml-1m" in message
    assert "--data-dir" in message
    assert "pipeline.local_runner" in message
    assert "ml-1m.zip" in message
    assert list(data_root.iterdir()) == []


def test_http_error_is_a_download_error(served: tuple[str, _Server, Path], tmp_path: Path) -> None:
    base_url, _, _ = served  # nothing is served, so the server answers 404

    with pytest.raises(dl.DownloadError, match="404"):
        dl.download("tiny", tmp_path, base_url=base_url, registry=entry(b"x"), timeout=5)


def test_preplaced_zip_is_used_without_network(closed_port_url: str, tmp_path: Path) -> None:
    payload = make_zip(TINY_MEMBERS)
    data_root = tmp_path / "data"
    data_root.mkdir()
    (data_root / "tiny.zip").write_bytes(payload)

    # Any network attempt would hit the closed port and raise DownloadError.
    out = dl.download(
        "tiny", data_root, base_url=closed_port_url, registry=entry(payload), timeout=5
    )

    assert (out / "ratings.csv").read_bytes() == RATINGS
    assert (data_root / "tiny.zip").read_bytes() == payload  # the user's zip is kept


def test_corrupt_preplaced_zip_is_rejected_but_kept(closed_port_url: str, tmp_path: Path) -> None:
    payload = make_zip(TINY_MEMBERS)
    (tmp_path / "tiny.zip").write_bytes(payload + b"junk")

    with pytest.raises(dl.VerificationError, match="size"):
        dl.download("tiny", tmp_path, base_url=closed_port_url, registry=entry(payload))

    assert (tmp_path / "tiny.zip").exists()
    assert not (tmp_path / "tiny").exists()


@pytest.mark.parametrize("hostile", ["../evil", "tiny-TOP/../../evil", "/abs/evil"])
def test_zip_path_traversal_is_rejected(tmp_path: Path, hostile: str) -> None:
    payload = make_zip({"tiny-TOP/ratings.csv": RATINGS, hostile: b"pwned"})
    data_root = tmp_path / "root" / "data"
    data_root.mkdir(parents=True)
    (data_root / "tiny.zip").write_bytes(payload)

    with pytest.raises(dl.UnsafeArchiveError, match="evil"):
        dl.download("tiny", data_root, registry=entry(payload))

    assert not list(tmp_path.rglob("evil"))
    assert not (data_root / "tiny").exists()


def test_unverifiable_entry_warns_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = make_zip(TINY_MEMBERS)
    (tmp_path / "tiny.zip").write_bytes(payload)

    out = dl.download("tiny", tmp_path, registry=entry(payload, sha256=None, size=None))

    assert (out / "movies.csv").read_bytes() == MOVIES
    assert "NOT verified" in capsys.readouterr().err


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'ml-5m'") as info:
        dl.download("ml-5m", "unused")

    for name in dl.DATASETS:
        assert name in str(info.value)


# Registry entries allowed to lack a checksum; each needs a reason next to it. None today.
UNVERIFIED_EXCEPTIONS: frozenset[str] = frozenset()


def test_registry_covers_all_names_with_checksums_and_grouplens_urls() -> None:
    assert set(dl.DATASETS) == {
        "ml-latest-small", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m",
    }  # fmt: skip
    for name, ds in dl.DATASETS.items():
        assert ds.name == name
        assert ds.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert ds.size is not None and ds.size > 0
        if name in UNVERIFIED_EXCEPTIONS:
            continue
        sha_ok = ds.sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", ds.sha256)
        md5_ok = ds.md5 is not None and re.fullmatch(r"[0-9a-f]{32}", ds.md5)
        assert sha_ok or md5_ok, name
        # A present but malformed digest would make every download fail.
        assert ds.sha256 is None or sha_ok, name
        assert ds.md5 is None or md5_ok, name
    assert dl.DATASETS["ml-10m"].top_folder == "ml-10M100K"
