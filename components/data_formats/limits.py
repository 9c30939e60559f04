"""The value ranges ingest accepts, defined once for the parser, the flags and the schema.

Every later stage trusts what ExampleGen wrote, so ingest is where an out-of-range value
must be caught: as a counted rejection with its own reason, not as an ``OverflowError``
inside Beam, a schema anomaly after statistics, or an export failure after training.
``schema/schema.pbtxt`` declares the same domains (a test compares them), so the
AnomaliesGate only catches what ingest cannot know. No TensorFlow here: the runner's flags
and the schema test import it.
"""

from __future__ import annotations

import datetime

from components.transform.ids import MAX_RAW_ID, MIN_RAW_ID

__all__ = ["MAX_RAW_ID", "MIN_RAW_ID"]

# tf.train.Example stores integers as int64.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Timestamps are Unix seconds. A window inside these bounds is configurable per run
# (--min-timestamp / --max-timestamp); the schema's label_timestamp domain is the bounds.
EARLIEST_TIMESTAMP = 0  # 1970-01-01
LATEST_TIMESTAMP = 4_102_444_800  # 2100-01-01
# The default window: MovieLens began in 1995; the end is one day after the run, so a clock
# a little ahead is tolerated but a date in the future is not.
DEFAULT_MIN_TIMESTAMP = 788_918_400  # 1995-01-01
FUTURE_TOLERANCE_S = 86_400

# Release years from titles (0: the title has no year), and the users file's profile.
MIN_YEAR, MAX_YEAR = 0, 2100
MIN_AGE, MAX_AGE = 0, 120
GENDERS = ("F", "M")


def default_max_timestamp(now: float | None = None) -> int:
    """One day after ``now`` (default: the current time), capped at LATEST_TIMESTAMP."""
    now = datetime.datetime.now().timestamp() if now is None else now
    return min(int(now) + FUTURE_TOLERANCE_S, LATEST_TIMESTAMP)


def parse_time(text: str) -> int:
    """Unix seconds from a date (2003-02-28), a date and time (ISO 8601, UTC unless it
    says otherwise) or a number of seconds. Raises ValueError naming the accepted forms."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: give a date (1995-01-01), an ISO date and time, or "
            "Unix seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


def iso_date(timestamp: int) -> str:
    """A timestamp as a UTC date and time, for messages."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def check_window(min_timestamp: int, max_timestamp: int | None) -> None:
    """Raises ValueError unless the window is ordered and inside the schema's bounds."""
    for name, value in (("--min-timestamp", min_timestamp), ("--max-timestamp", max_timestamp)):
        if value is not None and not EARLIEST_TIMESTAMP <= value <= LATEST_TIMESTAMP:
            raise ValueError(
                f"{name} {value} is outside {iso_date(EARLIEST_TIMESTAMP)} .. "
                f"{iso_date(LATEST_TIMESTAMP)} (the schema's label_timestamp domain)"
            )
    if max_timestamp is not None and max_timestamp <= min_timestamp:
        raise ValueError(
            f"--max-timestamp ({iso_date(max_timestamp)}) must be after --min-timestamp "
            f"({iso_date(min_timestamp)})"
        )
