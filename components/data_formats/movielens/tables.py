"""The movie and user tables (small files, read whole), with the report of every line's
outcome (FileReport)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from components.data_formats.movielens.layouts import ML_LATEST, Layout, file_path
from components.data_formats.movielens.readers import read_lines, records
from components.data_formats.movielens.validation import (
    INVALID_REASONS,
    MOVIE_COLUMNS,
    SKIPPED_REASONS,
    Movie,
    Reason,
    Rejection,
    User,
    count_reasons,
    header_columns,
    parse_movie,
    parse_user,
)


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
    path = file_path(data_dir, layout.movies_file)
    columns = header_columns(path, MOVIE_COLUMNS) if layout.has_header else (0, 1, 2)

    def parse(layout: Layout, line: str, line_no: int) -> Movie | Reason:
        return parse_movie(layout, line, line_no, columns)

    return _parse_table(path, layout.movies_encoding, parse, layout, lambda m: m.movie_id)


def read_users(data_dir: str, layout: Layout) -> tuple[dict[int, User], FileReport | None]:
    """Reads the users file when the layout has one and it is present."""
    if layout.users_file is None or not tf.io.gfile.exists(file_path(data_dir, layout.users_file)):
        return {}, None
    path = file_path(data_dir, layout.users_file)
    return _parse_table(path, "latin-1", parse_user, layout, lambda u: u.user_id)
