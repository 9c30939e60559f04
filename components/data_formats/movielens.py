"""MovieLens file layouts: detection and line parsing.

Three layouts exist in the wild and are detected from the files present:

* ``ml-1m`` (also ML-10M): ``::``-separated ``ratings.dat`` / ``movies.dat`` / ``users.dat``,
  movie titles in latin-1.
* ``ml-100k``: tab-separated ``u.data``, pipe-separated ``u.item`` (19 genre flag columns)
  and ``u.user``, latin-1.
* ``ml-latest`` (also 20M/25M/32M and ml-latest-small): CSV with a header, quoted titles,
  UTF-8.

Every physical line gets exactly one outcome: a parsed record or a reason string, so the
counts of a run always reconcile (lines in = accepted + rejected by reason). Values are
checked against ``limits`` (ids, timestamps, years, ages) here, as they are read, so that
no later stage meets a value it cannot handle. CSV headers are read, not skipped: columns
are found by name, and a header that does not name the expected columns is an error.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import tensorflow as tf

from components.data_formats import limits


class Reason(str, enum.Enum):
    """Why a line did not become a record. Invalid reasons count towards the bad-line share."""

    WRONG_COLUMN_COUNT = "wrong_column_count"
    MALFORMED = "malformed"  # not readable as CSV at all
    NON_NUMERIC = "non_numeric"
    RATING_OUT_OF_RANGE = "rating_out_of_range"
    UNKNOWN_MOVIE = "unknown_movie"
    DUPLICATE = "duplicate"
    UNDECODABLE = "undecodable"
    NOT_INT64 = "not_int64"  # an integer beyond what tf.train.Example stores
    ID_NOT_POSITIVE = "id_not_positive"  # ids start at 1 (0 is padding)
    ID_TOO_LARGE = "id_too_large"  # above ids.MAX_RAW_ID, the on-device table limit
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"  # outside the run's time window
    YEAR_OUT_OF_RANGE = "year_out_of_range"
    AGE_OUT_OF_RANGE = "age_out_of_range"
    UNKNOWN_GENDER = "unknown_gender"
    # Structural lines: not data, never counted as bad input.
    HEADER = "header"
    BLANK = "blank_line"
    # A physical line inside a quoted CSV field that began on an earlier line.
    CONTINUATION = "continued_record"
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
        Reason.NOT_INT64,
        Reason.ID_NOT_POSITIVE,
        Reason.ID_TOO_LARGE,
        Reason.TIMESTAMP_OUT_OF_RANGE,
        Reason.YEAR_OUT_OF_RANGE,
        Reason.AGE_OUT_OF_RANGE,
        Reason.UNKNOWN_GENDER,
    }
)
SKIPPED_REASONS = frozenset({Reason.HEADER, Reason.BLANK, Reason.CONTINUATION})
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
# A UTF-8 byte-order mark: not data, and it says the file is UTF-8 whatever its layout.
UTF8_BOM = b"\xef\xbb\xbf"
# A quoted CSV field may hold line breaks; one left open longer than this is a broken line,
# not a record that swallows the rest of the file.
MAX_RECORD_LINES = 8
# The columns of the CSV layout's files, as their header lines name them (any order).
RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")
MOVIE_COLUMNS = ("movieId", "title", "genres")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)",
    re.IGNORECASE,
)


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

    Raises DataError naming the expected files when none matches, when a required file is
    empty or not a file, or when the ratings of more than one layout are present (which
    one was meant is the user's call, not a silent pick).
    """
    if not tf.io.gfile.isdir(data_dir):
        if tf.io.gfile.exists(data_dir):
            raise DataError(
                f"{data_dir!r} is a file, not a folder: give the folder that holds the "
                "MovieLens files (e.g. ratings.dat and movies.dat)."
            )
        raise DataError(f"MovieLens data folder {data_dir!r} does not exist.")
    found = [lay for lay in LAYOUTS if tf.io.gfile.exists(_join(data_dir, lay.ratings_file))]
    if len(found) > 1:
        names = " and ".join(f"{lay.ratings_file} ({lay.name})" for lay in found)
        raise DataError(
            f"{data_dir!r} holds the ratings of {len(found)} layouts, {names}: which one "
            "should be read? Keep one layout's files in the folder and move the others."
        )
    for layout in found:
        for name in (layout.ratings_file, layout.movies_file):
            path = _join(data_dir, name)
            if not tf.io.gfile.exists(path):
                raise DataError(
                    f"{data_dir!r} looks like the {layout.name} layout ({layout.ratings_file} "
                    f"found) but {name} is missing."
                )
            if tf.io.gfile.isdir(path):
                raise DataError(f"{path!r} is a folder, not a file.")
            if tf.io.gfile.stat(path).length == 0:
                raise DataError(f"{path!r} is empty.")
        return layout
    expected = "; ".join(f"{lay.name}: {lay.ratings_file} + {lay.movies_file}" for lay in LAYOUTS)
    raise DataError(f"No MovieLens files found in {data_dir!r}. Expected one of: {expected}.")


def _first_line(path: str, limit: int = 1 << 16) -> bytes:
    """The file's first line (without its BOM), for reading a CSV header."""
    with tf.io.gfile.GFile(path, "rb") as handle:
        data, _ = _without_bom(handle.read(limit), "utf-8")
    return data.split(b"\n", 1)[0].rstrip(b"\r")


def header_columns(path: str, expected: tuple[str, ...]) -> tuple[int, ...]:
    """Where each of ``expected`` is among a CSV file's columns, from its header line.

    A header that names the expected columns in another order is read in that order.
    Anything else (other names, or no header at all) is a DataError naming the file and
    the expected columns: a swapped or renamed column must never parse as if in the usual
    order, and a file without a header must not lose its first line as one.
    """
    first = _first_line(path)
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        text = first.decode("latin-1")
    fields = _split(ML_LATEST, text, ",") or []
    names = [field.strip() for field in fields]
    wanted = ",".join(expected)
    lowered = [name.lower() for name in names]
    if sorted(lowered) == sorted(name.lower() for name in expected):
        return tuple(lowered.index(name.lower()) for name in expected)
    if names and all(_decimal(name) is not None for name in names):
        raise DataError(
            f"{path} has no header line: it starts with data ({text[:80]!r}). MovieLens CSV "
            f"files begin with the header {wanted}; add it, naming your columns' order."
        )
    raise DataError(
        f"{path}: the header {text[:120]!r} does not name the expected columns {wanted} "
        "(any order); rename the columns to these names."
    )


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
class RatingRules:
    """What a ratings line must satisfy besides its layout's separators."""

    # Positions in a line of the user id, movie id, rating and timestamp.
    columns: tuple[int, int, int, int] = (0, 1, 2, 3)
    min_timestamp: int = limits.DEFAULT_MIN_TIMESTAMP
    max_timestamp: int = limits.LATEST_TIMESTAMP


DEFAULT_RATING_RULES = RatingRules()


def rating_rules(
    data_dir: str,
    layout: Layout,
    min_timestamp: int = limits.DEFAULT_MIN_TIMESTAMP,
    max_timestamp: int | None = None,
) -> RatingRules:
    """The rules for this data: column order from a CSV header, and the time window
    (``max_timestamp`` None: one day after now). Raises DataError for a bad header."""
    columns = (0, 1, 2, 3)
    if layout.has_header:
        columns = header_columns(_join(data_dir, layout.ratings_file), RATING_COLUMNS)
    if max_timestamp is None:
        max_timestamp = limits.default_max_timestamp()
    return RatingRules(columns, min_timestamp, max_timestamp)


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


def _integer(text: str) -> int | None:
    """A plain decimal integer (no "1_000", no "1e3", no non-ASCII digits), else None."""
    text = text.strip()
    return int(text) if _INTEGER.fullmatch(text) else None


def _decimal(text: str) -> float | None:
    text = text.strip()
    return float(text) if _DECIMAL.fullmatch(text) else None


def _id_reason(value: int) -> Reason | None:
    """Why ``value`` cannot be a user or movie id, or None when it can."""
    if not limits.INT64_MIN <= value <= limits.INT64_MAX:
        return Reason.NOT_INT64
    if value < limits.MIN_RAW_ID:
        return Reason.ID_NOT_POSITIVE
    if value > limits.MAX_RAW_ID:
        return Reason.ID_TOO_LARGE
    return None


def parse_rating(
    layout: Layout, line: str, line_no: int, rules: RatingRules = DEFAULT_RATING_RULES
) -> Rating | Reason:
    """Parses one ratings line; returns the Rating or the reason it was rejected."""
    if reason := _not_data(layout, line, line_no):
        return reason
    fields = _split(layout, line.rstrip("\r\n"), layout.ratings_separator)
    if fields is None:
        return Reason.MALFORMED
    if len(fields) != 4:
        return Reason.WRONG_COLUMN_COUNT
    user_at, movie_at, rating_at, timestamp_at = rules.columns
    user_id, movie_id = _integer(fields[user_at]), _integer(fields[movie_at])
    rating, timestamp = _decimal(fields[rating_at]), _integer(fields[timestamp_at])
    if user_id is None or movie_id is None or rating is None or timestamp is None:
        return Reason.NON_NUMERIC
    if not limits.INT64_MIN <= timestamp <= limits.INT64_MAX:
        return Reason.NOT_INT64
    if reason := _id_reason(user_id) or _id_reason(movie_id):
        return reason
    if not layout.min_rating <= rating <= layout.max_rating:
        return Reason.RATING_OUT_OF_RANGE
    if not rules.min_timestamp <= timestamp <= rules.max_timestamp:
        return Reason.TIMESTAMP_OUT_OF_RANGE
    return Rating(user_id, movie_id, rating, timestamp, line_no)


def rating_keys(
    layout: Layout, line: str, columns: tuple[int, int, int, int]
) -> tuple[int | None, int | None, int | None]:
    """(user id, movie id, timestamp) of a ratings line, each None where the line has none
    (a blank line, a header, a broken field): all that cutting a ratings file by time needs,
    whatever else is wrong with the line (ExampleGen judges the rest when it reads it)."""
    fields = _split(layout, line.rstrip("\r\n"), layout.ratings_separator)
    if not fields or len(fields) != 4:
        return None, None, None
    user_at, movie_at, _, timestamp_at = columns
    return _integer(fields[user_at]), _integer(fields[movie_at]), _integer(fields[timestamp_at])


def year_from_title(title: str) -> int:
    match = _YEAR_IN_TITLE.search(title)
    return int(match.group(1)) if match else 0


def parse_movie(
    layout: Layout, line: str, line_no: int, columns: tuple[int, int, int] = (0, 1, 2)
) -> Movie | Reason:
    """Parses one movie-file record into a Movie (year from the title, else the release
    date). A CSV record may span lines (a quoted title with a line break); ``columns`` are
    the positions of movieId, title and genres in a CSV line."""
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
        fields = [fields[i] for i in columns]
        title = fields[1]
        if "\n" in title:  # a quoted title across lines: one line on the device
            title = " ".join(part.strip() for part in title.splitlines() if part.strip())
        year = year_from_title(title)
        genres = tuple(g for g in fields[2].split("|") if g and g != NO_GENRES)
    movie_id = _integer(fields[0])
    if movie_id is None:
        return Reason.NON_NUMERIC
    if reason := _id_reason(movie_id):
        return reason
    if not limits.MIN_YEAR <= year <= limits.MAX_YEAR:
        return Reason.YEAR_OUT_OF_RANGE
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
    user_id, age_years = _integer(user), _integer(age)
    if user_id is None or age_years is None:
        return Reason.NON_NUMERIC
    if reason := _id_reason(user_id):
        return reason
    if not limits.MIN_AGE <= age_years <= limits.MAX_AGE:
        return Reason.AGE_OUT_OF_RANGE
    if gender not in limits.GENDERS:
        return Reason.UNKNOWN_GENDER
    return User(user_id, gender, age_years, occupation, zip_code[:3])


def read_lines(path: str, encoding: str) -> Iterator[tuple[int, str]]:
    """Yields (1-based line number, text) for a whole small file."""
    with tf.io.gfile.GFile(path, "rb") as handle:
        data, encodings = _without_bom(handle.read(), encoding)
    yield from enumerate(_decode_lines(data, encodings), start=1)


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
                block, encodings = _without_bom(block, encoding)
                first = False
            *lines, rest = (rest + block).split(b"\n")
            if len(rest) > max_line_bytes:
                lines.append(rest)
                rest = b""
            for raw in lines:
                line_no += 1
                yield line_no, _decode_line(raw, encodings)
        if rest:
            yield line_no + 1, _decode_line(rest, encodings)


def _without_bom(data: bytes, encoding: str) -> tuple[bytes, tuple[str, ...]]:
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


def _decode_lines(data: bytes, encodings: tuple[str, ...]) -> list[str]:
    # Decoding per line keeps one undecodable line from failing the whole block.
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [_decode_line(raw, encodings) for raw in lines]


def _decode_line(raw: bytes, encodings: tuple[str, ...]) -> str:
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return UNDECODABLE_LINE


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


def _parse_table(
    path: str, encoding: str, parse: Callable, layout: Layout, key: Callable
) -> tuple[dict, FileReport]:
    report = FileReport(file=path)
    table: dict = {}
    for record in records(read_lines(path, encoding), quoted=layout is ML_LATEST):
        line_no, line = record.line_no, record.text
        report.lines += 1 + len(record.continued)
        for offset, continued in enumerate(record.continued, start=1):
            report.reject(Rejection(path, line_no + offset, Reason.CONTINUATION, continued))
        outcome = parse(layout, line, line_no)
        if isinstance(outcome, Reason):
            report.reject(Rejection(path, line_no, outcome, line))
        elif key(outcome) in table:
            report.reject(Rejection(path, line_no, Reason.DUPLICATE, line))
        else:
            table[key(outcome)] = outcome
            report.accepted += 1
    return table, report


def read_movies(data_dir: str, layout: Layout) -> tuple[dict[int, Movie], FileReport]:
    """Reads the movie file: {movie_id: Movie} and its report (first duplicate id wins).

    Raises DataError when a CSV movie file's header does not name its columns."""
    path = _join(data_dir, layout.movies_file)
    columns = header_columns(path, MOVIE_COLUMNS) if layout.has_header else (0, 1, 2)

    def parse(layout: Layout, line: str, line_no: int) -> Movie | Reason:
        return parse_movie(layout, line, line_no, columns)

    return _parse_table(path, layout.movies_encoding, parse, layout, lambda m: m.movie_id)


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
    data, encodings = _without_bom(data, encoding) if chunk.start == 0 else (data, (encoding,))
    return enumerate(_decode_lines(data, encodings), start=chunk.first_line_no)
