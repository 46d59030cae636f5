"""The DuckDB store: one file, schema migrations from sql/schema/, public views from sql/views/."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import duckdb

from hullcheck.assets import read_sql, sql_dir

_MIGRATION = re.compile(r"^(\d+)_[\w-]+\.sql$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# DuckDB binds at most this many parameters per statement comfortably; rows are chunked to stay under it.
_MAX_PARAMS = 20_000


class StoreError(Exception):
    """The database cannot be used; the message says why and what to do."""


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise StoreError(f"{path}: no database yet (run `hullcheck audit` first)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise StoreError(
                f"{path}: the database is in use by another process (is an audit running?). "
                "DuckDB allows one writer and no concurrent readers from other processes; try again when it ends."
            ) from None
        raise StoreError(f"{path}: cannot open the database: {e}") from None


class Store:
    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con = con
        self.path = path

    @classmethod
    def open(cls, path: Path, read_only: bool = False) -> Store:
        store = cls(connect(path, read_only), path)
        if not read_only:
            store.migrate()
        return store

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------
    def schema_version(self) -> int:
        try:
            row = self.con.execute("SELECT max(version) FROM schema_migrations").fetchone()
        except duckdb.CatalogException:
            return 0
        return int(row[0] or 0) if row else 0

    def migrate(self) -> None:
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        self.con.execute("CREATE TABLE IF NOT EXISTS hullcheck_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        current = self.schema_version()
        changed = False
        for path in sorted(sql_dir().joinpath("schema").glob("*.sql")):
            m = _MIGRATION.match(path.name)
            if not m or int(m.group(1)) <= current:
                continue
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(path.read_text(encoding="utf-8"))
                self.con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [int(m.group(1)), path.name])
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            changed = True
        self._refresh_views(force=changed)

    def _refresh_views(self, force: bool) -> None:
        """Views are derived: recreate them when their SQL changes, not on every start."""
        files = sorted(sql_dir().joinpath("views").glob("*.sql"))
        text = "\n".join(p.read_text(encoding="utf-8") for p in files)
        digest = hashlib.sha256(text.encode()).hexdigest()
        row = self.con.execute("SELECT value FROM hullcheck_meta WHERE key = 'views_hash'").fetchone()
        if not force and row and row[0] == digest:
            return
        self.con.execute("BEGIN TRANSACTION")
        for p in files:
            self.con.execute(p.read_text(encoding="utf-8"))
        self.con.execute("INSERT OR REPLACE INTO hullcheck_meta VALUES ('views_hash', ?)", [digest])
        self.con.execute("COMMIT")

    # -- queries ----------------------------------------------------------------------
    def query_file(self, name: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(read_sql(f"queries/{name}.sql"), list(params)).fetchall()

    def insert(
        self, table: str, rows: Iterable[Any], columns: Sequence[str] | None = None, or_replace: bool = False
    ) -> int:
        """Insert dataclass instances or tuples, many rows per statement (executemany is row-at-a-time)."""
        rows = list(rows)
        if not rows:
            return 0
        if columns is None:
            if not is_dataclass(rows[0]):
                raise TypeError("columns are required for tuple rows")
            columns = [f.name for f in fields(rows[0])]
        if not _IDENT.match(table) or not all(_IDENT.match(c) for c in columns):
            raise ValueError(f"unsafe identifier in {table}{tuple(columns)}")  # identifiers come from code only
        values = [tuple(getattr(r, c) for c in columns) if is_dataclass(r) else tuple(r) for r in rows]
        per_stmt = max(1, _MAX_PARAMS // len(columns))
        quoted = ", ".join(f'"{c}"' for c in columns)
        head = f"INSERT {'OR REPLACE ' if or_replace else ''}INTO {table} ({quoted}) VALUES "
        one = "(" + ", ".join("?" * len(columns)) + ")"
        for i in range(0, len(values), per_stmt):
            chunk = values[i : i + per_stmt]
            self.con.execute(head + ", ".join([one] * len(chunk)), [v for row in chunk for v in row])
        return len(values)
