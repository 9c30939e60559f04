"""What every contract shares: the JSON file, its version, reading and writing.

A file written before contracts had versions has none and reads as version 1. A file of
a newer version than this code knows is one ``ContractError`` naming the file and both
versions, whoever reads it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, ClassVar, TypeVar

VERSION_KEY = "version"

T = TypeVar("T", bound="Contract")


class ContractError(ValueError):
    """A contract file that cannot be read as its contract: a newer version, or not a JSON
    object."""


class NewerVersionError(ContractError):
    """The file is of a newer version than this code reads: the code must be updated."""


def _remote(path: str) -> bool:
    return "://" in path  # gs://, s3://, ...: only TensorFlow's file systems reach them


def read_text(path: str) -> str:
    if _remote(path):
        import tensorflow as tf

        with tf.io.gfile.GFile(path) as handle:
            return handle.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def write_text(path: str, text: str) -> None:
    if _remote(path):
        import tensorflow as tf

        tf.io.gfile.makedirs(os.path.dirname(path))
        with tf.io.gfile.GFile(path, "w") as handle:
            handle.write(text)
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def exists(path: str) -> bool:
    if _remote(path):
        import tensorflow as tf

        return tf.io.gfile.exists(path)
    return os.path.isfile(path)


def known_fields(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that are fields of dataclass ``cls`` (a reader ignores keys
    a later writer of the same version added)."""
    names = {field.name for field in dataclasses.fields(cls)}
    return {key: value for key, value in values.items() if key in names}


@dataclasses.dataclass
class Contract:
    """A JSON file in an artifact's folder. Subclasses are dataclasses that name their
    ``FILE`` and ``VERSION`` and turn themselves into JSON and back (``to_json`` /
    ``from_json``, without the version, which this class adds and checks)."""

    FILE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    # json.dumps options: each file keeps the formatting it had before it had a contract.
    INDENT: ClassVar[int | None] = 1
    SORT_KEYS: ClassVar[bool] = False
    ENSURE_ASCII: ClassVar[bool] = True

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls: type[T], values: dict[str, Any]) -> T:
        return cls(**known_fields(cls, values))

    @classmethod
    def path(cls, folder: str) -> str:
        """Where the file is in ``folder`` (for messages; read and write take the folder)."""
        return os.path.join(folder, cls.FILE)

    def dumps(self) -> str:
        content = {VERSION_KEY: self.VERSION, **self.to_json()}
        return json.dumps(
            content, indent=self.INDENT, sort_keys=self.SORT_KEYS, ensure_ascii=self.ENSURE_ASCII
        )

    @classmethod
    def loads(cls: type[T], text: str, where: str = "") -> T:
        where = where or cls.FILE
        try:
            content = json.loads(text)
        except ValueError as error:
            raise ContractError(f"{where} is not valid JSON: {error}") from None
        return cls.from_document(content, where)

    @classmethod
    def from_document(cls: type[T], content: Any, where: str = "") -> T:
        """The contract of a parsed JSON document (its version checked)."""
        where = where or cls.FILE
        if not isinstance(content, dict):
            raise ContractError(f"{where} is not a JSON object")
        content = dict(content)
        version = content.pop(VERSION_KEY, 1)  # files from before contracts had versions
        if not isinstance(version, int) or version > cls.VERSION:
            raise NewerVersionError(
                f"{where} is version {version} of {cls.__name__}, newer than this code "
                f"reads (version {cls.VERSION}): update the code that reads it"
            )
        return cls.from_json(content)

    def write(self, folder: str) -> str:
        """Writes the file into ``folder`` (created if needed); returns its path."""
        return self.write_file(self.path(folder))

    @classmethod
    def read(cls: type[T], folder: str) -> T:
        """The file in ``folder``; OSError when it is missing, ContractError when it is not
        this contract's (a newer version, damaged JSON)."""
        return cls.read_file(cls.path(folder))

    def write_file(self, path: str) -> str:
        """Writes the contract to a file named otherwise (e.g. a copy kept elsewhere)."""
        write_text(path, self.dumps())
        return path

    @classmethod
    def read_file(cls: type[T], path: str) -> T:
        """What ``write_file`` wrote at ``path``."""
        return cls.loads(read_text(path), path)

    @classmethod
    def read_if_present(cls: type[T], folder: str) -> T | None:
        """The file in ``folder``, or None when there is none (written before it existed)."""
        path = cls.path(folder)
        return cls.loads(read_text(path), path) if exists(path) else None

    @classmethod
    def read_or_none(cls: type[T], folder: str) -> T | None:
        """The file in ``folder``, or None when it is missing or damaged (what a tool that
        shows everything else reads); a newer version is still NewerVersionError."""
        try:
            return cls.read(folder)
        except NewerVersionError:
            raise
        except (OSError, ContractError, TypeError):
            return None
