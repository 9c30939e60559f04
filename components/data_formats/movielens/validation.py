"""Every MovieLens line's outcome: a parsed record (Rating, Movie, User) or the Reason it was
rejected, so the counts of a run always reconcile (lines in = accepted + rejected by
reason). Values are checked against ``limits`` (ids, timestamps, years, ages) here, as they
are read, so that no later stage meets a value it cannot handle. CSV headers are read, not
skipped: columns are found by name, and a header that does not name the expected columns
is an error."""

from __future__ import annotations

import csv
import dataclasses
import enum
import re
from typing import NamedTuple

from components.data_formats import limits
from components.data_formats.movielens.layouts import (
    ML_1M,
    ML_100K,
    ML_LATEST,
    DataError,
    Layout,
    file_path,
)
from components.data_formats.movielens.readers import UNDECODABLE_LINE, first_line


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


def count_reasons(rejected: dict[str, int], reasons: frozenset[Reason]) -> int:
    """How many of the rejected lines (reason name -> count) have one of ``reasons``."""
    return sum(n for reason, n in rejected.items() if Reason(reason) in reasons)


ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
NO_GENRES = "(no genres listed)"
_YEAR_IN_TITLE = re.compile(r"\((\d{4})(?:[-\u2013]\d{0,4})?\)\s*$")
_YEAR_IN_DATE = re.compile(r"(\d{4})\s*$")
# The columns of the CSV layout's files, as their header lines name them (any order).
RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")
MOVIE_COLUMNS = ("movieId", "title", "genres")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)",
    re.IGNORECASE,
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
        columns = header_columns(file_path(data_dir, layout.ratings_file), RATING_COLUMNS)
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


def header_columns(path: str, expected: tuple[str, ...]) -> tuple[int, ...]:
    """Where each of ``expected`` is among a CSV file's columns, from its header line.

    A header that names the expected columns in another order is read in that order.
    Anything else (other names, or no header at all) is a DataError naming the file and
    the expected columns: a swapped or renamed column must never parse as if in the usual
    order, and a file without a header must not lose its first line as one.
    """
    first = first_line(path)
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
