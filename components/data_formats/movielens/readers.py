"""Reading MovieLens files as numbered text lines: whole, streamed, or in line-aligned byte
chunks read in parallel; a byte-order mark dropped, an undecodable line kept as one
placeholder line (so parsing reports it), quoted CSV records that span lines joined, and
the digest that identifies a file's content."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import tensorflow as tf

# Stands in for a line whose bytes do not decode, so that parsing reports it.
UNDECODABLE_LINE = "\x00"
# A UTF-8 byte-order mark: not data, and it says the file is UTF-8 whatever its layout.
UTF8_BOM = b"\xef\xbb\xbf"
# A quoted CSV field may hold line breaks; one left open longer than this is a broken line,
# not a record that swallows the rest of the file.
MAX_RECORD_LINES = 8


def read_lines(path: str, encoding: str) -> Iterator[tuple[int, str]]:
    """Yields (1-based line number, text) for a whole small file."""
    with tf.io.gfile.GFile(path, "rb") as handle:
        data, encodings = without_bom(handle.read(), encoding)
    yield from enumerate(decode_lines(data, encodings), start=1)


def stream_lines(
    path: str, encoding: str = "utf-8", block_bytes: int = 1 << 20, max_line_bytes: int = 1 << 20
) -> Iterator[tuple[int, str]]:
    """Yields (line number, text) of a file of any size, reading it block by block, so a
    caller that has seen enough can stop early. A "line" longer than ``max_line_bytes`` (no
    data file has one) is cut there, so memory stays bounded whatever the file holds."""
    line_no = 0
    encodings = (encoding,)
    with tf.io.gfile.GFile(path, "rb") as handle:
        rest, first = b"", True
        while block := handle.read(block_bytes):
            if first:
                block, encodings = without_bom(block, encoding)
                first = False
            *lines, rest = (rest + block).split(b"\n")
            if len(rest) > max_line_bytes:
                lines.append(rest)
                rest = b""
            for raw in lines:
                line_no += 1
                yield line_no, decode_line(raw, encodings)
        if rest:
            yield line_no + 1, decode_line(rest, encodings)


def without_bom(data: bytes, encoding: str) -> tuple[bytes, tuple[str, ...]]:
    """Drops a leading UTF-8 byte-order mark; returns the encodings to try per line.

    A BOM says UTF-8 (an editor that saves one usually saves UTF-8), but a tool may also
    have put one before a latin-1 file: lines that are not UTF-8 are then read in the
    layout's own encoding."""
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :], tuple(dict.fromkeys(("utf-8", encoding)))
    return data, (encoding,)


class Record(NamedTuple):
    """One record of a file: usually one line; in CSV, a quoted field may add lines."""

    line_no: int
    text: str
    continued: list[str]  # the physical lines after the first, already part of ``text``


def records(lines: Iterable[tuple[int, str]], quoted: bool) -> Iterator[Record]:
    """Joins the lines of quoted CSV fields that hold line breaks into one record each.

    An odd number of quote characters leaves a field open (an escaped quote is two). A
    field still open after MAX_RECORD_LINES lines is a broken line, not a record: that
    line is judged alone and reading goes on with the next one.
    """
    pending = list(lines)
    index = 0
    while index < len(pending):
        line_no, text = pending[index]
        continued: list[str] = []
        if quoted and text != UNDECODABLE_LINE:
            joined = text.rstrip("\r")
            while joined.count('"') % 2 and len(continued) + 1 < MAX_RECORD_LINES:
                following = index + len(continued) + 1
                if following >= len(pending) or pending[following][1] == UNDECODABLE_LINE:
                    break
                continued.append(pending[following][1])
                joined += "\n" + pending[following][1].rstrip("\r")
            if joined.count('"') % 2:
                continued = []
            elif continued:
                text = joined
        yield Record(line_no, text, continued)
        index += 1 + len(continued)


def decode_lines(data: bytes, encodings: tuple[str, ...]) -> list[str]:
    # Decoding per line keeps one undecodable line from failing the whole block.
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [decode_line(raw, encodings) for raw in lines]


def decode_line(raw: bytes, encodings: tuple[str, ...]) -> str:
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return UNDECODABLE_LINE


def first_line(path: str, limit: int = 1 << 16) -> bytes:
    """The file's first line (without its BOM), for reading a CSV header."""
    with tf.io.gfile.GFile(path, "rb") as handle:
        data, _ = without_bom(handle.read(limit), "utf-8")
    return data.split(b"\n", 1)[0].rstrip(b"\r")


@dataclasses.dataclass(frozen=True)
class FileDigest:
    """What identifies an input file's content: its size and SHA-256."""

    path: str
    bytes: int
    sha256: str


def digest(path: str, block_bytes: int = 4 << 20) -> FileDigest:
    """Size and SHA-256 of a file, read in blocks through tf.io.gfile (local paths or GCS)."""
    sha256 = hashlib.sha256()
    size = 0
    with tf.io.gfile.GFile(path, "rb") as handle:
        while block := handle.read(block_bytes):
            sha256.update(block)
            size += len(block)
    return FileDigest(path, size, sha256.hexdigest())


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A byte range of a ratings file that starts and ends on line boundaries."""

    path: str
    start: int
    end: int
    first_line_no: int
    # Added to the line numbers of the ratings this chunk yields (not to those messages
    # name): ratings read from several files (spans) then order by file, then by line.
    order_offset: int = 0


def plan_chunks(path: str, chunk_bytes: int = 8 << 20, order_offset: int = 0) -> list[Chunk]:
    """Splits a file into line-aligned byte ranges, recording each range's first line number.

    Line numbers let every rejection name its line and keep rating ties in file order
    while the chunks are parsed in parallel.
    """
    chunks = []
    offset, line_no = 0, 1
    with tf.io.gfile.GFile(path, "rb") as handle:
        # Cut at newline bytes found in the data itself: GFile.readline() drops the "\r"
        # of CRLF files, which would shift every later offset.
        while block := handle.read(chunk_bytes):
            while not block.endswith(b"\n") and (more := handle.read(chunk_bytes)):
                cut = more.find(b"\n")
                if cut >= 0:
                    block += more[: cut + 1]
                    handle.seek(offset + len(block))
                else:
                    block += more
            chunks.append(Chunk(path, offset, offset + len(block), line_no, order_offset))
            offset += len(block)
            line_no += block.count(b"\n")
    return chunks


def read_chunk(chunk: Chunk, encoding: str = "utf-8") -> Iterable[tuple[int, str]]:
    """Yields (line number, text) for the lines of one chunk."""
    with tf.io.gfile.GFile(chunk.path, "rb") as handle:
        handle.seek(chunk.start)
        data = handle.read(chunk.end - chunk.start)
    data, encodings = without_bom(data, encoding) if chunk.start == 0 else (data, (encoding,))
    return enumerate(decode_lines(data, encodings), start=chunk.first_line_no)
