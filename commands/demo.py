"""Serves the in-browser demo of a pushed model: recommendations computed in the page.

    python -m commands.demo [--model outputs] [--port 8765]

``--model`` is a .tflite file, a pushed version folder, or an output folder (the version its
serving pointer names), as for ``commands.recommend``. Given an output folder, the server
follows the pointer: a promote, rollback or new push is picked up at the next request, the
files are served from memory (read once from a complete version), and the page's URLs name
their version, so a page never mixes one version's sidecar with another's model. The page
(demo/) runs the same .tflite file a phone runs, with LiteRT.js (WebAssembly) from
demo/node_modules (``make demo`` installs it from demo/package-lock.json). Everything is
served from 127.0.0.1: no request leaves the machine, and the page works offline.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import http.server
import json
import mimetypes
import os
import sys
import threading
import urllib.parse
from typing import Any

from components import names
from components.export import model_files, on_device_model, serving
from components.export.layout import (
    EXCLUDED_MOVIES,
    MODEL_FILE,
    QUANTIZED_FILE,
    RECOMMEND_UNSEEN,
    SIDECAR_FILE,
    TOP_IDS,
    TOP_SCORES,
)
from components.transform import ids
from configs import features as raw
from pipeline import cli_errors, paths

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEMO_DIR = os.path.join(paths.REPO_ROOT, "demo")
NODE_MODULES = os.path.join(DEMO_DIR, "node_modules")
# What the page loads from node_modules: the ES module, its one bare import, the WASM.
RUNTIME_FILES = (
    "@litertjs/core/dist/index.js",
    "@litertjs/core/wasm/litert_wasm_internal.wasm",
    "@litertjs/wasm-utils/dist/index.js",
)
VENDOR_PREFIX = "/vendor/"
MODEL_PREFIX = "/model/"
VERSION_PARAMETER = "version"
CONFIG_PATH = "/config.json"
PAGE_FILES = {"/": "index.html", "/index.html": "index.html"}
PAGE_EXTENSIONS = (".html", ".js", ".css")
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".wasm": "application/wasm",
    ".tflite": "application/octet-stream",
    ".png": "image/png",
}
# Cross-origin isolation: performance.now() then ticks in 5 us, not 100 us, so the page can
# show a 0.2 ms call as it is. Everything is same-origin, so nothing is blocked.
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
# ML-1M codes its profile (its README); other layouts store the values themselves.
ML1M_AGES = {
    1: "Under 18",
    18: "18-24",
    25: "25-34",
    35: "35-44",
    45: "45-49",
    50: "50-55",
    56: "56+",
}
ML1M_OCCUPATIONS = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)
PROFILE_LABELS = {
    raw.USER_GENDER: "Gender",
    raw.USER_AGE: "Age",
    raw.USER_OCCUPATION: "Occupation",
}


class DemoError(ValueError):
    """The demo cannot start: the message says why and what to do."""


def check_runtime(node_modules: str = NODE_MODULES) -> None:
    """The LiteRT.js files the page needs are installed (npm ci in demo/)."""
    missing = [f for f in RUNTIME_FILES if not os.path.isfile(os.path.join(node_modules, f))]
    if missing:
        raise DemoError(
            f"the LiteRT.js runtime is not installed ({os.path.join(node_modules, missing[0])} "
            "is missing): run `make demo`, which installs it from demo/package-lock.json."
        )


def _quantized_model(recommender: on_device_model.Recommender) -> str | None:
    """The int8-weights model pushed beside the float one, if any and if it loads.

    A damaged variant only turns the page's int8 toggle off: the float model still serves.
    """
    path = os.path.join(os.path.dirname(recommender.model_path), QUANTIZED_FILE)
    if not os.path.isfile(path):
        return None
    try:
        model_files.load_interpreter(path, recommender.sidecar)
    except model_files.ModelFileError as error:
        print(f"warning: {error} The int8 toggle is off.", file=sys.stderr)
        return None
    return path


def _options(spec: dict[str, Any], sidecar: dict[str, Any]) -> list[dict[str, Any]]:
    """The choices of a profile input: the value the signature takes and a label.

    STRING inputs take vocabulary rows, INT inputs raw values; the page passes ``value``
    as it is, so it never looks anything up itself.
    """
    name, vocab = spec["name"], spec.get("vocab_name", "")
    strings = sidecar["string_vocabularies"].get(vocab)
    if strings is not None:
        labels = {str(i): text for i, text in enumerate(ML1M_OCCUPATIONS)}
        coded = name == raw.USER_OCCUPATION and all(s in labels for s in strings)
        options = [
            {"value": row, "label": labels[s] if coded else s}
            for row, s in enumerate(strings, ids.FIRST_VOCAB_ROW)
        ]
        return sorted(options, key=lambda option: option["label"].lower())
    values = sidecar.get("int_vocabularies", {}).get(vocab, [])  # sorted by the pusher
    coded = name == raw.USER_AGE and all(v in ML1M_AGES for v in values)
    return [{"value": v, "label": ML1M_AGES[v] if coded else str(v)} for v in values]


def page_config(recommender: on_device_model.Recommender, quantized: str | None) -> dict[str, Any]:
    """What the page needs to know besides the sidecar: URLs and which input is which."""
    names = set(recommender.inputs)
    profile = [
        {
            "name": name,
            "label": label,
            "options": _options(recommender.inputs[name], recommender.sidecar),
        }
        for name, label in PROFILE_LABELS.items()
        if name in names
    ]
    models = {"float": MODEL_PREFIX + MODEL_FILE}
    if quantized:
        models["int8"] = MODEL_PREFIX + QUANTIZED_FILE
    return {
        "runtime": VENDOR_PREFIX + "@litertjs/core/wasm/",
        "sidecar": MODEL_PREFIX + SIDECAR_FILE,
        "models": models,
        "model_label": _model_label(recommender.model_path),
        "signature": RECOMMEND_UNSEEN,
        "movie_input": raw.CONTEXT_MOVIE_ID,
        "excluded_input": EXCLUDED_MOVIES,
        "rating_input": raw.CONTEXT_MOVIE_RATING if raw.CONTEXT_MOVIE_RATING in names else None,
        "profile": profile,
        # Most watched first (the movie vocabulary's order), for search results.
        "movie_order": list(recommender.movies),
        "outputs": {"ids": TOP_IDS, "scores": TOP_SCORES},
    }


def _model_label(model_path: str) -> str:
    """The pushed version folder and file, without this machine's absolute path."""
    folder = os.path.dirname(os.path.abspath(model_path))
    return f"{os.path.basename(folder)}/{os.path.basename(model_path)}"


@dataclasses.dataclass(frozen=True)
class Served:
    """One version as the page gets it: every file's bytes, read once from disk."""

    version: str
    model_path: str
    files: dict[str, bytes]  # MODEL_FILE, QUANTIZED_FILE, SIDECAR_FILE
    config_bytes: bytes


def load_served(model: str) -> Served:
    """The model ``model`` names now (through the serving pointer), ready to serve."""
    try:
        recommender = on_device_model.Recommender(model)
    except on_device_model.RecommendError as error:
        raise DemoError(str(error)) from None
    quantized = _quantized_model(recommender)
    version = os.path.basename(os.path.dirname(os.path.abspath(recommender.model_path)))
    files = {}
    for name, path in ((MODEL_FILE, recommender.model_path), (QUANTIZED_FILE, quantized)):
        if path:
            with open(path, "rb") as handle:
                files[name] = handle.read()
    # The sidecar as the recommend command reads it (per-movie input values filled in).
    files[SIDECAR_FILE] = json.dumps(recommender.sidecar, ensure_ascii=False).encode()
    config = page_config(recommender, quantized)
    query = "?" + urllib.parse.urlencode({VERSION_PARAMETER: version})
    config["sidecar"] += query
    config["models"] = {variant: url + query for variant, url in config["models"].items()}
    config["version"] = version
    return Served(version, recommender.model_path, files, json.dumps(config).encode())


def _pointer_path(model: str) -> str | None:
    """The serving pointer that ``model`` follows (None: a fixed file or version folder)."""
    if os.path.isfile(model) or os.path.isfile(os.path.join(model, MODEL_FILE)):
        return None
    root = os.path.join(model, names.PUSHED_MODELS_DIR)
    return os.path.join(root if os.path.isdir(root) else model, serving.POINTER_FILE)


def _stat_key(path: str | None) -> tuple | None:
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class DemoServer(http.server.ThreadingHTTPServer):
    """A static server for one pushed model, its sidecar, the page and the runtime."""

    daemon_threads = True
    # Versions kept in memory: the current one and the one before (pages that loaded it).
    KEPT_VERSIONS = 2

    def __init__(self, model: str, port: int = DEFAULT_PORT):
        check_runtime()
        self.model = model
        self.pointer_path = _pointer_path(model)
        self._pointer_key = _stat_key(self.pointer_path)
        self._served = load_served(model)
        self._recent = {self._served.version: self._served}
        self._reload = threading.Lock()
        try:
            super().__init__((HOST, port), DemoHandler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise DemoError(
                    f"port {port} on {HOST} is in use: pass another with --port "
                    '(DEMO_ARGS="--port N" for make demo).'
                ) from None
            raise

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    @property
    def model_files(self) -> dict[str, str]:
        """The served version's files on disk (what the console names)."""
        folder = os.path.dirname(self._served.model_path)
        return {name: os.path.join(folder, name) for name in self._served.files}

    def served(self, version: str | None = None) -> Served:
        """The version a request asks for (if still in memory), else the pointer's now."""
        if version is not None and version in self._recent:
            return self._recent[version]
        key = _stat_key(self.pointer_path)
        if key != self._pointer_key:
            with self._reload:
                if key != self._pointer_key:
                    try:
                        fresh = load_served(self.model)
                    except DemoError as error:  # keep serving the complete version we have
                        print(f"warning: {error}", file=sys.stderr)
                    else:
                        self._served = fresh
                        self._recent[fresh.version] = fresh
                        for old in list(self._recent)[: -self.KEPT_VERSIONS]:
                            del self._recent[old]
                    self._pointer_key = key
        return self._served


class DemoHandler(http.server.BaseHTTPRequestHandler):
    """GET only; every path maps to one known file, nothing outside demo/ and the model."""

    server: DemoServer

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        if path == CONFIG_PATH:
            self._send(self.server.served().config_bytes, ".json")
        elif path.startswith(MODEL_PREFIX):
            asked = urllib.parse.parse_qs(parts.query).get(VERSION_PARAMETER, [None])[0]
            served = self.server.served(asked)
            body = served.files.get(path[len(MODEL_PREFIX) :])
            if body is None or asked not in (None, served.version):  # never another version's
                self.send_error(404)
            else:
                self._send(body, os.path.splitext(path)[1])
        elif path.startswith(VENDOR_PREFIX + "@litertjs/"):
            self._send_file(_inside(NODE_MODULES, path[len(VENDOR_PREFIX) :]))
        else:
            name = PAGE_FILES.get(path, path.lstrip("/"))
            page = name.endswith(PAGE_EXTENSIONS) and "/" not in name
            self._send_file(_inside(DEMO_DIR, name) if page else None)

    def _send_file(self, path: str | None) -> None:
        if path is None or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as handle:
            self._send(handle.read(), os.path.splitext(path)[1])

    def _send(self, body: bytes, extension: str) -> None:
        self.send_response(200)
        mime = MIME_TYPES.get(extension) or mimetypes.guess_type("x" + extension)[0]
        self.send_header("Content-Type", mime or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for header, value in ISOLATION_HEADERS.items():
            self.send_header(header, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the console shows the URL, not a line per file."""


def _inside(root: str, relative: str) -> str | None:
    """``root/relative`` if it stays inside ``root`` (no ``..`` escapes), else None."""
    path = os.path.realpath(os.path.join(root, urllib.parse.unquote(relative)))
    return path if path.startswith(os.path.realpath(root) + os.sep) else None


def start(model: str, port: int = 0) -> tuple[DemoServer, threading.Thread]:
    """A running server in a background thread (port 0: a free one), for tests and tools."""
    server = DemoServer(model, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _port(text: str) -> int:
    """A TCP port number, checked here: the socket's own error for 70000 is a traceback."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535 (0 picks a free one), not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model",
        default=paths.OUTPUT_DIR,
        help="a .tflite file, a pushed model folder or an output folder (default: outputs/)",
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="0 picks a free port")
    cli_errors.add_debug_flag(parser)
    args = parser.parse_args(argv)
    try:
        server = DemoServer(args.model, args.port)
    except (DemoError, OSError) as error:
        return cli_errors.fail(error, args.debug)
    print(f"Serving {_model_label(server.model_files[MODEL_FILE])} on {server.url}", flush=True)
    print(f"Open {server.url} in a browser (Ctrl-C stops).", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
