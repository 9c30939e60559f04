"""Recommends movies with a pushed TFLite model on the standalone LiteRT interpreter.

    python -m commands.recommend --model outputs --history 1,2,3 [--k 10] [--include-seen]
    python -m commands.recommend --model PATH --histories FILE [--json]

``--model`` is a .tflite file, a pushed version folder, or an output folder (its latest
pushed model). Histories are comma-separated raw movie ids, oldest first. Movies already in
the history are left out unless ``--include-seen``. Inputs the model has besides the movie
ids are derived from the movies where possible (genres, years) and left empty otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

# No TensorFlow here: this is what a device runs.
from components.export.on_device_model import Recommender, RecommendError, print_text
from pipeline import cli_errors, paths


def parse_history(text: str) -> list[int]:
    try:
        history = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        history = None
    if history is None or any(m < 1 for m in history):
        raise RecommendError(
            f"A history is comma-separated positive movie ids, oldest first; got {text!r}"
        )
    return history


def _read_histories(path: str) -> list[tuple[int, str]]:
    """(line number, text) of each non-blank line of a UTF-8 histories file."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_no = data.count(b"\n", 0, error.start) + 1
        raise RecommendError(f"{path} is not UTF-8 text (line {line_no}).") from None
    return [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=paths.OUTPUT_DIR)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--history", help="comma-separated movie ids, oldest first")
    source.add_argument("--histories", help="file with one history per line")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--include-seen", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    cli_errors.add_debug_flag(parser)
    args = parser.parse_args(argv)
    try:
        recommender = Recommender(args.model)
        history = args.history
        lines = [(0, history)] if history is not None else _read_histories(args.histories)
    except (RecommendError, OSError) as error:
        return cli_errors.fail(error, args.debug)
    failures = 0
    for line_no, text in lines:
        try:
            result = recommender.recommend(parse_history(text.strip()), args.k, args.include_seen)
        except RecommendError as error:
            where = f"line {line_no}: " if line_no else ""
            print(f"error: {where}{error}", file=sys.stderr)
            failures += 1
            continue
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print_text(recommender, result)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
