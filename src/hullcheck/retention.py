"""Retention: what the database holds (`hullcheck db stats`) and dropping what is old (`hullcheck db prune`).

Every night is kept, so the file grows with the org. `prune` drops the runs that describe a moment
older than the cutoff (by `effective_at`), their observations and evaluations, then the facts no kept
run references (commits, files, Dockerfile and Compose facts, image manifests, configs, layers, layer
scans), and rewrites the file so it shrinks. It never drops the newest committed run, nor a run a
`latest_*` view still rests on (a repository whose newer observations all failed). A dry run is the
same statements in a transaction that is rolled back: what it says it would remove is what it removes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hullcheck.store import Store
from hullcheck.store_files import DatabaseFiles


@dataclass
class PruneReport:
    cutoff: datetime
    applied: bool
    runs: list[int] = field(default_factory=list)  # dropped (or that would be)
    kept_old: list[int] = field(default_factory=list)  # older than the cutoff, kept: see the module doc
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows removed (or that would be)
    bytes_before: int = 0
    bytes_after: int | None = None  # after the rewrite; None for a dry run


def prune(store: Store, keep: timedelta, apply: bool = False, now: datetime | None = None) -> PruneReport:
    cutoff = (now or datetime.now(UTC)) - keep
    report = PruneReport(cutoff, apply, bytes_before=_size(DatabaseFiles(store.path).work))
    tables = store.storage_tables()
    before = store.row_counts(tables)
    with store.transaction() if apply else store.discarded():
        store.execute("prune_choose_runs", [cutoff])
        for (view,) in store.query("latest_views_with_runs"):
            store.delete_where_in("prune_runs", "run_id", store.distinct_values(view, "run_id"))
        report.runs = [int(r[0]) for r in store.query("prune_chosen_runs")]
        report.kept_old = [int(r[0]) for r in store.query("prune_kept_old", [cutoff])]
        if report.runs:
            store.execute("prune_observations")
            store.execute("prune_facts")
        after = store.row_counts(tables)
    report.rows = {t: before[t] - after[t] for t in tables if before[t] != after[t]}
    if apply and report.runs:
        store.compact()
        report.bytes_after = _size(DatabaseFiles(store.path).work)
    return report


@dataclass
class DatabaseStats:
    path: Path
    published_bytes: int
    work_bytes: int | None
    runs: dict[str, int]  # status -> count
    oldest: datetime | None  # effective_at of the oldest committed run
    newest: datetime | None
    rows: dict[str, int]  # storage table -> rows


def stats(store: Store) -> DatabaseStats:
    """Read from the published snapshot: never waits for an audit."""
    files = DatabaseFiles(store.path)
    by_status = {str(s): int(n) for s, n in store.query("db_runs_by_status")}
    span = store.query("db_committed_span")[0]
    return DatabaseStats(
        store.path,
        _size(files.published),
        _size(files.work) if files.work.exists() else None,
        by_status,
        span[0],
        span[1],
        store.row_counts(store.storage_tables()),
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
