"""Checks a pushed model's files before the LiteRT interpreter sees them.

Given a model *path*, the interpreter maps the file without verifying it: a truncated
``model.tflite`` makes it read past the end and kill the process (SIGSEGV or SIGBUS), which
no ``except`` can catch. Given the model's *bytes*, it verifies the flatbuffer first and
raises ValueError. So a model is read, checked (size, TFLite file identifier), handed over
as bytes, and the signatures its sidecar (``model.json``) names are looked up in it. Every
problem is a ModelFileError with one line that names the file. No TensorFlow here: this is
what a device-side tool imports.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ai_edge_litert.interpreter import Interpreter

from components.contracts.base import NewerVersionError
from components.contracts.sidecar import Sidecar
from configs import features as raw

# A TFLite flatbuffer starts with the root table's offset (4 bytes), then "TFL3".
TFLITE_IDENTIFIER = b"TFL3"
IDENTIFIER_SLICE = slice(4, 8)
# The smallest flatbuffer that could hold a model: the offset, identifier and a table.
MIN_MODEL_BYTES = 32
# What the sidecar must hold, and the JSON type of each (what recommending reads).
SIDECAR_KEYS: dict[str, type] = {
    "inputs": list,
    "k": int,
    "movies": dict,
    "signatures": dict,
    "outputs": dict,
    "string_vocabularies": dict,
}
INPUT_KEYS: dict[str, type] = {"name": str, "length": int, "dtype": str}


class ModelFileError(ValueError):
    """A model or sidecar file is missing, damaged or does not match the other."""


def read_tflite(path: str) -> bytes:
    """The bytes of a .tflite file, after checking its size and file identifier."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ModelFileError(f"cannot read {path}: {error.strerror}") from None
    if not data:
        raise ModelFileError(f"{path} is empty (0 bytes): push or copy the model again.")
    if len(data) < MIN_MODEL_BYTES:
        raise ModelFileError(f"{path} is {len(data)} bytes: too small to be a TFLite model.")
    if data[IDENTIFIER_SLICE] != TFLITE_IDENTIFIER:
        raise ModelFileError(
            f"{path} is not a TFLite model: bytes 4-8 are {data[IDENTIFIER_SLICE]!r}, not "
            f"the file identifier {TFLITE_IDENTIFIER!r}."
        )
    return data


def load_interpreter(path: str, sidecar: dict[str, Any] | None = None) -> Interpreter:
    """A LiteRT interpreter for a verified model, with the sidecar's signatures checked."""
    data = read_tflite(path)
    try:
        interpreter = Interpreter(model_content=data)
    except (ValueError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ModelFileError(
            f"{path} is damaged ({len(data)} bytes; truncated or corrupt?): {reason}"
        ) from None
    if sidecar is not None:
        check_signatures(interpreter, sidecar, path)
    return interpreter


def check_signatures(interpreter: Interpreter, sidecar: dict[str, Any], path: str) -> None:
    """Every signature the sidecar names exists, takes only inputs the sidecar describes
    (a signature may take fewer) including the history, and returns the sidecar's outputs."""
    available = interpreter.get_signature_list()
    described = {spec["name"] for spec in sidecar["inputs"]}
    outputs = set(sidecar["outputs"])
    for name in sidecar["signatures"]:
        if name not in available:
            raise ModelFileError(
                f"{path} has no signature {name!r}, which its sidecar names "
                f"(it has: {', '.join(sorted(available)) or 'none'})."
            )
        takes, returns = set(available[name]["inputs"]), set(available[name]["outputs"])
        if takes - described or raw.CONTEXT_MOVIE_ID not in takes or not outputs <= returns:
            raise ModelFileError(
                f"{path}: signature {name!r} takes {sorted(takes)} and returns "
                f"{sorted(returns)}, but its sidecar describes inputs {sorted(described)} "
                f"and outputs {sorted(outputs)}: the two files are not from one push."
            )


def load_sidecar(path: str) -> dict[str, Any]:
    """The sidecar JSON, checked for the keys and types recommending relies on."""
    if not os.path.isfile(path):
        raise ModelFileError(f"{path} is missing: it describes the model's inputs.")
    try:
        with open(path, encoding="utf-8") as handle:
            sidecar = json.load(handle)
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path} is not UTF-8 text (byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"{path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except OSError as error:
        raise ModelFileError(f"cannot read {path}: {error.strerror}") from None
    _check_sidecar(sidecar, path)
    try:
        return Sidecar.from_document(sidecar, path).content
    except NewerVersionError as error:
        raise ModelFileError(str(error)) from None


def _check_sidecar(sidecar: Any, path: str) -> None:
    if not isinstance(sidecar, dict):
        raise ModelFileError(f"{path} holds a JSON {type(sidecar).__name__}, not an object.")
    for key, kind in SIDECAR_KEYS.items():
        if not isinstance(sidecar.get(key), kind):
            found = "missing" if key not in sidecar else type(sidecar[key]).__name__
            raise ModelFileError(f"{path}: {key!r} must be a JSON {kind.__name__} ({found}).")
    if sidecar["k"] < 1:
        raise ModelFileError(f"{path}: 'k' must be at least 1 (it is {sidecar['k']}).")
    for index, spec in enumerate(sidecar["inputs"]):
        if not isinstance(spec, dict) or any(
            not isinstance(spec.get(key), kind) for key, kind in INPUT_KEYS.items()
        ):
            raise ModelFileError(
                f"{path}: inputs[{index}] must be an object with "
                + ", ".join(f"{key!r} ({kind.__name__})" for key, kind in INPUT_KEYS.items())
                + "."
            )
    if not any(spec["name"] == raw.CONTEXT_MOVIE_ID for spec in sidecar["inputs"]):
        raise ModelFileError(f"{path}: no input is {raw.CONTEXT_MOVIE_ID!r} (the history).")
