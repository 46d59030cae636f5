"""The report's only reader of the database: the queries of `sql/reports/`, over public views only.

Everything a report needs is read once for the whole org (one query per table, parameters bound),
then split per team in Python: 50 teams cost the same queries as one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hullcheck.assets import read_sql
from hullcheck.errors import HullcheckError
from hullcheck.store import Store

Row = dict[str, Any]


class NoReportData(HullcheckError):
    """Nothing to report on: no evaluated run, or not the week asked for."""


@dataclass(frozen=True)
class Week:
    week: str  # ISO week, 2026-W48
    week_start: date
    week_end: date
    run_id: int
    evaluation_id: int
    effective_at: datetime
    runs: int  # evaluated runs inside the week


@dataclass
class Table:
    """One query's rows (as dicts, for templates and CSV), with its columns in order."""

    name: str
    columns: list[str]
    rows: list[Row]
    _by: dict[tuple[str, Any], list[Row]] = field(default_factory=dict, repr=False)

    def where(self, column: str, value: Any) -> list[Row]:
        """Rows whose `column` equals `value` (indexed on first use: the per-team split stays linear)."""
        if (column, value) not in self._by:
            index: dict[Any, list[Row]] = defaultdict(list)
            for r in self.rows:
                index[r[column]].append(r)
            for k, rows in index.items():
                self._by[(column, k)] = rows
            for r in self.rows:  # make misses cached too
                self._by.setdefault((column, r[column]), [])
        return self._by.get((column, value), [])


# Tables over the trend window (first week, last week) and over the report week's evaluation.
WINDOW_TABLES = ("trend", "policy_trend", "resolution", "resolution_org", "dockerfiles", "image_sizes",
                 "profile_sizes", "registry_bytes")  # fmt: skip
WEEK_TABLES = ("images", "dockerfile_offenders", "events")
EVALUATION_TABLES = ("findings", "params")


@dataclass
class ReportData:
    week: Week
    window: list[Week]  # oldest first, ending with `week`
    tables: dict[str, Table]
    generated_at: datetime

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]


def load_report(database: Path, week: str | None = None, weeks: int = 12) -> ReportData:
    """Read the report of ISO `week` (default: the newest evaluated one) with a trend of `weeks` weeks."""
    if not database.exists():
        raise NoReportData(f"{database}: no database yet; run `hullcheck audit` (or `hullcheck backfill`) first")
    with Store.open(database, read_only=True) as store:
        all_weeks = [Week(*r) for r in _select(store, "weeks").rows_tuples]
        if not all_weeks:
            raise NoReportData("no evaluated run yet: run `hullcheck audit` (or `hullcheck backfill`) first")
        chosen = all_weeks[0] if week is None else next((w for w in all_weeks if w.week == week), None)
        if chosen is None:
            raise NoReportData(f"no evaluated run in {week}: the database has weeks {all_weeks[-1].week} to "
                               f"{all_weeks[0].week}")  # fmt: skip
        window = sorted((w for w in all_weeks if w.week <= chosen.week), key=lambda w: w.week)[-weeks:]
        tables = {n: _select(store, n, [window[0].week, chosen.week]).table for n in WINDOW_TABLES}
        tables |= {n: _select(store, n, [chosen.week]).table for n in WEEK_TABLES}
        tables |= {n: _select(store, n, [chosen.evaluation_id]).table for n in EVALUATION_TABLES}
        tables["teams"] = _select(store, "teams").table
    return ReportData(chosen, window, tables, datetime.now(UTC))


@dataclass
class _Selected:
    name: str
    columns: list[str]
    rows_tuples: list[tuple[Any, ...]]

    @property
    def table(self) -> Table:
        return Table(self.name, self.columns, [dict(zip(self.columns, r, strict=True)) for r in self.rows_tuples])


def _select(store: Store, name: str, params: list[Any] | None = None) -> _Selected:
    result = store.select(read_sql(f"reports/{name}.sql"), params or [])
    return _Selected(name, result.columns, [tuple(r) for r in result.rows])
