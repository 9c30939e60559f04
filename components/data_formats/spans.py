"""MovieLens data in spans: one folder per period of rating time, as new ratings arrive.

A spans folder holds ``span-0001/``, ``span-0002/``, ... (TFX's ``{SPAN}`` numbers, from 1,
without gaps), each a complete MovieLens layout: the ratings of one period, and the movies
and users files as known at the end of it. A production feed appends a folder per day,
week or month; :func:`split_spans` cuts any existing data set the same way, for
simulations, tests and benchmarks.

Reading spans (components.example_gen): the pipeline's input pattern is ``SPAN_PATTERN``
and TFX's own driver resolves which span a run is for (the latest, or a RangeConfig's);
ExampleGen then reads that span's folder and every earlier one, so that a user's history
continues across spans. A rating's place in that joint order is ``order_key``: its span,
then its line in the span's file (ties in time keep file order, as in one file).

No TensorFlow at import time beyond ``tf.io.gfile`` (spans may live on GCS).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
import json
import os
import re
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from components.data_formats import limits
from components.data_formats.movielens import layouts, readers, validation

SPAN_PREFIX = "span-"
SPAN_WIDTH = 4  # span-0001 .. span-9999
# The input pattern of ExampleGen's single input split: TFX resolves {SPAN:4} to the span
# of a run (zero-padded to the folder names' width) and fingerprints that folder's files.
SPAN_PATTERN = SPAN_PREFIX + "{SPAN:" + str(SPAN_WIDTH) + "}/*"
MANIFEST_FILE = "spans.json"
_FOLDER = re.compile("^" + re.escape(SPAN_PREFIX) + r"(\d{" + str(SPAN_WIDTH) + "})$")
# Order key of a rating read from spans: span * ORDER_STRIDE + its line in the span's file.
ORDER_STRIDE = 10**9
UNITS = ("day", "week", "month")
_RATINGS_PERIOD = re.compile(r"^(\d+)-ratings$")
_NO_TIME = np.iinfo(np.int64).min
_FLUSH_BYTES = 4 << 20


class SpanError(layouts.DataError):
    """Span folders that cannot be read as a sequence (none, a gap, an empty span)."""


@dataclasses.dataclass(frozen=True)
class Span:
    number: int
    folder: str


def folder_name(number: int) -> str:
    return f"{SPAN_PREFIX}{number:0{SPAN_WIDTH}d}"


def order_key(span: int, line_no: int) -> int:
    """A rating's place among the ratings of several spans: by span, then by line."""
    return span * ORDER_STRIDE + line_no


def span_of(order: int) -> int:
    """The span of a rating from its order key (``order_key``)."""
    return order // ORDER_STRIDE


def list_spans(data_dir: str) -> list[Span]:
    """The span folders directly under ``data_dir``, by number (none: not a spans folder)."""
    if not tf.io.gfile.isdir(data_dir):
        return []
    found = []
    for name in tf.io.gfile.listdir(data_dir):
        match = _FOLDER.match(name.rstrip("/"))
        path = data_dir.rstrip("/") + "/" + name.rstrip("/")
        if match and tf.io.gfile.isdir(path):
            found.append(Span(int(match.group(1)), path))
    return sorted(found, key=lambda span: span.number)


def has_spans(data_dir: str) -> bool:
    return bool(list_spans(data_dir))


def check_sequence(data_dir: str, spans: list[Span]) -> None:
    """Raises SpanError unless the spans are numbered 1..N without a gap: a missing span
    would silently cut every later user history short."""
    if not spans:
        raise SpanError(
            f"{data_dir!r} holds no span folders ({folder_name(1)}, {folder_name(2)}, ...): "
            "cut a data set into spans with python -m commands.data split-spans"
        )
    numbers = [span.number for span in spans]
    expected = list(range(1, numbers[-1] + 1))
    if numbers != expected:
        missing = sorted(set(expected) - set(numbers))
        raise SpanError(
            f"{data_dir!r}: {folder_name(missing[0])} is missing (spans must run from "
            f"{folder_name(1)} without gaps; found {len(numbers)} of {numbers[-1]})"
        )


def catalogue_dir(data_dir: str) -> str:
    """The folder whose movies file names every movie known so far: the latest span's for
    a spans folder, else ``data_dir`` itself (for the push's title table)."""
    spans = list_spans(data_dir)
    return spans[-1].folder if spans else data_dir


def read_manifest(out_dir: str) -> dict:
    with tf.io.gfile.GFile(os.path.join(out_dir, MANIFEST_FILE)) as handle:
        return json.load(handle)


# --------------------------------------------------------------------------- cutting


@dataclasses.dataclass(frozen=True)
class Period:
    """How long a span is: one day, week or month of rating time, or N ratings."""

    unit: str  # day | week | month | ratings
    ratings: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        if text in UNITS:
            return cls(text)
        match = _RATINGS_PERIOD.match(text)
        if match and int(match.group(1)) > 0:
            return cls("ratings", int(match.group(1)))
        raise ValueError(
            f"--period {text!r}: give day, week, month or N-ratings (e.g. 5000-ratings)"
        )

    def __str__(self) -> str:
        return f"{self.ratings}-ratings" if self.unit == "ratings" else self.unit


def _utc(timestamp: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)


def _add_months(moment: datetime.datetime, months: int) -> datetime.datetime:
    """``moment`` plus whole months, the day clamped to the month's length (31 -> 28)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_start(timestamp: int, unit: str) -> int:
    """The start (UTC) of the day, ISO week (Monday) or month that holds ``timestamp``."""
    moment = _utc(timestamp).replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        moment -= datetime.timedelta(days=moment.weekday())
    elif unit == "month":
        moment = moment.replace(day=1)
    return int(moment.timestamp())


def period_boundaries(start: int, unit: str, last: int) -> list[int]:
    """``start`` and the start of every later period up to the first one after ``last``."""
    anchor = _utc(start)
    boundaries, step = [start], 0
    while boundaries[-1] <= last:
        step += 1
        if unit == "month":
            moment = _add_months(anchor, step)
        else:
            moment = anchor + datetime.timedelta(days=step * (7 if unit == "week" else 1))
        boundaries.append(int(moment.timestamp()))
    return boundaries


def start_at_fraction(timestamps: np.ndarray, fraction: float) -> int:
    """The UTC midnight that starts the day of the rating at the ``fraction`` quantile of
    time: the first span then holds about that share of the ratings (a little less)."""
    if not 0 < fraction < 1:
        raise ValueError(f"--first-fraction must be between 0 and 1, got {fraction}")
    ordered = np.sort(timestamps)
    at = int(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))])
    return period_start(at, "day")


def _ratings_cuts(timestamps: np.ndarray, start: int | None, per_span: int) -> list[int]:
    """Span boundaries (timestamps) for spans of about ``per_span`` ratings each, after the
    ratings before ``start``. A boundary is a rating's second, and a span holds the times
    before it: ratings of one second are never cut apart."""
    ordered = np.sort(timestamps)
    cuts = [] if start is None else [start]
    begin = 0 if start is None else int(np.searchsorted(ordered, start, "left"))
    while begin + per_span < len(ordered):
        cut = int(ordered[begin + per_span])
        if cuts and cut <= cuts[-1]:  # more than per_span ratings share one second
            after = int(np.searchsorted(ordered, cuts[-1], "right"))
            if after >= len(ordered):
                break
            cut = int(ordered[after])
        cuts.append(cut)
        begin = int(np.searchsorted(ordered, cut, "left"))
    return cuts


def _raw_spans(
    timestamps: np.ndarray, period: Period, start: int | None
) -> tuple[np.ndarray, list[int]]:
    """Per rating line, the index of the period that holds it (before numbering spans), and
    the periods' boundaries: period i holds the times in [boundaries[i - 1], boundaries[i]),
    period 0 everything before the first boundary; a line without a time gets -1."""
    valid = timestamps != _NO_TIME
    times = timestamps[valid]
    if period.unit == "ratings":
        boundaries = _ratings_cuts(times, start, period.ratings)
    else:
        first = start if start is not None else period_start(int(times.min()), period.unit)
        boundaries = period_boundaries(first, period.unit, int(times.max()))
    index = np.full(len(timestamps), -1, np.int64)
    index[valid] = np.searchsorted(np.asarray(boundaries, np.int64), times, "right")
    return index, boundaries


def _number_spans(raw: np.ndarray) -> np.ndarray:
    """Consecutive span numbers from 1 over the periods that hold ratings (an empty
    period makes no span); a line without a time joins its neighbour in the file."""
    used = np.unique(raw[raw >= 0])
    numbers = np.full(len(raw), 0, np.int64)
    numbers[raw >= 0] = np.searchsorted(used, raw[raw >= 0]) + 1
    # Forward-fill, then back-fill the leading lines, in file order.
    filled = np.maximum.accumulate(np.where(numbers > 0, np.arange(len(raw)), -1))
    first = int(np.argmax(numbers > 0)) if (numbers > 0).any() else 0
    numbers = np.where(filled >= 0, numbers[np.maximum(filled, 0)], numbers[first])
    return numbers


@dataclasses.dataclass
class _Ratings:
    """The ratings file, line by line: raw bytes are re-read when writing."""

    header: bytes | None
    timestamps: np.ndarray  # _NO_TIME where a line has none
    users: np.ndarray  # -1 where a line has none
    movies: np.ndarray


def _raw_lines(path: str) -> Iterator[bytes]:
    """The file's lines as bytes (without "\\n"; a UTF-8 byte-order mark dropped)."""
    with tf.io.gfile.GFile(path, "rb") as handle:
        rest, first = b"", True
        while block := handle.read(1 << 20):
            if first and block.startswith(readers.UTF8_BOM):
                block = block[len(readers.UTF8_BOM) :]
            first = False
            *lines, rest = (rest + block).split(b"\n")
            yield from lines
        if rest:
            yield rest


def _read_ratings(path: str, layout: layouts.Layout, columns) -> _Ratings:
    header = None
    timestamps, users, movies = [], [], []
    for line_no, raw in enumerate(_raw_lines(path), start=1):
        if layout.has_header and line_no == 1:
            header = raw
            continue
        user, movie, timestamp = validation.rating_keys(
            layout, raw.decode("utf-8", "replace"), columns
        )
        if timestamp is None or not limits.INT64_MIN < timestamp <= limits.INT64_MAX:
            timestamp = _NO_TIME
        timestamps.append(timestamp)
        users.append(-1 if user is None else user)
        movies.append(-1 if movie is None else movie)
    return _Ratings(
        header,
        np.array(timestamps, np.int64),
        np.array(users, np.int64),
        np.array(movies, np.int64),
    )


def _first_span(keys: np.ndarray, numbers: np.ndarray) -> dict[int, int]:
    """Per id (user or movie), the span of its first rating."""
    first: dict[int, int] = {}
    order = np.lexsort((numbers, keys))
    for key, number in zip(keys[order], numbers[order], strict=True):
        if key >= 0 and key not in first:
            first[int(key)] = int(number)
    return first


def _table_lines(
    path: str, layout: layouts.Layout, encoding: str, parse, key
) -> list[tuple[int | None, bytes]]:
    """(id or None, raw bytes of its lines) per record of a movies or users file; a CSV
    record that spans lines keeps them together. None: the header, or a line no id comes
    from (it goes into every span, where ExampleGen counts it as it would in one file)."""
    raw = list(_raw_lines(path))
    decoded = list(enumerate((r.decode(encoding, "replace") for r in raw), start=1))
    records = []
    for record in readers.records(decoded, quoted=layout is layouts.ML_LATEST):
        count = 1 + len(record.continued)
        lines = b"\n".join(raw[record.line_no - 1 : record.line_no - 1 + count])
        outcome = parse(layout, record.text, record.line_no)
        records.append((None if isinstance(outcome, validation.Reason) else key(outcome), lines))
    return records


@dataclasses.dataclass
class _Writer:
    """Appends lines to span files, buffered, with one file open at a time."""

    paths: dict[int, str]
    pending: dict[int, list[bytes]] = dataclasses.field(default_factory=dict)
    size: int = 0

    def add(self, span: int, line: bytes) -> None:
        self.pending.setdefault(span, []).append(line)
        self.size += len(line) + 1
        if self.size > _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        for span, lines in self.pending.items():
            with tf.io.gfile.GFile(self.paths[span], "ab") as handle:
                handle.write(b"\n".join(lines) + b"\n")
        self.pending, self.size = {}, 0


def _write_table(
    records: list[tuple[int | None, bytes]],
    first: dict[int, int],
    spans: range,
    path_of,
) -> dict[int, int]:
    """Writes each span's copy of a movies or users file: the records known by its end (an
    id never rated is known from the first span on). Returns each span's record count."""
    counts = {}
    for span in spans:
        kept = [lines for key, lines in records if key is None or first.get(key, 1) <= span]
        with tf.io.gfile.GFile(path_of(span), "wb") as handle:
            handle.write(b"\n".join(kept) + b"\n")
        counts[span] = sum(1 for key, _ in records if key is not None and first.get(key, 1) <= span)
    return counts


def _check_out_dir(out_dir: str) -> None:
    if tf.io.gfile.exists(out_dir) and (
        not tf.io.gfile.isdir(out_dir) or tf.io.gfile.listdir(out_dir)
    ):
        raise ValueError(f"--out {out_dir!r} exists and is not an empty folder: choose a new one")


def split_spans(
    data_dir: str,
    out_dir: str,
    period: Period,
    start: int | None = None,
    first_fraction: float | None = None,
) -> dict:
    """Cuts a MovieLens data set by rating time into ``out_dir/span-NNNN/`` folders.

    Span 1 holds every rating before ``start`` (or before the day after the
    ``first_fraction`` quantile of time) when one is given, else the first period; each
    later span one period (day, week or month from the start, or ``period.ratings``
    ratings, never cutting through one second). Periods without ratings make no span, so
    the numbers have no gaps. Every ratings line lands in exactly one span, in file order
    (a line without a readable time goes with the line before it); the header of a CSV
    file heads each span's copy. Movies and users are in a span's files from the span of
    their first rating on (never rated: from span 1). Writes ``spans.json`` (each span's
    time range and counts) and returns it.
    """
    if start is not None and first_fraction is not None:
        raise ValueError("give --start or --first-fraction, not both")
    layout = layouts.detect_layout(data_dir)
    columns = validation.rating_rules(data_dir, layout).columns
    files = layouts.input_files(data_dir, layout)
    _check_out_dir(out_dir)
    ratings = _read_ratings(files["ratings"], layout, columns)
    valid = ratings.timestamps != _NO_TIME
    if not valid.any():
        raise layouts.DataError(f"{files['ratings']} holds no rating with a readable time")
    if first_fraction is not None:
        start = start_at_fraction(ratings.timestamps[valid], first_fraction)
    raw, boundaries = _raw_spans(ratings.timestamps, period, start)
    numbers = _number_spans(raw)
    count = int(numbers.max())
    if count > 10**SPAN_WIDTH - 1:
        raise ValueError(f"{count} spans: at most {10**SPAN_WIDTH - 1}; choose a longer --period")
    folders = {n: os.path.join(out_dir, folder_name(n)) for n in range(1, count + 1)}
    for folder in folders.values():
        tf.io.gfile.makedirs(folder)
    ratings_paths = {n: os.path.join(f, layout.ratings_file) for n, f in folders.items()}
    writer = _Writer(ratings_paths)
    if ratings.header is not None:
        for n in folders:
            writer.add(n, ratings.header)
    data_lines = iter(_raw_lines(files["ratings"]))
    if ratings.header is not None:
        next(data_lines)
    for number, line in zip(numbers, data_lines, strict=True):
        writer.add(int(number), line)
    writer.flush()

    spans = range(1, count + 1)
    movie_counts = _write_table(
        _table_lines(
            files["movies"],
            layout,
            layout.movies_encoding,
            validation.parse_movie,
            lambda m: m.movie_id,
        ),
        _first_span(ratings.movies, numbers),
        spans,
        lambda n: os.path.join(folders[n], layout.movies_file),
    )
    user_counts = {}
    if "users" in files:
        user_counts = _write_table(
            _table_lines(
                files["users"], layout, "latin-1", validation.parse_user, lambda u: u.user_id
            ),
            _first_span(ratings.users, numbers),
            spans,
            lambda n: os.path.join(folders[n], layout.users_file),
        )
    manifest = _manifest(data_dir, layout, period, start, ratings, raw, numbers, boundaries)
    for entry in manifest["spans"]:
        entry["movies"] = movie_counts[entry["span"]]
        entry["users"] = user_counts.get(entry["span"])
    with tf.io.gfile.GFile(os.path.join(out_dir, MANIFEST_FILE), "w") as handle:
        json.dump(manifest, handle, indent=1)
    return manifest


def _manifest(data_dir, layout, period, start, ratings, raw, numbers, boundaries) -> dict:
    """Each span's folder, time range [begin, end) and line counts; the totals reconcile."""
    spans = []
    valid = ratings.timestamps != _NO_TIME
    for number in range(1, int(numbers.max()) + 1):
        mine = numbers == number
        periods = np.unique(raw[mine & valid])
        times = ratings.timestamps[mine & valid]
        begin = boundaries[periods[0] - 1] if periods[0] > 0 else None
        end = boundaries[periods[0]] if periods[0] < len(boundaries) else int(times.max()) + 1
        spans.append(
            {
                "span": number,
                "folder": folder_name(number),
                "begin": begin,
                "end": end,
                "begin_utc": limits.iso_date(begin) if begin is not None else None,
                "end_utc": limits.iso_date(end),
                "first_rating_utc": limits.iso_date(int(times.min())),
                "last_rating_utc": limits.iso_date(int(times.max())),
                "lines": int(mine.sum()),
                "ratings_with_time": int((mine & valid).sum()),
            }
        )
    return {
        "source": data_dir,
        "layout": layout.name,
        "period": str(period),
        "start": start,
        "start_utc": limits.iso_date(start) if start is not None else None,
        "rating_lines": len(numbers),
        "lines_without_time": int((~valid).sum()),
        "header_lines": int(ratings.header is not None),
        "spans": spans,
    }
