"""The DuckDB store: one file, schema migrations from sql/schema/, public views from sql/views/.

The only module that holds a DuckDB connection (with its helpers store_writes, for bulk rows, and
store_scratch, for the cursors of an evaluation). Everything else goes through:
- `transaction()`: a block that commits, or rolls back on any exception;
- `query(name, params)` / `execute(name, params)`: the files of sql/queries/, parameters bound;
- `insert(table, rows, **constant_columns)`: dataclass rows, columns taken from their fields;
  `insert_groups` for rows that share constants per group (a blob's stages, a project's services);
- `delete_where_in(table, column, values)`: the mechanical delete before facts are replaced;
- `ad_hoc(sql)`: what `hullcheck sql` runs for a person, read-only;
- `scratch(workers)`: an evaluation's scratch database and the cursors that work in it side by side.

Readers open the published snapshot; one writer at a time works in its own file and publishes a new
snapshot when it closes (`publish()`; the files and the lock are in store_files).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from hullcheck.assets import read_sql, sql_dir
from hullcheck.errors import DatabaseLocked, DatabaseMissing, QueryParameterError, StoreError
from hullcheck.store_files import (
    STORAGE_VERSION,
    DatabaseFiles,
    WriterLock,
    copy_file,
    newer_than_ours,
    prepare_work,
    replace_durably,
)
from hullcheck.store_scratch import IDENT as _IDENT
from hullcheck.store_scratch import Scratch, scratch
from hullcheck.store_values import Repairs
from hullcheck.store_writes import RowWriter

_log = logging.getLogger(__name__)
_MIGRATION = re.compile(r"^(\d+)_[\w-]+\.sql$")
# DuckDB's own default is 80 % of the machine: an audit's working sets (the evaluation's scoped
# copies, a policy's joins) would then grow its RSS far past what the crawl needs. Past this limit
# DuckDB spills to `<database>.tmp/` instead; `database_memory_limit` in the config changes it.
# A large org's evaluation is given more for itself (`at_least_memory`, policy/evaluate.py).
DEFAULT_MEMORY_LIMIT = "128MB"


def connect(path: Path, read_only: bool = False, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection; a file it creates is written in the storage format DuckDB 1.4 reads."""
    if read_only and not path.exists():
        if DatabaseFiles(path).work.exists():
            raise DatabaseMissing(f"{path}: no audit has finished yet (the first one is still running)")
        raise DatabaseMissing(f"{path}: no database yet (run `hullcheck audit` first)")
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit}
    if not read_only:
        config["storage_compatibility_version"] = STORAGE_VERSION
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as e:
        # DuckDB says "Could not set lock on file … Conflicting lock is held" and has no type for it:
        # this is the one place that reads its message; everything above catches DatabaseLocked.
        if "lock" in str(e).lower():
            raise DatabaseLocked(
                f"{path}: the file is held by another process that is not a hullcheck writer of this "
                "version (an older hullcheck, or a DuckDB client that opened it for writing); close it and "
                "try again."
            ) from None
        raise StoreError(f"{path}: cannot open the database: {e}") from None


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    types: list[str] | None = None  # DuckDB's type of each column (`JSON`, `VARCHAR[]`…), when known


class Store:
    """A connection to the database. Read-only stores open the published snapshot; a writer store holds
    the writer lock and the working file, and publishes a snapshot when it closes (see store_files)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, writer: WriterLock | None = None) -> None:
        self._con = con
        self.path = path  # the published database: what readers open, what messages name
        self._writer = writer
        self._catalog: str | None = None  # the database's catalog name, which the scratch's cursors read
        self.repairs: Repairs = Counter()  # what was changed to make values storable, by table.column
        self._rows = RowWriter(self.repairs)
        self.rewrote_storage = False  # opened a file in a newer storage format and rewrote it for DuckDB 1.4

    @classmethod
    def open(
        cls,
        path: Path,
        read_only: bool = False,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        *,
        wait_seconds: float = 0.0,
        command: str = "hullcheck",
    ) -> Store:
        """Read-only: the last published snapshot, never blocked by a writer. Else the writer: waits up to
        `wait_seconds` for another writer to finish (then `DatabaseBusy` names it), opens the working file
        (made from the snapshot the first time), applies migrations."""
        if read_only:
            return cls(connect(path, True, memory_limit), path)
        files = DatabaseFiles(path)
        lock = WriterLock(files.lock)
        lock.acquire(wait_seconds, command)
        try:
            prepare_work(files)
            store = cls(connect(files.work, False, memory_limit), path, lock)
            try:
                if store._storage_too_new():
                    store._rewrite(files, memory_limit)  # once, for a file from before the 1.4 format
                    store.rewrote_storage = True
                store.migrate()
            except BaseException:
                store._con.close()
                raise
        except BaseException:
            lock.release()
            raise
        return store

    @classmethod
    def open_analysis(cls, path: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> Store:
        """The published snapshot, attached read-only to an in-memory database: a reader that can also make
        an evaluation's scratch database (`policies simulate`), which a read-only connection may not attach.
        Nothing it does can write the file."""
        if not path.exists():
            connect(path, True)  # the missing-database error, in the words every reader uses
        con = duckdb.connect(":memory:", config={"memory_limit": memory_limit})
        con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS hullcheck_snapshot (READ_ONLY)")
        con.execute("USE hullcheck_snapshot")
        return cls(con, path)

    def note_run(self, run_id: int) -> None:
        """The run this writer records, named to any other writer that has to wait for it."""
        if self._writer is not None:
            self._writer.note_run(run_id)

    def publish(self) -> None:
        """Make what this writer committed the snapshot readers open: checkpoint (the working file then
        holds every committed row and its WAL is empty), copy, rename over the snapshot."""
        if self._writer is None:
            raise StoreError("a read-only store cannot publish")
        files = DatabaseFiles(self.path)
        self._con.execute("CHECKPOINT")
        copy_file(files.work, files.staging)
        replace_durably(files.staging, files.published)
        # A log next to the snapshot (left by a writer of hullcheck before snapshots) belongs to the file
        # it replaced: a reader would replay it onto the new one.
        DatabaseFiles.wal(files.published).unlink(missing_ok=True)

    def close(self, publish: bool = True) -> None:
        try:
            if self._writer is not None and publish:
                self.publish()
        finally:
            self._con.close()
            if self._writer is not None:
                self._writer.release()
                self._writer = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        # Leaving on an error: what was committed is still sound, so publish it if the database still
        # allows; the error that brought us here is the one to report, not a second one from the publish.
        try:
            self.close()
        except Exception as e:  # the connection is closed and the lock released regardless
            _log.warning("%s: the snapshot was not published (%s); readers see the previous one", self.path, e)

    def _storage_too_new(self) -> bool:
        row = self._con.execute(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        return newer_than_ours(str(row[0] if row and row[0] else ""))

    def compact(self) -> None:
        """Rewrite the working file with only its live rows: DuckDB reuses the blocks deleted rows free but
        never shrinks the file (after `db prune`). Sequences, views and constraints come along."""
        limit = str(self._con.execute("SELECT current_setting('memory_limit')").fetchone()[0]).replace(" ", "")
        self._rewrite(DatabaseFiles(self.path), limit)

    def _rewrite(self, files: DatabaseFiles, memory_limit: str) -> None:
        target = files.work.with_name(files.work.name + ".rewrite")
        target.unlink(missing_ok=True)
        DatabaseFiles.wal(target).unlink(missing_ok=True)
        name = str(self._con.execute("SELECT current_database()").fetchone()[0]).replace('"', '""')
        self._con.execute(f"ATTACH ? AS hullcheck_rewrite (STORAGE_VERSION '{STORAGE_VERSION}')", [str(target)])
        self._con.execute(f'COPY FROM DATABASE "{name}" TO hullcheck_rewrite')
        self._con.execute("DETACH hullcheck_rewrite")
        self._con.close()
        replace_durably(target, files.work)
        DatabaseFiles.wal(files.work).unlink(missing_ok=True)
        self._con = connect(files.work, False, memory_limit)
        self._catalog = None

    # -- what the database holds ------------------------------------------------------------
    def storage_tables(self) -> list[str]:
        return [str(r[0]) for r in self.query("storage_tables")]

    def row_counts(self, tables: Sequence[str]) -> dict[str, int]:
        if not all(_IDENT.match(t) for t in tables):
            raise ValueError(f"unsafe identifier in {tables}")
        if not tables:
            return {}
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM main.{t}" for t in tables)
        return {str(t): int(n) for t, n in self._con.execute(sql).fetchall()}

    def distinct_values(self, view: str, column: str) -> list[Any]:
        if not _IDENT.match(view) or not _IDENT.match(column):
            raise ValueError(f"unsafe identifier in {view}.{column}")
        return [r[0] for r in self._con.execute(f"SELECT DISTINCT {column} FROM {view}").fetchall()]

    @contextmanager
    def discarded(self) -> Iterator[Store]:
        """A transaction that is always rolled back: to compute on uncommitted state (a run about to be
        published) without keeping anything. `restart()` inside it starts over after a failed statement."""
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield self
        finally:
            self._con.execute("ROLLBACK")

    def restart(self) -> None:
        """Inside `discarded()`: roll back (a failed statement aborts the whole transaction) and begin again."""
        self._con.execute("ROLLBACK")
        self._con.execute("BEGIN TRANSACTION")

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield self
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    # -- schema ---------------------------------------------------------------------
    def schema_version(self) -> int:
        try:
            return int(self.query("schema_version")[0][0] or 0)
        except duckdb.CatalogException:
            return 0

    def migrate(self) -> None:
        self._con.execute(read_sql("queries/create_meta_tables.sql"))
        current = self.schema_version()
        changed = False
        for path in sorted(sql_dir().joinpath("schema").glob("*.sql")):
            m = _MIGRATION.match(path.name)
            if not m or int(m.group(1)) <= current:
                continue
            with self.transaction():
                self._con.execute(path.read_text(encoding="utf-8"))
                self.execute("record_migration", [int(m.group(1)), path.name])
            changed = True
        self._refresh_views(force=changed)

    def _refresh_views(self, force: bool) -> None:
        """Views are derived: recreate them when their SQL changes, not on every start."""
        files = sorted(sql_dir().joinpath("views").glob("*.sql"))
        text = "\n".join(p.read_text(encoding="utf-8") for p in files)
        digest = hashlib.sha256(text.encode()).hexdigest()
        row = self.query("views_hash")
        if not force and row and row[0][0] == digest:
            return
        with self.transaction():
            for p in files:
                self._con.execute(p.read_text(encoding="utf-8"))
            self.execute("record_views_hash", [digest])

    # -- named queries ------------------------------------------------------------------
    def query(self, name: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of sql/queries/<name>.sql."""
        return self._con.execute(read_sql(f"queries/{name}.sql"), list(params)).fetchall()

    def execute(self, name: str, params: Sequence[Any] = ()) -> None:
        """Run sql/queries/<name>.sql for its effect."""
        self._con.execute(read_sql(f"queries/{name}.sql"), list(params))

    def concurrent_query(self, name: str) -> Callable[[Sequence[Any]], list[tuple[Any, ...]]]:
        """sql/queries/<name>.sql as a function that threads may call while the store writes."""
        cursor, lock, text = self._con.cursor(), threading.Lock(), read_sql(f"queries/{name}.sql")

        def run(params: Sequence[Any]) -> list[tuple[Any, ...]]:
            with lock:
                return cursor.execute(text, list(params)).fetchall()

        return run

    def select(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """A SELECT read from a catalog file (a policy's SQL), parameters bound; errors are DuckDB's."""
        cur = self._con.execute(sql, list(params))
        return Result([d[0] for d in cur.description or []], cur.fetchall())

    # -- the evaluation's scratch database (store_scratch) -------------------------------------
    @contextmanager
    def scratch(self, workers: int) -> Iterator[Scratch]:
        """A scratch database and `workers` cursors on this database, for one evaluation."""
        with scratch(self._con, self._catalog_name(), workers) as s:
            yield s

    def _catalog_name(self) -> str:
        if self._catalog is None:
            db = self._con.execute("SELECT current_database()").fetchone()
            self._catalog = str(db[0]) if db else "memory"
        return self._catalog

    @staticmethod
    def out_of_memory(e: BaseException) -> bool:
        """DuckDB refused to allocate past its memory limit (the caller may raise it and retry)."""
        return isinstance(e, duckdb.OutOfMemoryException)

    def raise_memory_limit(self, ceiling_bytes: int = 8 * 1024**3) -> bool:
        """Double DuckDB's memory limit (up to `ceiling_bytes`) after an out-of-memory error; False at the
        ceiling. The limit keeps small audits lean; a large org's evaluation gets what it needs."""
        current = self._parse_limit()
        if current >= ceiling_bytes:
            return False
        self._con.execute(f"SET memory_limit = '{min(current * 2, ceiling_bytes) // 1024**2}MiB'")
        return True

    @contextmanager
    def at_least_memory(self, limit_bytes: int) -> Iterator[None]:
        """DuckDB's memory limit raised to `limit_bytes` for the block (never lowered), then restored."""
        before = self._parse_limit()
        if before >= limit_bytes:
            yield
            return
        self._con.execute(f"SET memory_limit = '{limit_bytes // 1024**2}MiB'")
        try:
            yield
        finally:
            self._con.execute(f"SET memory_limit = '{max(before, 1024**2) // 1024**2}MiB'")

    @contextmanager
    def checkpoint_at_publish(self) -> Iterator[None]:
        """Commits in the block never checkpoint on their own: a writer's `publish()` checkpoints anyway,
        moments later, so a checkpoint that a commit triggers (DuckDB's 16 MiB of log) is work done twice in
        one audit and lands in whichever stage crossed the threshold. The log grows by what the block
        writes (an evaluation of 100,000 instructions: ~20 MiB); a killed process replays it on the next open."""
        before = self._con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
        self._con.execute("SET checkpoint_threshold = '64GiB'")
        try:
            yield
        finally:
            self._con.execute("SET checkpoint_threshold = ?", [before[0] if before else "16MiB"])

    def _parse_limit(self) -> int:
        text = str(self._con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        number, _, unit = text.strip().partition(" ")
        factor = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "KB": 1000, "MB": 1000**2,
                  "GB": 1000**3, "TB": 1000**4, "bytes": 1}.get(unit.strip(), 1)  # fmt: skip
        return int(float(number) * factor)

    def ad_hoc(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        """SQL as a person wrote it (`hullcheck sql` runs it on a read-only store): statement by statement, each
        bound to the named parameters (`$name`) it uses, never formatted in; the result is the last statement's.
        A parameter the SQL uses without a value, or a value it never uses, is a `QueryParameterError`; SQL
        errors are DuckDB's."""
        statements = duckdb.extract_statements(sql)
        given = dict(params or {})
        used: set[str] = set().union(*(s.named_parameters for s in statements))
        positional = sorted(n for n in used if n.isdigit())
        missing, unused = sorted(used - given.keys() - set(positional)), sorted(given.keys() - used)
        if positional or missing or unused:
            raise QueryParameterError(missing, unused, positional)
        cur = None
        for s in statements:
            bound = {n: given[n] for n in s.named_parameters}
            cur = self._con.execute(s, bound) if bound else self._con.execute(s)
        if cur is None or cur.description is None:
            return Result([], [])
        return Result([d[0] for d in cur.description], cur.fetchall(), [str(d[1]) for d in cur.description])

    # -- mechanical writes ---------------------------------------------------------------
    def insert(self, table: str, rows: Iterable[Any], *, or_replace: bool = False, **constant_columns: Any) -> int:
        """Insert dataclass rows (columns: their stored fields), each with `constant_columns` added."""
        return self.insert_groups(table, [(constant_columns, list(rows))], or_replace=or_replace)

    def insert_groups(
        self,
        table: str,
        groups: Iterable[tuple[Mapping[str, Any], Sequence[Any]]],
        *,
        or_replace: bool = False,
    ) -> int:
        """Insert groups of dataclass rows, each group with its own constant columns, in as few
        statements as possible (a statement per group would cost a round trip each)."""
        return self._rows.insert_groups(self._con, table, groups, or_replace=or_replace)

    def delete_where_in(self, table: str, column: str, values: Sequence[Any]) -> None:
        """DELETE the rows whose `column` is one of `values` (facts about to be written again)."""
        if not values:
            return
        if not _IDENT.match(table) or not _IDENT.match(column):
            raise ValueError(f"unsafe identifier in {table}.{column}")
        self._con.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT unnest(?))", [list(values)])
