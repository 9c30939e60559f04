"""The two ways a local run ends early: a problem with the job or arguments, a failed task."""

from __future__ import annotations


class LocalRunError(Exception):
    """A problem with the job or the arguments, reported as one ``error:`` line."""


class TaskFailed(Exception):
    """A task's command failed; its log says why."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause
