"""`hullcheck sql`: read-only queries with named parameters, and the one printer of result tables.

Every listing command prints through `print_result`, so a value looks the same everywhere:
- `table`: for people. NULL is a dim `∅`, distinct from an empty string (an empty cell); lists and
  structs are JSON (`["a","b"]`); timestamps `2026-12-01 05:59:34+00:00`; control characters escaped.
- `csv`: for spreadsheets and scripts. NULL is an empty field, an empty string `""`; lists, structs and
  maps are JSON; booleans `true`/`false`; dates and timestamps ISO 8601; intervals ISO 8601 durations.
- `json`: an array of objects with native types: numbers, booleans, nested arrays and objects, JSON
  columns parsed; dates and timestamps ISO 8601 strings.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from hullcheck.cli.common import EXIT_ERROR, error, shown
from hullcheck.errors import QueryParameterError
from hullcheck.store import Result, Store

NULL_SHOWN = "∅"
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CSV_QUOTE = re.compile(r'[",\r\n]|^\s|\s$')


def parse_params(pairs: list[str]) -> dict[str, str]:
    """`--param name=value` pairs as a dict; values stay text (a query casts: `CAST($days AS INTEGER)`).
    Raises ValueError with a message for a pair that is not NAME=VALUE or a name given twice."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().removeprefix("$")
        if not sep or not _PARAM_NAME.match(name):
            raise ValueError(f"--param {pair!r}: expected NAME=VALUE, e.g. --param team=payments")
        if name in params:
            raise ValueError(f"--param {name} given twice")
        params[name] = value
    return params


def run_sql(database: Path, query: str, fmt: str, params: Mapping[str, str] | None = None) -> int:
    with Store.open(database, read_only=True) as store:
        try:
            result = store.ad_hoc(query, params)
        except QueryParameterError as e:
            error(_parameter_message(e))
            return EXIT_ERROR
        except duckdb.Error as e:
            error(str(e).strip())
            return EXIT_ERROR
    print_result(result, fmt)
    return 0


def _parameter_message(e: QueryParameterError) -> str:
    parts = [f"the query uses ${n}: give it a value with --param {n}=VALUE" for n in e.missing]
    parts += [f"--param {n}: the query has no ${n}" for n in e.unused]
    if e.positional:
        parts.append("the query has positional parameters (? or $1): name them ($name) to bind them with --param")
    return "; ".join(parts)


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


# -- values --------------------------------------------------------------------------------------
def iso_duration(d: timedelta) -> str:
    """ISO 8601 duration: `PT1M30.5S`, `P2DT3H`, `-PT5S`, `PT0S`."""
    sign, rest = ("-", -d) if d < timedelta(0) else ("", d)
    hours, seconds = divmod(rest.seconds + rest.microseconds / 1e6, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = "".join(f"{int(n)}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
    if seconds or not (clock or rest.days):
        clock += f"{seconds:.6f}".rstrip("0").rstrip(".") + "S"
    return f"{sign}P{f'{rest.days}D' if rest.days else ''}{'T' + clock if clock else ''}"


def native(v: Any) -> Any:
    """`v` as JSON has it: nested lists and structs kept, moments and durations ISO 8601, numbers numbers."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)  # JSON has no NaN or Infinity
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, timedelta):
        return iso_duration(v)
    if isinstance(v, list | tuple):
        return [native(x) for x in v]
    if isinstance(v, dict):  # a STRUCT, or a MAP (its keys as text: JSON keys are strings)
        return {str(native(k)): native(x) for k, x in v.items()}
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    return str(v)  # UUID, and whatever DuckDB adds


def _as_json_text(v: Any) -> str:
    return json.dumps(native(v), ensure_ascii=False, separators=(",", ":"))


def csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        text = v
    elif isinstance(v, bool):
        text = "true" if v else "false"
    elif isinstance(v, list | tuple | dict):
        text = _as_json_text(v)
    else:
        text = str(native(v))
    if text == "" or _CSV_QUOTE.search(text):  # "" is an empty string; an empty field is NULL
        return '"' + text.replace('"', '""') + '"'
    return text


def table_cell(v: Any) -> str:
    """A value as a table shows it (NULL is handled by the caller: it is styled)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple | dict):
        return shown(_as_json_text(v))
    if isinstance(v, timedelta):
        return iso_duration(v)
    if isinstance(v, datetime | date | time | str):
        return shown(v)
    return shown(native(v))


def print_result(result: Result, fmt: str) -> None:
    columns, rows = result.columns, result.rows
    if not columns:
        return
    if fmt == "json":
        is_json = [t == "JSON" for t in result.types or [""] * len(columns)]
        records = [
            {c: _json_value(v, j) for c, v, j in zip(columns, r, is_json, strict=True)}
            for r in rows
        ]  # fmt: skip
        json.dump(records, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt == "csv":
        out = [",".join(csv_cell(c) for c in columns)] + [",".join(csv_cell(v) for v in r) for r in rows]
        sys.stdout.write("".join(line + "\n" for line in out))
    else:
        _print_table(columns, rows)


def _json_value(v: Any, is_json: bool) -> Any:
    if is_json and isinstance(v, str):
        try:
            return json.loads(v)  # a JSON column is a value, not a string holding one
        except ValueError:
            return v
    return native(v)


def _print_table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False)
    for k, name in enumerate(columns):
        numbers = [r[k] for r in rows if r[k] is not None]
        numeric = bool(numbers) and all(
            isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in numbers
        )
        table.add_column(shown(name), justify="right" if numeric else "left")
    for r in rows:  # cells are plain text: a label like "[bold]x" or an escape sequence is shown as written
        table.add_row(*(Text(NULL_SHOWN, style="dim") if v is None else Text(table_cell(v)) for v in r))
    # Piped output is for files and other programs: never truncate it to a terminal's width.
    Console(width=None if sys.stdout.isatty() else 100_000).print(table)  # rich honours NO_COLOR itself
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=sys.stderr)
