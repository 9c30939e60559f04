"""What one MovieLensExampleGen run reads: the data folder's files, or for span data the
held-out span's and every earlier span's; and how lineage names each file read."""

from __future__ import annotations

import dataclasses
from typing import Any

from components.data_formats import spans
from components.data_formats.movielens import layouts, readers
from components.example_gen.settings import IngestSettings


@dataclasses.dataclass(frozen=True)
class Source:
    """What one ExampleGen run reads: the folder with the movies and users files (the data
    folder, or the held-out span's), and the ratings files with their order offsets."""

    catalogue_dir: str
    ratings: list[tuple[str, int]]  # (path, order offset)
    # Span data only: the held-out span and the first span that gives examples.
    held_out_span: int | None = None
    first_example_span: int | None = None

    @property
    def cutoffs(self) -> tuple[int, int]:
        return (self.first_example_span, self.held_out_span)


def plan_source(data_dir: str, settings: IngestSettings, span: int | None) -> Source:
    """The files of a run; for span data, those of span ``span`` (TFX's driver resolved it
    from the input pattern and the RangeConfig) and of every earlier span, whose ratings
    are history. Raises DataError for spans that cannot be read as a sequence."""
    if not settings.spans:
        layout = layouts.detect_layout(data_dir)
        return Source(data_dir, [(data_dir.rstrip("/") + "/" + layout.ratings_file, 0)])
    found = spans.list_spans(data_dir)
    spans.check_sequence(data_dir, found)
    if span is None or not 1 <= span <= found[-1].number:
        raise layouts.DataError(
            f"span {span} is not among the spans of {data_dir!r} (1..{found[-1].number})"
        )
    if span < 2:
        raise layouts.DataError(
            f"span {span} is the first span: a run holds out its span's ratings and trains on "
            "the spans before it, so the first run is for span 2"
        )
    read = found[:span]
    layout = layouts.detect_layout(read[-1].folder)
    ratings = []
    for earlier in read:
        if layouts.detect_layout(earlier.folder) != layout:
            raise spans.SpanError(
                f"{earlier.folder!r} is not in the {layout.name} layout of span {span}: "
                "every span must have the same layout"
            )
        path = earlier.folder.rstrip("/") + "/" + layout.ratings_file
        ratings.append((path, spans.order_key(earlier.number, 0)))
    first = max(1, span - settings.span_window + 1) if settings.span_window else 1
    return Source(read[-1].folder, ratings, span, first)


def ratings_description(data_dir: str, source: Source) -> str:
    """The ratings file, or for spans the range of span files a run read."""
    if source.held_out_span is None:
        return source.ratings[0][0]
    name = source.ratings[-1][0].rsplit("/", 1)[-1]
    first, last = spans.folder_name(1), spans.folder_name(source.held_out_span)
    return f"{data_dir.rstrip('/')}/{{{first}..{last}}}/{name}"


def input_files(source: Source, layout: layouts.Layout) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of each file read, by role: what lineage traces a model back to.
    For spans, "ratings" is the held-out span's file and ``ratings_span_NNNN`` the others."""
    files = layouts.input_files(source.catalogue_dir, layout)
    for path, offset in source.ratings[:-1]:
        files[f"ratings_span_{spans.span_of(offset):0{spans.SPAN_WIDTH}d}"] = path
    return {role: dataclasses.asdict(readers.digest(path)) for role, path in files.items()}


def spans_context(source: Source) -> dict[str, Any] | None:
    if source.held_out_span is None:
        return None
    return {
        "held_out_span": source.held_out_span,
        "first_example_span": source.first_example_span,
        "spans_read": [spans.span_of(offset) for _, offset in source.ratings],
    }
