"""Dates given on the command line or to a flow: one meaning everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, time


def parse_as_of(value: str) -> datetime:
    """`YYYY-MM-DD` means the end of that day, UTC; a timestamp without zone is UTC; never later than now
    (a backfill "as of today" must not outrank tonight's audit). Raises ValueError on anything else."""
    parsed = datetime.fromisoformat(value)
    if len(value) == 10:
        parsed = datetime.combine(parsed.date(), time(23, 59, 59))
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return min(parsed, datetime.now(UTC))
