"""One run at a time per output folder: a lock taken before anything touches it.

Two runs on one output folder would share one ML Metadata sqlite file, one pipeline root
and one serving pointer. So a run (and every command that changes the pushed models) holds
``fcntl.flock`` on ``OUTPUT/run.lock`` for as long as it works; the file holds the holder's
pid, start time, host and command, for the one line a second run prints. The kernel releases
the lock when its process ends, however it ends (SIGKILL included): a stale file never
blocks anyone. No TensorFlow here.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable

LOCK_FILE = "run.lock"


class RunLockedError(RuntimeError):
    """Another live process holds the output folder."""


def lock_path(output_dir: str) -> str:
    return os.path.join(output_dir, LOCK_FILE)


def holder(output_dir: str) -> dict:
    """What the lock file says about its (last) holder; {} when unreadable."""
    try:
        with open(lock_path(output_dir), encoding="utf-8") as handle:
            content = json.load(handle)
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def describe(info: dict) -> str:
    if not info:
        return "another process (its lock file names none yet)"
    return (
        f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')} "
        f"({info.get('command')})"
    )


class RunLock:
    """``with RunLock(output_dir, wait=False):`` holds the folder or raises RunLockedError."""

    def __init__(
        self,
        output_dir: str,
        *,
        wait: bool = False,
        command: str | None = None,
        say: Callable[[str], None] | None = None,
        poll_s: float = 0.5,
    ):
        self.output_dir = output_dir
        self.wait = wait
        self.command = command or " ".join(["python", *sys.argv])
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.poll_s = poll_s
        self._fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(self.output_dir, exist_ok=True)
        fd = os.open(lock_path(self.output_dir), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            announced = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    who = describe(holder(self.output_dir))
                    if not self.wait:
                        raise RunLockedError(
                            f"{self.output_dir} is in use by a live run: {who}; wait for it "
                            "to end, pass --wait to queue behind it, or choose another "
                            "--output-dir"
                        ) from None
                    if not announced:
                        self.say(f"Waiting for the run holding {self.output_dir}: {who}")
                        announced = True
                    time.sleep(self.poll_s)
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "command": self.command,
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
