"""`hullcheck sql` and `hullcheck runs`: read-only queries with table, CSV or JSON output."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from hullcheck.cli.common import EXIT_ERROR, error, shown
from hullcheck.store import Result, Store


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bytes):
        return v.hex()
    return str(v) if not isinstance(v, str | int | float | bool | list | dict | type(None)) else v


def run_sql(database: Path, query: str, fmt: str) -> int:
    with Store.open(database, read_only=True) as store:
        try:
            result = store.ad_hoc(query)
        except duckdb.Error as e:
            error(str(e).strip())
            return EXIT_ERROR
    print_result(result, fmt)
    return 0


def open_shell(database: Path) -> int:
    """The DuckDB CLI (the `duckdb-cli` dependency) on the published snapshot, read-only: it replaces this
    process, so the terminal, history and Ctrl-C are the shell's own."""
    import os
    import shutil

    from hullcheck.errors import HullcheckError

    if not database.exists():
        Store.open(database, read_only=True).close()  # raises DatabaseMissing with the usual message
    here = Path(sys.executable).parent
    exe = shutil.which("duckdb", path=str(here)) or shutil.which("duckdb")
    if exe is None:
        raise HullcheckError("the DuckDB shell is not installed: pip install duckdb-cli (a hullcheck dependency)")
    os.execv(exe, [exe, "-readonly", str(database)])
    return 0  # not reached


def list_runs(database: Path, limit: int) -> int:
    with Store.open(database, read_only=True) as store:
        rows = store.query("list_runs", [limit])
    columns = ["run_id", "status", "started_at", "duration", "as_of", "repos_total", "repos_extracted",
               "repos_unchanged", "repos_failed", "message"]  # fmt: skip
    print_result(Result(columns, rows), "table")
    return 0


def print_result(result: Result, fmt: str) -> None:
    columns, rows = result.columns, result.rows
    if not columns:
        return
    if fmt == "json":
        json.dump([{c: _jsonable(v) for c, v in zip(columns, r, strict=True)} for r in rows], sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(columns)
        w.writerows(rows)
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(*columns, show_lines=False)
        for r in rows:  # cells are plain text: a label like "[bold]x" or an escape sequence is shown as written
            table.add_row(*(Text("" if v is None else shown(v)) for v in r))
        # Piped output is for files and other programs: never truncate it to a terminal's width.
        Console(width=None if sys.stdout.isatty() else 100_000).print(table)
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=sys.stderr)
