"""`hullcheck sql`: read-only queries with table, CSV or JSON output."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from hullcheck.store import StoreError, connect


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bytes):
        return v.hex()
    return str(v) if not isinstance(v, str | int | float | bool | list | dict | type(None)) else v


def run_sql(database: Path, query: str, fmt: str) -> int:
    try:
        con = connect(database, read_only=True)
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        cur = con.execute(query)
        if cur.description is None:
            return 0
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except duckdb.Error as e:
        print(f"error: {str(e).strip()}", file=sys.stderr)
        return 2
    finally:
        con.close()
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

        table = Table(*columns, show_lines=False)
        for r in rows:
            table.add_row(*("" if v is None else str(v) for v in r))
        # Piped output is for files and other programs: never truncate it to a terminal's width.
        Console(width=None if sys.stdout.isatty() else 100_000).print(table)
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=sys.stderr)
    return 0
