"""Every public view as Parquet: the facts, findings and trends for a warehouse or any other engine.

`hullcheck export-db --parquet DIR` writes one folder per view with a `run_id` column, partitioned by run
(`DIR/findings/run_id=12/data_0.parquet`: a loader appends each night's partition), one file per
view without one (`DIR/teams.parquet`), and `DIR/_views.json`: each view's description, whether it is
partitioned, its columns with their types and rows written. DuckDB writes the files (`COPY … TO`),
from the published snapshot, so an audit running meanwhile neither blocks nor shows up half.

The directory appears whole or not at all: it is written beside its target and renamed over it.
Parquet's INTERVAL keeps milliseconds: a run's `duration` loses its microseconds; every other value
reads back as it is in the view (tests/test_findings_out.py compares each view, row for row).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from hullcheck.store import Store
from hullcheck.store_files import swap_directory
from hullcheck.store_scratch import IDENT

FORMAT_VERSION = 1


@dataclass
class ExportedView:
    view: str
    partitioned: bool
    rows: int
    description: str | None
    columns: list[dict[str, str]]


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"  # COPY takes its target as a literal, not a parameter


def export_parquet(store: Store, out: Path) -> list[ExportedView]:
    """Write every public view under `out` (replacing what was there), returning what was written."""
    out = out.resolve()
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    done: list[ExportedView] = []
    # A partitioned write keeps a buffer per open partition (one per run): the lean default memory of a
    # reader runs out at a few runs of a small org, so the export takes what it needs, as an evaluation does.
    with store.at_least_memory(EXPORT_MEMORY):
        try:
            _write_views(store, staging, done)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    manifest = {"format": "hullcheck-parquet", "version": FORMAT_VERSION, "views": [asdict(v) for v in done]}
    (staging / "_views.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    swap_directory(staging, out)
    return done


EXPORT_MEMORY = 1024**3


def _write_views(store: Store, staging: Path, done: list[ExportedView]) -> None:
    for view, by_run, _, description in store.query("public_views"):
        if not IDENT.match(view):  # names come from the schema; refuse anything else outright
            raise ValueError(f"unexpected view name {view!r}")
        result = store.select(f"DESCRIBE {view}")
        columns = [{"name": str(r[0]), "type": str(r[1])} for r in result.rows]
        if by_run:
            target, options = _literal(staging / view), "FORMAT parquet, PARTITION_BY (run_id)"
        else:
            target, options = _literal(staging / f"{view}.parquet"), "FORMAT parquet"
        written = store.select(f"COPY (SELECT * FROM {view}) TO {target} ({options})").rows
        rows = int(written[0][0]) if written else 0
        done.append(ExportedView(view, bool(by_run), rows, description, columns))
