"""Data tooling: download official MovieLens archives or write synthetic MovieLens files.

python -m commands.data download ml-1m [--data-root data/movielens]
python -m commands.data synthesize --layout ml-1m --out DIR [--users N] [--movies M]
python -m commands.data synthesize --like ml-25m [--scale F] --out DIR   (ml-1m, ml-20m, ml-32m)
python -m commands.data split-spans --data-dir DIR --out SPANS --period day|week|month|N-ratings
    [--start TIME | --first-fraction F]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from components.data_formats import download, limits, spans, synthetic
from pipeline import cli_errors

# synthesize without --like: about ML-1M's size.
DEFAULT_USERS, DEFAULT_MOVIES, DEFAULT_MEAN_RATINGS = 6040, 3700, 165.0
# A failed or unverifiable download, bad settings or data, an unwritable or full destination.
EXPECTED = (download.DownloadError, download.VerificationError, ValueError, OSError)


def _download(args: argparse.Namespace) -> int:
    folder = download.download(args.name, args.data_root)
    print(f"{args.name} is ready in {folder}")
    print(f"Run the pipeline on it: python -m pipeline.local_runner --data-dir {folder}")
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    if args.like:
        sized = [f"--{name}" for name in ("users", "movies", "mean_ratings") if getattr(args, name)]
        if sized or args.layout:
            given = ", ".join([*sized, *(["--layout"] if args.layout else [])])
            raise ValueError(
                f"--like {args.like} sets the layout and size: leave out {given} (use --scale)"
            )
        spec = synthetic.spec_like(args.like, args.scale, args.seed, args.bad_lines)
        layout = synthetic.RELEASES[args.like].layout
    else:
        if args.scale != 1:
            raise ValueError("--scale applies to --like (a release's shape)")
        spec = synthetic.SyntheticSpec(
            num_users=args.users or DEFAULT_USERS,
            num_movies=args.movies or DEFAULT_MOVIES,
            mean_ratings_per_user=args.mean_ratings or DEFAULT_MEAN_RATINGS,
            seed=args.seed,
            bad_lines=args.bad_lines,
        )
        layout = args.layout or "ml-1m"
    summary = synthetic.write_movielens(args.out, layout, spec)
    counts = {k: v for k, v in dataclasses.asdict(summary).items() if isinstance(v, int)}
    shape = f" shaped like {args.like} at scale {args.scale:g}" if args.like else ""
    print(f"Wrote {layout} files{shape} to {args.out}: {counts}")
    return 0


def _split_spans(args: argparse.Namespace) -> int:
    manifest = spans.split_spans(
        args.data_dir,
        args.out,
        spans.Period.parse(args.period),
        start=args.start,
        first_fraction=args.first_fraction,
    )
    entries = manifest["spans"]
    total = sum(entry["lines"] for entry in entries)
    print(f"Wrote {len(entries)} spans ({args.period}) of {total} rating lines to {args.out}:")
    shown = entries if len(entries) <= 8 else [*entries[:4], None, *entries[-3:]]
    for entry in shown:
        if entry is None:
            print("  ...")
            continue
        begin = entry["begin_utc"] or "start"
        print(
            f"  {entry['folder']}: {entry['lines']:>9,} ratings, {begin} .. {entry['end_utc']}"
            f" ({entry['movies']} movies known)"
        )
    print(f"Manifest: {args.out}/{spans.MANIFEST_FILE}")
    print(f"Run the pipeline on its spans: python -m pipeline.local_runner --data-dir {args.out}")
    return 0


def _time(text: str) -> int:
    try:
        return limits.parse_time(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("download", help="download and verify an official archive")
    fetch.add_argument("name", help=", ".join(download.DATASETS))
    fetch.add_argument("--data-root", default=download.DEFAULT_DATA_ROOT)
    fetch.set_defaults(run=_download)
    synth = commands.add_parser("synthesize", help="write synthetic MovieLens-format files")
    synth.add_argument("--layout", help="ml-1m (default), ml-100k or ml-latest")
    synth.add_argument("--out", required=True)
    synth.add_argument(
        "--like",
        choices=sorted(synthetic.RELEASES),
        help="a MovieLens release's shape: its layout, users, catalogue, id range, time span "
        "and heavy tails (ml-25m: 25M ratings)",
    )
    synth.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="with --like: keep this fraction of the users (about as much of the ratings); "
        "the catalogue is what they rated",
    )
    synth.add_argument("--users", type=int, help=f"default {DEFAULT_USERS}")
    synth.add_argument("--movies", type=int, help=f"default {DEFAULT_MOVIES}")
    synth.add_argument("--mean-ratings", type=float, help=f"default {DEFAULT_MEAN_RATINGS:g}")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--bad-lines", type=int, default=0)
    synth.set_defaults(run=_synthesize)
    cut = commands.add_parser(
        "split-spans", help="cut a data set by rating time into span folders (span-0001, ...)"
    )
    cut.add_argument("--data-dir", required=True, help="any MovieLens layout")
    cut.add_argument("--out", required=True, help="a new folder for span-0001/, span-0002/, ...")
    cut.add_argument(
        "--period", default="month", help="day, week, month or N-ratings (default month)"
    )
    first = cut.add_mutually_exclusive_group()
    first.add_argument(
        "--start",
        type=_time,
        metavar="TIME",
        help="span 1 holds every rating before this (a date, ISO time or Unix seconds); "
        "periods count from it",
    )
    first.add_argument(
        "--first-fraction",
        type=float,
        metavar="F",
        help="start at the day of the F quantile of rating time (span 1 holds about F "
        "of the ratings)",
    )
    cut.set_defaults(run=_split_spans)
    for command in (fetch, synth, cut):
        cli_errors.add_debug_flag(command)
    args = parser.parse_args(argv)
    return cli_errors.guarded(lambda: args.run(args), debug=args.debug, expected=EXPECTED)


if __name__ == "__main__":
    sys.exit(main())
