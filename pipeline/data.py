"""Data tooling: download official MovieLens archives or write synthetic MovieLens files.

python -m pipeline.data download ml-1m [--data-root data/movielens]
python -m pipeline.data synthesize --layout ml-1m --out DIR [--users N] [--movies M]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from components.data_formats import download, synthetic
from pipeline import cli_errors

# A failed or unverifiable download, bad settings, an unwritable or full destination.
EXPECTED = (download.DownloadError, download.VerificationError, ValueError, OSError)


def _download(args: argparse.Namespace) -> int:
    folder = download.download(args.name, args.data_root)
    print(f"{args.name} is ready in {folder}")
    print(f"Run the pipeline on it: python -m pipeline.local_runner --data-dir {folder}")
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    spec = synthetic.SyntheticSpec(
        num_users=args.users,
        num_movies=args.movies,
        mean_ratings_per_user=args.mean_ratings,
        seed=args.seed,
        bad_lines=args.bad_lines,
    )
    summary = synthetic.write_movielens(args.out, args.layout, spec)
    counts = {k: v for k, v in dataclasses.asdict(summary).items() if isinstance(v, int)}
    print(f"Wrote {args.layout} files to {args.out}: {counts}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("download", help="download and verify an official archive")
    fetch.add_argument("name", help=", ".join(download.DATASETS))
    fetch.add_argument("--data-root", default=download.DEFAULT_DATA_ROOT)
    fetch.set_defaults(run=_download)
    synth = commands.add_parser("synthesize", help="write synthetic MovieLens-format files")
    synth.add_argument("--layout", default="ml-1m", help="ml-1m, ml-100k or ml-latest")
    synth.add_argument("--out", required=True)
    synth.add_argument("--users", type=int, default=6040)
    synth.add_argument("--movies", type=int, default=3700)
    synth.add_argument("--mean-ratings", type=float, default=165.0)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--bad-lines", type=int, default=0)
    synth.set_defaults(run=_synthesize)
    for command in (fetch, synth):
        cli_errors.add_debug_flag(command)
    args = parser.parse_args(argv)
    return cli_errors.guarded(lambda: args.run(args), debug=args.debug, expected=EXPECTED)


if __name__ == "__main__":
    sys.exit(main())
