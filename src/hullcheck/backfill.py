"""Backfill on day one: as-of audits of git history, oldest first, so the first report has a trend.

The moments are the ends of fixed periods (with `every=7d`: Sunday 23:59:59 UTC, the end of each ISO
week), counted back from now. Fixed boundaries make a backfill idempotent: run again the same week
(or after tonight's audit) it finds every moment already audited and adds nothing. Registries and
image layouts cannot be read as they were in the past, so the backfilled runs hold git facts only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hullcheck.audit import AuditSummary, run_audit
from hullcheck.config import Config
from hullcheck.store import Store

# Periods are counted from a Monday, so that weekly periods are ISO weeks.
_EPOCH = datetime(1970, 1, 5, tzinfo=UTC)

NO_REGISTRY_HISTORY = (
    "registries and image layouts cannot be read as they were in the past: the backfilled weeks hold git "
    "facts only; image trends start with the first nightly audit"
)


def backfill_moments(now: datetime, weeks: int, every: timedelta) -> list[datetime]:
    """The ends of the periods of length `every` that finished within the last `weeks` weeks, oldest first."""
    if every <= timedelta(0):
        raise ValueError("the period must be longer than zero")
    span = timedelta(weeks=weeks)
    done = (now - _EPOCH) // every  # periods finished since the epoch
    moments = []
    k = done
    while True:
        end = _EPOCH + k * every - timedelta(seconds=1)
        if end <= now - span or k <= 0:
            break
        moments.append(end)
        k -= 1
    return sorted(moments)


@dataclass
class Backfill:
    moments: list[datetime]
    skipped: list[datetime] = field(default_factory=list)  # already audited by a committed run
    audits: list[tuple[datetime, AuditSummary]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every audit was ok (or there was nothing to do), 1 when one was partial, 2 past that."""
        return max((s.exit_code for _, s in self.audits), default=0)


def audited_moments(cfg: Config) -> set[datetime]:
    if not cfg.database_path.exists():
        return set()
    with Store.open(cfg.database_path, read_only=True) as store:
        return {row[0].astimezone(UTC) for row in store.query("backfill_done")}


def run_backfill(
    cfg: Config,
    weeks: int,
    every: timedelta = timedelta(days=7),
    now: datetime | None = None,
    before_each: Callable[[datetime], None] | None = None,
    after_each: Callable[[datetime, AuditSummary], None] | None = None,
) -> Backfill:
    """Audit (and evaluate) every moment not yet audited, oldest first: each run is a normal as-of audit,
    so an interrupted backfill keeps what it finished and the next one carries on."""
    result = Backfill(backfill_moments(now or datetime.now(UTC), weeks, every))
    done = audited_moments(cfg)
    for moment in result.moments:
        if moment in done:
            result.skipped.append(moment)
            continue
        if before_each:
            before_each(moment)
        summary = run_audit(cfg, as_of=moment)
        result.audits.append((moment, summary))
        if after_each:
            after_each(moment, summary)
    return result
