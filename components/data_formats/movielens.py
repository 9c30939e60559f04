"""MovieLens file layouts: detection and line parsing.

Three layouts exist in the wild and are detected from the files present:

* ``ml-1m`` (also ML-10M): ``::``-separated ``ratings.dat`` / ``movies.dat`` / ``users.dat``,
  movie titles in latin-1.
* ``ml-100k``: tab-separated ``u.data``, pipe-separated ``u.item`` (19 genre flag columns)
  and ``u.user``, latin-1.
* ``ml-latest`` (also 20M/25M/32M and ml-latest-small): CSV with a header, quoted titles,
  UTF-8.

Every physical line gets exactly one outcome: a parsed record or a reason string, so the
counts of a run always reconcile (lines in = accepted + rejected by reason).
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import tensorflow as tf


class Reason(str, enum.Enum):
    """Why a line did not become a record. Invalid reasons count towards the bad-line share."""

    WRONG_COLUMN_COUNT = "wrong_column_count"
    MALFORMED = "malformed"  # not readable as CSV at all
    NON_NUMERIC = "non_numeric"
    RATING_OUT_OF_RANGE = "rating_out_of_range"
    UNKNOWN_MOVIE = "unknown_movie"
    DUPLICATE = "duplicate"
    UNDECODABLE = "undecodable"
    # Structural lines: not data, never counted as bad input.
    HEADER = "header"
    BLANK = "blank_line"
    # Valid lines that the example-generation settings leave out.
    BELOW_MIN_RATING = "below_min_rating"
    SHORT_TIMELINE = "short_timeline"


INVALID_REASONS = frozenset(
    {
        Reason.WRONG_COLUMN_COUNT,
        Reason.MALFORMED,
        Reason.NON_NUMERIC,
        Reason.RATING_OUT_OF_RANGE,
        Reason.UNKNOWN_MOVIE,
        Reason.DUPLICATE,
        Reason.UNDECODABLE,
    }
)
SKIPPED_REASONS = frozenset({Reason.HEADER, Reason.BLANK})
FILTERED_REASONS = frozenset({Reason.BELOW_MIN_RATING, Reason.SHORT_TIMELINE})

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
NO_GENRES = "(no genres listed)"
_YEAR_IN_TITLE = re.compile(r"\((\d{4})(?:[-\u2013]\d{0,4})?\)\s*$")
_YEAR_IN_DATE = re.compile(r"(\d{4})\s*$")
# Stands in for a line whose bytes do not decode, so that parsing reports it.
UNDECODABLE_LINE = "\x00"


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a layout keeps its files and how its lines are split."""

    name: str
    ratings_file: str
    movies_file: str
    users_file: str | None
    ratings_separator: str
    movies_encoding: str
    has_header: bool
    min_rating: float
    max_rating: float


ML_1M = Layout("ml-1m", "ratings.dat", "movies.dat", "users.dat", "::", "latin-1", False, 1, 5)
ML_100K = Layout("ml-100k", "u.data", "u.item", "u.user", "\t", "latin-1", False, 1, 5)
ML_LATEST = Layout("ml-latest", "ratings.csv", "movies.csv", None, ",", "utf-8", True, 0.5, 5)
LAYOUTS = (ML_1M, ML_100K, ML_LATEST)


class DataError(ValueError):
    """Input files are missing, empty, or too broken to use."""


def _join(data_dir: str, name: str) -> str:
    return data_dir.rstrip("/") + "/" + name


def detect_layout(data_dir: str) -> Layout:
    """Returns the layout whose ratings and movie files are in ``data_dir``.

    Raises DataError naming the expected files when none matches, or when a required
    file is empty.
    """
    if not tf.io.gfile.isdir(data_dir):
        raise DataError(f"MovieLens data folder {data_dir!r} does not exist.")
    for layout in LAYOUTS:
        ratings = _join(data_dir, layout.ratings_file)
        if not tf.io.gfile.exists(ratings):
            continue
        for name in (layout.ratings_file, layout.movies_file):
            path = _join(data_dir, name)
            if not tf.io.gfile.exists(path):
                raise DataError(
                    f"{data_dir!r} looks like the {layout.name} layout ({layout.ratings_file} "
                    f"found) but {name} is missing."
                )
            if tf.io.gfile.stat(path).length == 0:
                raise DataError(f"{path!r} is empty.")
        return layout
    expected = "; ".join(f"{lay.name}: {lay.ratings_file} + {lay.movies_file}" for lay in LAYOUTS)
    raise DataError(f"No MovieLens files found in {data_dir!r}. Expected one of: {expected}.")


class Rating(NamedTuple):
    """One ratings line (a tuple: cheap to pickle between Beam workers)."""

    user_id: int
    movie_id: int
    rating: float
    timestamp: int
    line_no: int


class Movie(NamedTuple):
    movie_id: int
    title: str
    year: int  # 0 when the title carries no year
    genres: tuple[str, ...]


class User(NamedTuple):
    user_id: int
    gender: str
    age: int
    occupation: str
    zip_prefix: str


@dataclasses.dataclass(frozen=True)
class Rejection:
    """One line that did not become a record."""

    file: str
    line_no: int
    reason: Reason
    line: str

    def describe(self) -> str:
        return f"{self.file}, line {self.line_no}: {self.reason.value}: {self.line[:120]!r}"


def _split(layout: Layout, line: str, separator: str) -> list[str] | None:
    """The line's fields, or None when the CSV reader cannot read it (e.g. a NUL byte)."""
    if layout is ML_LATEST:
        try:
            return next(csv.reader([line]))
        except csv.Error:
            return None
    return line.split(separator)


def _not_data(layout: Layout, line: str, line_no: int) -> Reason | None:
    """The reason a line holds no record (undecodable, blank, header), else None."""
    if line == UNDECODABLE_LINE:
        return Reason.UNDECODABLE
    if not line.strip():
        return Reason.BLANK
    if layout.has_header and line_no == 1:
        return Reason.HEADER
    return None


def parse_rating(layout: Layout, line: str, line_no: int) -> Rating | Reason:
    """Parses one ratings line; returns the Rating or the reason it was rejected."""
    if reason := _not_data(layout, line, line_no):
        return reason
    fields = _split(layout, line.rstrip("\r\n"), layout.ratings_separator)
    if fields is None:
        return Reason.MALFORMED
    if len(fields) != 4:
        return Reason.WRONG_COLUMN_COUNT
    try:
        user_id, movie_id = int(fields[0]), int(fields[1])
        rating, timestamp = float(fields[2]), int(fields[3])
    except ValueError:
        return Reason.NON_NUMERIC
    if not layout.min_rating <= rating <= layout.max_rating:
        return Reason.RATING_OUT_OF_RANGE
    return Rating(user_id, movie_id, rating, timestamp, line_no)


def year_from_title(title: str) -> int:
    match = _YEAR_IN_TITLE.search(title)
    return int(match.group(1)) if match else 0


def parse_movie(layout: Layout, line: str, line_no: int) -> Movie | Reason:
    """Parses one movie-file line into a Movie (year from the title, else the release date)."""
    if reason := _not_data(layout, line, line_no):
        return reason
    line = line.rstrip("\r\n")
    if layout is ML_100K:
        fields = line.split("|")
        if len(fields) != 5 + len(ML100K_GENRES):
            return Reason.WRONG_COLUMN_COUNT
        flags = fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            return Reason.NON_NUMERIC
        genres = tuple(g for g, flag in zip(ML100K_GENRES, flags, strict=True) if flag == "1")
        title = fields[1]
        year = year_from_title(title)
        if not year and (date := _YEAR_IN_DATE.search(fields[2])):
            year = int(date.group(1))
    else:
        fields = _split(layout, line, "::")
        if fields is None:
            return Reason.MALFORMED
        if len(fields) != 3:
            return Reason.WRONG_COLUMN_COUNT
        title = fields[1]
        year = year_from_title(title)
        genres = tuple(g for g in fields[2].split("|") if g and g != NO_GENRES)
    try:
        movie_id = int(fields[0])
    except ValueError:
        return Reason.NON_NUMERIC
    return Movie(movie_id, title, year, genres)


def parse_user(layout: Layout, line: str, line_no: int) -> User | Reason:
    """Parses one users-file line (ML-1M or ML-100K order; neither has a header)."""
    if reason := _not_data(layout, line, line_no):
        return reason
    line = line.rstrip("\r\n")
    if layout is ML_1M:
        fields = line.split("::")
        if len(fields) != 5:
            return Reason.WRONG_COLUMN_COUNT
        user, gender, age, occupation, zip_code = fields
    else:
        fields = line.split("|")
        if len(fields) != 5:
            return Reason.WRONG_COLUMN_COUNT
        user, age, gender, occupation, zip_code = fields
    try:
        return User(int(user), gender, int(age), occupation, zip_code[:3])
    except ValueError:
        return Reason.NON_NUMERIC


def read_lines(path: str, encoding: str) -> Iterator[tuple[int, str]]:
    """Yields (1-based line number, text) for a whole small file."""
    with tf.io.gfile.GFile(path, "rb") as handle:
        data = handle.read()
    yield from enumerate(_decode_lines(data, encoding), start=1)


def _decode_lines(data: bytes, encoding: str) -> list[str]:
    # Decoding per line keeps one undecodable line from failing the whole block.
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    decoded = []
    for raw in lines:
        try:
            decoded.append(raw.decode(encoding))
        except UnicodeDecodeError:
            decoded.append(UNDECODABLE_LINE)
    return decoded


def count_reasons(rejected: dict[str, int], reasons: frozenset[Reason]) -> int:
    """How many of the rejected lines (reason name -> count) have one of ``reasons``."""
    return sum(n for reason, n in rejected.items() if Reason(reason) in reasons)


@dataclasses.dataclass
class FileReport:
    """Outcome counts for one input file; lines == accepted + sum(rejected)."""

    file: str
    lines: int = 0
    accepted: int = 0
    rejected: dict[str, int] = dataclasses.field(default_factory=dict)
    first_rejections: dict[str, str] = dataclasses.field(default_factory=dict)

    def reject(self, rejection: Rejection) -> None:
        key = rejection.reason.value
        self.rejected[key] = self.rejected.get(key, 0) + 1
        self.first_rejections.setdefault(key, rejection.describe())

    def invalid(self) -> int:
        return count_reasons(self.rejected, INVALID_REASONS)

    def data_lines(self) -> int:
        return self.lines - count_reasons(self.rejected, SKIPPED_REASONS)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _parse_table(path: str, encoding: str, parse, layout: Layout, key) -> tuple[dict, FileReport]:
    report = FileReport(file=path)
    records: dict = {}
    for line_no, line in read_lines(path, encoding):
        report.lines += 1
        outcome = parse(layout, line, line_no)
        if isinstance(outcome, Reason):
            report.reject(Rejection(path, line_no, outcome, line))
        elif key(outcome) in records:
            report.reject(Rejection(path, line_no, Reason.DUPLICATE, line))
        else:
            records[key(outcome)] = outcome
            report.accepted += 1
    return records, report


def read_movies(data_dir: str, layout: Layout) -> tuple[dict[int, Movie], FileReport]:
    """Reads the movie file: {movie_id: Movie} and its report (first duplicate id wins)."""
    path = _join(data_dir, layout.movies_file)
    return _parse_table(path, layout.movies_encoding, parse_movie, layout, lambda m: m.movie_id)


def input_files(data_dir: str, layout: Layout) -> dict[str, str]:
    """Role ("ratings", "movies", "users") -> path of each file an ingestion reads."""
    files = {
        "ratings": _join(data_dir, layout.ratings_file),
        "movies": _join(data_dir, layout.movies_file),
    }
    if layout.users_file and tf.io.gfile.exists(_join(data_dir, layout.users_file)):
        files["users"] = _join(data_dir, layout.users_file)
    return files


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


def read_users(data_dir: str, layout: Layout) -> tuple[dict[int, User], FileReport | None]:
    """Reads the users file when the layout has one and it is present."""
    if layout.users_file is None or not tf.io.gfile.exists(_join(data_dir, layout.users_file)):
        return {}, None
    path = _join(data_dir, layout.users_file)
    return _parse_table(path, "latin-1", parse_user, layout, lambda u: u.user_id)


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A byte range of a ratings file that starts and ends on line boundaries."""

    path: str
    start: int
    end: int
    first_line_no: int


def plan_chunks(path: str, chunk_bytes: int = 8 << 20) -> list[Chunk]:
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
            chunks.append(Chunk(path, offset, offset + len(block), line_no))
            offset += len(block)
            line_no += block.count(b"\n")
    return chunks


def read_chunk(chunk: Chunk, encoding: str = "utf-8") -> Iterable[tuple[int, str]]:
    """Yields (line number, text) for the lines of one chunk."""
    with tf.io.gfile.GFile(chunk.path, "rb") as handle:
        handle.seek(chunk.start)
        data = handle.read(chunk.end - chunk.start)
    return enumerate(_decode_lines(data, encoding), start=chunk.first_line_no)
