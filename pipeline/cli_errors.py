"""How every command line ends on an expected failure: one ``error:`` line, exit code 2.

A user who gave a wrong path, broken data or a full disk needs the one sentence that says
what and where, not 26 lines of Python; a developer chasing a bug passes ``--debug`` and
gets the traceback. Unexpected exceptions (bugs) are never caught here. No TensorFlow:
the light CLIs (recommend, lineage, submit) import this too.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
from collections.abc import Callable

EXIT_ERROR = 2
DEBUG_FLAG = "--debug"

# What the usual OS errors mean for someone running the pipeline.
_OS_HINTS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "no such file or folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "a file is in the way of a folder",
    errno.EIO: "a write or read error (input/output error: is the disk failing?)",
    errno.EFBIG: "a file grew past the size limit",
}
# Errors about space: their line says how much is free where it happened.
SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG)


def free_space(path: str) -> str:
    """How much is free on the file system of ``path`` (or of its nearest existing folder)."""
    path = os.path.abspath(os.fspath(path))
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return "free space unknown"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if free >= scale:
            return f"{free / scale:.1f} {unit} free there"
    return f"{free} bytes free there"


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        DEBUG_FLAG,
        action="store_true",
        default=False,
        help="show the Python traceback of an error instead of its one-line message",
    )


def message(error: BaseException) -> str:
    """The error as a sentence: OS errors name the path and say what the errno means."""
    if isinstance(error, OSError) and error.errno in _OS_HINTS:
        hint = _OS_HINTS[error.errno]
        if error.filename is None:
            return hint
        if error.errno in SPACE_ERRNOS:
            return f"{hint}: {error.filename} ({free_space(error.filename)})"
        return f"{hint}: {error.filename}"
    text = str(error).strip()
    return text or type(error).__name__


def fail(error: BaseException, debug: bool) -> int:
    """Prints ``error: <message>`` on stderr and returns EXIT_ERROR; re-raises when
    ``debug`` (call it from an ``except`` block). Later lines of a message (e.g. one per
    schema anomaly) follow, indented."""
    if debug:
        raise error
    first, *rest = message(error).splitlines() or [""]
    print(f"error: {first}", file=sys.stderr)
    for line in rest:
        print(f"  {line.strip()}", file=sys.stderr)
    return EXIT_ERROR


def guarded(
    run: Callable[[], int], *, debug: bool, expected: tuple[type[BaseException], ...]
) -> int:
    """``run()``'s exit code, or EXIT_ERROR after one ``error:`` line for an expected error."""
    try:
        return run()
    except expected as error:
        return fail(error, debug)
