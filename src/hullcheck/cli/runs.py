"""`hullcheck runs`: what each run covered, newest first, for a person (table) or a program (json, csv)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hullcheck.cli.common import human_duration
from hullcheck.store import Result, Store

# The machine-readable columns (json, csv): one per fact, durations in seconds, moments in ISO 8601.
COLUMNS = ["run_id", "status", "effective_at", "as_of", "only_repos", "started_at", "duration_seconds",
           "repos_total", "repos_extracted", "repos_unchanged", "repos_failed", "registries", "image_repositories",
           "tags", "new_digests", "image_failures", "findings", "policy_errors", "message"]  # fmt: skip


def list_runs(database: Path, limit: int, fmt: str) -> int:
    from hullcheck.cli.sql import print_result

    with Store.open(database, read_only=True) as store:
        rows = store.query("list_runs", [limit])
    if fmt == "table":
        print_result(Result(["run", "status", "audited", "repositories", "images", "findings", "took", "message"],
                            [_shown(r) for r in rows]), "table")  # fmt: skip
    else:
        print_result(Result(COLUMNS, [_machine(r) for r in rows]), fmt)
    return 0


def _seconds(d: timedelta | None) -> float | None:
    return None if d is None else round(d.total_seconds(), 3)


def _machine(r: tuple[Any, ...]) -> list[Any]:
    row = list(r)
    row[6] = _seconds(row[6])
    return row


def _shown(r: tuple[Any, ...]) -> list[Any]:
    (run_id, status, effective_at, as_of, only, _started, duration, total, extracted, unchanged, failed,
     registries, image_repos, tags, new_digests, image_failures, findings, policy_errors, message) = r  # fmt: skip
    audited = _moment(effective_at) + (" (as of)" if as_of is not None else "")
    repos = f"{total}: {extracted} extracted, {unchanged} unchanged" + (f", {failed} failed" if failed else "")
    if only:
        repos += f" (--only {', '.join(only)})"
    if registries:
        images = f"{tags} tags in {image_repos} repositories ({new_digests} new)"
        images += f", {image_failures} failed" if image_failures else ""
    else:
        images = "not read" if as_of is not None or only else "none configured"
    found = "" if findings is None else str(findings) + (f" ({policy_errors} policies failed)" if policy_errors else "")
    return [run_id, status, audited, repos, images, found, human_duration(_seconds(duration)), message]


def _moment(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M")
