"""The pushed model versions, and which one apps use (the serving pointer).

    python -m commands.models list [--format json]
    python -m commands.models show [VERSION|current]
    python -m commands.models promote VERSION [--keep-versions N]
    python -m commands.models rollback [--keep-versions N]
    python -m commands.models prune --keep-versions N

``--output-dir`` (default ``outputs/``) is a run's output folder; ``--model-dir`` names the
pushed versions' folder itself (default ``OUTPUT/serving_models``). ``promote`` points apps
at a version, ``rollback`` at the one the pointer named before; both replace the pointer
atomically, hold the output folder's run lock (``--wait`` queues behind a live run), and
record who moved it and when in ML Metadata (an execution of type
``movie_recs.ServingPointerMove``). ``--keep-versions N`` deletes all but the newest N
versions, never the one the pointer names. Every expected failure is one ``error:`` line,
exit code 2.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import socket
import sys
from typing import Any

from ml_metadata import errors as mlmd_errors

from components.export import serving
from components.export.layout import MODEL_FILE
from pipeline import cli_errors, metadata, paths, run_lock

ACTIONS = ("promote", "rollback")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a number of versions is at least 1, not {text!r}")
    return int(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", default=paths.OUTPUT_DIR, help="default: outputs/")
    parser.add_argument(
        "--model-dir", help="the pushed versions' folder (default: OUTPUT_DIR/serving_models)"
    )
    parser.add_argument("--wait", action="store_true", help="wait for a live run to end")
    cli_errors.add_debug_flag(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every version, its figures, which is current")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    show = commands.add_parser("show", help="one version: figures, files, lineage, history")
    show.add_argument("version", nargs="?", default="current")
    show.add_argument("--format", choices=("text", "json"), default="text")
    promote = commands.add_parser("promote", help="point apps at VERSION")
    promote.add_argument("version")
    rollback = commands.add_parser("rollback", help="point apps at the version before")
    prune = commands.add_parser("prune", help="delete old versions (never the current one)")
    for sub in (promote, rollback):
        sub.add_argument("--keep-versions", type=_positive, metavar="N")
    prune.add_argument("--keep-versions", type=_positive, metavar="N", required=True)
    return parser.parse_args(argv)


def version_time(version_id: str) -> str:
    """When a version was pushed, from its id (milliseconds; seconds for older pushes)."""
    value = int(version_id)
    seconds = value / 1000 if len(version_id) > 10 else value
    moment = datetime.datetime.fromtimestamp(seconds).astimezone()
    return moment.isoformat(timespec="seconds")


def describe(root: str, version_id: str, current: str | None) -> dict[str, Any]:
    folder = os.path.join(root, version_id)
    problem = serving.problem(folder)
    sidecar = serving.read_sidecar(folder) if problem is None else {}
    row: dict[str, Any] = {
        "version": version_id,
        "current": version_id == current,
        "pushed": version_time(version_id),
        "complete": problem is None,
        "path": folder,
    }
    if problem is not None:
        row["problem"] = problem
        return row
    row["tflite_bytes"] = os.path.getsize(os.path.join(folder, MODEL_FILE))
    row["figures"] = serving.figures(sidecar)
    return row


def _figures_text(row: dict[str, Any]) -> str:
    if not row["complete"]:
        return f"incomplete: {row['problem']}"
    figures = row["figures"]
    parts = [f"{name} {value:.4f}" for name, value in figures["test"].items()]
    size = f"{row['tflite_bytes'] / 2**20:.2f} MiB"
    model = figures.get("model_artifact_id")
    return f"test {', '.join(parts) or 'n/a'}; {size}" + (f"; model {model}" if model else "")


def _current(root: str) -> tuple[str | None, dict[str, Any] | None]:
    found = serving.current(root)
    if found is None:
        return None, None
    return found[0].id, found[1]


def do_list(args: argparse.Namespace, root: str) -> int:
    current, pointer = _current(root)
    rows = [describe(root, v, current) for v in serving.version_ids(root)]
    if args.format == "json":
        print(json.dumps({"serving_dir": root, "current": current, "versions": rows}, indent=1))
        return 0
    if not rows:
        print(f"No version has been pushed to {root} yet.")
        return 0
    for row in rows:
        mark = "*" if row["current"] else " "
        print(f"{mark} {row['version']}  {row['pushed']}  {_figures_text(row)}")
    how = "the serving pointer" if pointer else "no pointer yet: the newest complete version"
    print(f"* = the version apps use ({how})")
    return 0


def do_show(args: argparse.Namespace, root: str) -> int:
    current, pointer = _current(root)
    version_id = current if args.version == "current" else args.version
    if version_id is None:
        raise serving.ServingError(f"nothing has been pushed to {root} yet.")
    if version_id not in serving.version_ids(root):
        known = ", ".join(serving.version_ids(root)) or "none"
        raise serving.ServingError(f"no version {version_id!r} in {root} (versions: {known})")
    row = describe(root, version_id, current)
    folder = row["path"]
    if row["complete"]:
        row["model_sha256"] = serving.sha256_file(os.path.join(folder, MODEL_FILE))
        row["files"] = {
            name: os.path.getsize(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
        }
        row["lineage"] = serving.read_sidecar(folder).get("lineage")
    if row["current"] and pointer:
        row["pointer"] = {k: pointer.get(k) for k in ("action", "by", "host", "at", "history")}
    row["moves"] = [m for m in _moves(args) if m["version"] == version_id]
    if args.format == "json":
        print(json.dumps(row, indent=1))
        return 0
    state = "current (apps use it)" if row["current"] else "not current"
    print(f"Version {version_id}: {state}; pushed {row['pushed']}")
    print(f"  {_figures_text(row)}")
    if row["complete"]:
        print(f"  model.tflite sha256 {row['model_sha256']}")
        print("  files: " + ", ".join(f"{n} ({b} bytes)" for n, b in row["files"].items()))
        if row["lineage"]:
            ids = ", ".join(f"{k} {v}" for k, v in row["lineage"].items() if k.endswith("_id"))
            print(f"  lineage: {ids} (python -m commands.lineage model --pushed {version_id})")
    if "pointer" in row:
        p = row["pointer"]
        print(f"  pointer: {p['action']} by {p['by']} on {p['host']} at {p['at']}")
    for move in row["moves"]:
        when = datetime.datetime.fromtimestamp(move["time_ms"] / 1000).astimezone()
        print(
            f"  {move['action']} (from {move['from_version'] or 'none'}) by {move['user']} "
            f"at {when.isoformat(timespec='seconds')}"
        )
    return 0


def _moves(args: argparse.Namespace) -> list[dict]:
    path = paths.metadata_path(args.output_dir)
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return []
    return metadata.pointer_moves(path)


def do_move(args: argparse.Namespace, root: str) -> int:
    # Damaged ML Metadata: nothing moves (the move could not be recorded).
    metadata.check_store(args.output_dir)
    with run_lock.RunLock(args.output_dir, wait=args.wait):
        target = args.version if args.command == "promote" else serving.rollback_target(root)
        before, after = serving.point_to(root, target, args.command)
        user = serving.pointer_user()
        print(f"{args.command}: apps now use version {after} (was {before or 'none'}).")
        if os.path.isfile(paths.metadata_path(args.output_dir)):
            try:
                execution = metadata.record_pointer_move(
                    args.output_dir,
                    action=args.command,
                    version=after,
                    from_version=before or "",
                    user=user,
                    host=socket.gethostname(),
                    serving_dir=root,
                )
            except (RuntimeError, mlmd_errors.StatusError) as error:
                raise metadata.StoreError(
                    f"the pointer names version {after} now, but ML Metadata could not "
                    f"record the move: {error}"
                ) from None
            print(f"Recorded in ML Metadata (execution {execution}) for {user}.")
        else:
            print(
                f"No ML Metadata store in {args.output_dir}: the move is recorded in the pointer."
            )
        if args.keep_versions:
            _prune(root, args.keep_versions)
    return 0


def do_prune(args: argparse.Namespace, root: str) -> int:
    with run_lock.RunLock(args.output_dir, wait=args.wait):
        _prune(root, args.keep_versions)
    return 0


def _prune(root: str, keep: int) -> None:
    removed = serving.prune(root, keep)
    print(
        f"Deleted {len(removed)} version(s): {', '.join(removed)}."
        if removed
        else "Nothing to delete."
    )


COMMANDS = {
    "list": do_list,
    "show": do_show,
    "promote": do_move,
    "rollback": do_move,
    "prune": do_prune,
}
EXPECTED = (
    serving.ServingError,
    run_lock.RunLockedError,
    metadata.StoreError,
    OSError,
)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.model_dir or paths.push_destination(args.output_dir)
    return cli_errors.guarded(
        lambda: COMMANDS[args.command](args, root), debug=args.debug, expected=EXPECTED
    )


if __name__ == "__main__":
    sys.exit(main())
