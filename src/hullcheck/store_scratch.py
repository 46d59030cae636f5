"""A scratch database for one evaluation, and worker cursors that fill and read it side by side.

Why: an evaluation is many small statements (copies of the fact views, thirty policies) over tables of
100,000 rows, and DuckDB runs a scan of a table under 122,880 rows (one row group) on one thread, so
one connection leaves the second core mostly idle. Cursors are connections of their own to the same
database: two of them run two statements at once (at 100,000 instructions on 2 cores, the copies in
0.46 s instead of 0.75 s; docs/benchmarks.md).

What that takes:
- cursors see neither each other's temporary tables nor the writer's, so what they share lives in an
  attached in-memory database, `hullcheck_eval`; its tables are made by statements in autocommit, never
  inside the writer's transaction (a DuckDB transaction writes one attached database only);
- cursors see only what is committed, and the run being evaluated is not published yet (its run and
  findings are committed together, afterwards): each cursor shows it as published through a temporary
  `runs` view, the one place the public views decide visibility;
- unqualified names resolve to the scratch tables first (`search_path`), and inside the public views
  (which resolve names in their own catalog) through temporary views of the same names (`shadow`).
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from hullcheck.assets import read_sql

NAME = "hullcheck_eval"
T = TypeVar("T")


IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")  # what a name made by code may be (the store checks by it too)


def _ident(name: str) -> str:
    if not IDENT.match(name):
        raise ValueError(f"unsafe identifier {name!r}")  # identifiers come from code only
    return name


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class Worker:
    """One cursor: reads the database as committed (with the evaluated run shown), writes the scratch."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, catalog: str) -> None:
        self._cur, self._catalog = cursor, catalog
        cursor.execute(f"USE {NAME}")  # an unqualified CREATE can only make a scratch table
        cursor.execute("SET search_path = ?", [f"{NAME}.main,{quote(catalog)}.main"])

    def show_run(self) -> None:
        """The run in scratch table `eval_run` as published (`ok`) while it is still `running`, in every
        view this cursor reads."""
        self._cur.execute(
            "CREATE OR REPLACE TEMP VIEW runs AS SELECT * REPLACE (CASE WHEN status = 'running' AND run_id IN "
            f"(SELECT run_id FROM {NAME}.main.eval_run) THEN 'ok' ELSE status END AS status) "
            f"FROM {quote(self._catalog)}.main.runs"
        )

    def query(self, name: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cur.execute(read_sql(f"queries/{name}.sql"), list(params)).fetchall()

    def execute(self, name: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(read_sql(f"queries/{name}.sql"), list(params))

    def select(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A statement read from a catalog file (a policy's SQL), parameters bound; errors are DuckDB's."""
        self._cur.execute(sql, list(params))

    def table(
        self,
        name: str,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[Sequence[Any]] = (),
        *,
        by_column: Sequence[Sequence[Any]] | None = None,
    ) -> None:
        """(Re)create scratch table `name` from rows, or from one list per column (`by_column`: no
        transposition for a large table), sent as one Arrow table (DuckDB reads its columns in bulk)."""
        names = [_ident(c) for c, _ in columns]
        if not all(t in ARROW for _, t in columns):
            raise ValueError(f"unsupported column type in {name}{tuple(columns)}")
        cols = by_column if by_column is not None else [[r[k] for r in rows] for k in range(len(columns))]
        arrays = [pa.array(list(c), ARROW[t]) for c, (_, t) in zip(cols, columns, strict=True)]
        hullcheck_rows = pa.Table.from_arrays(arrays, names=names)  # noqa: F841 - read by its name (replacement scan)
        self._cur.execute(f"CREATE OR REPLACE TABLE {NAME}.main.{_ident(name)} AS SELECT * FROM hullcheck_rows")

    def view_definitions(self) -> list[tuple[str, str]]:
        """The public views of the database read, with their SQL."""
        return self._cur.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE database_name = ? AND NOT internal", [self._catalog]
        ).fetchall()

    def copy(self, view: str, scope: str | None = None, keys: Sequence[str] = ()) -> None:
        """Scratch table `view`: the public view's rows whose `keys` are in scratch table `scope` (all its
        rows without one). Read through this cursor's shadows of the copies made before it."""
        on = ", ".join(_ident(k) for k in keys)
        rows = f" SEMI JOIN (SELECT DISTINCT {on} FROM {NAME}.main.{_ident(scope)}) USING ({on})" if scope else ""
        source = f"{quote(self._catalog)}.main.{_ident(view)}"
        self._cur.execute(f"CREATE OR REPLACE TABLE {NAME}.main.{view} AS SELECT * FROM {source}{rows}")

    def shadow(self, names: Iterable[str]) -> None:
        shadow(self._cur, names)

    def close(self) -> None:
        self._cur.close()


def shadow(cursor: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
    """Temporary views named like the scratch tables `names`: public views built on those names read them."""
    for name in names:
        cursor.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(name)} AS SELECT * FROM {NAME}.main.{name}")


class Scratch:
    """The scratch database and its workers; `run` spreads tasks over the workers, each on its own thread."""

    def __init__(self, con: duckdb.DuckDBPyConnection, catalog: str, workers: int) -> None:
        self.workers = [Worker(con.cursor(), catalog) for _ in range(workers)]

    def show_run(self, run_id: int) -> None:
        """Every worker sees run `run_id` as published (Worker.show_run)."""
        self.workers[0].table("eval_run", [("run_id", "BIGINT")], [[run_id]])
        self.each(Worker.show_run)

    def each(self, step: Callable[[Worker], None]) -> None:
        for w in self.workers:
            step(w)

    def run(self, tasks: Iterable[Callable[[Worker], T]]) -> list[T]:
        """Run the tasks, in order, each on the next free worker (DuckDB releases the GIL while a statement
        runs); their results in task order. The first exception is raised once every worker has stopped."""
        todo: queue.SimpleQueue[tuple[int, Callable[[Worker], T]]] = queue.SimpleQueue()
        listed = list(tasks)
        for item in enumerate(listed):
            todo.put(item)
        results: dict[int, T] = {}
        errors: list[BaseException] = []

        def work(w: Worker) -> None:
            while not errors:
                try:
                    k, task = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[k] = task(w)
                except BaseException as e:  # re-raised below, on the caller's thread
                    errors.append(e)

        threads = [threading.Thread(target=work, args=(w,), name=f"hullcheck-eval-{n}")
                   for n, w in enumerate(self.workers)]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return [results[k] for k in range(len(listed))]

    def close(self) -> None:
        for w in self.workers:
            w.close()


@contextmanager
def scratch(con: duckdb.DuckDBPyConnection, catalog: str, workers: int) -> Iterator[Scratch]:
    """A fresh scratch database with `workers` cursors, detached (its memory freed) at the end."""
    con.execute(f"DETACH DATABASE IF EXISTS {NAME}")
    con.execute(f"ATTACH ':memory:' AS {NAME}")
    s = Scratch(con, catalog, workers)
    try:
        yield s
    finally:
        s.close()
        con.execute(f"DETACH DATABASE IF EXISTS {NAME}")


ARROW = {
    "VARCHAR": pa.string(), "INTEGER": pa.int32(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(), "DATE": pa.date32(), "VARCHAR[]": pa.list_(pa.string()), "BIGINT[]": pa.list_(pa.int64()),
}  # fmt: skip
