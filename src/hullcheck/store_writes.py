"""Dataclass rows into DuckDB tables, as Arrow tables typed like the target table.

Each batch becomes one Arrow table whose schema is the table's own (read once per table and column
list), built column by column: constants repeated, row fields gathered with `attrgetter`, nested rows
(an env list, a healthcheck) turned into dicts for struct columns, and every value made storable on the
way (`store_values.arrow_column`: valid text, the secret screen, numbers in range). DuckDB reads the
table in bulk (millions of values a second) where a parameter per value costs a bind each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from operator import attrgetter
from typing import Any

import duckdb
import pyarrow as pa

from hullcheck.columns import is_stored
from hullcheck.store_values import Cleaner, Repairs, arrow_column, clean_column, table_cleaners

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# Rows per INSERT statement (one Arrow table each): bounds the memory of one statement.
_CHUNK_ROWS = 100_000
_PLAIN = frozenset({str, int, float, bool, type(None)})

Groups = Iterable[tuple[Mapping[str, Any], Sequence[Any]]]


class RowWriter:
    def __init__(self, repairs: Repairs) -> None:
        self.repairs = repairs  # what was changed to make values storable, by table.column
        self._cleaners: dict[str, dict[str, Cleaner]] = {}
        self._schemas: dict[tuple[str, tuple[str, ...]], pa.Schema] = {}

    def insert_groups(self, con: duckdb.DuckDBPyConnection, table: str, groups: Groups, *, or_replace: bool) -> int:
        columns: list[str] | None = None
        row_fields: list[str] = []
        pending: list[tuple[Mapping[str, Any], Sequence[Any]]] = []
        total = 0
        for constants, rows in groups:
            if not rows:
                continue
            if columns is None:
                if not is_dataclass(rows[0]):
                    raise TypeError(f"rows for {table} must be dataclass instances")
                row_fields = [f.name for f in fields(rows[0]) if is_stored(f.metadata)]
                columns = [*constants, *row_fields]
                if not _IDENT.match(table) or not all(_IDENT.match(c) for c in columns):
                    raise ValueError(f"unsafe identifier in {table}{tuple(columns)}")  # identifiers come from code
            for i in range(0, len(rows), _CHUNK_ROWS):
                pending.append((constants, rows[i : i + _CHUNK_ROWS]))
                total += len(pending[-1][1])
        if columns is None:
            return 0
        quoted = ", ".join(f'"{c}"' for c in columns)
        sql = f"INSERT {'OR REPLACE ' if or_replace else ''}INTO {table} ({quoted}) SELECT * FROM hullcheck_rows"
        schema = self._schema(con, table, columns, quoted)
        batch: list[tuple[Mapping[str, Any], Sequence[Any]]] = []
        size = 0
        for group in pending:
            batch.append(group)
            size += len(group[1])
            if size >= _CHUNK_ROWS:
                self._send(con, sql, schema, table, columns, row_fields, batch)
                batch, size = [], 0
        if batch:
            self._send(con, sql, schema, table, columns, row_fields, batch)
        return total

    def _send(self, con: duckdb.DuckDBPyConnection, sql: str, schema: pa.Schema, table: str, columns: list[str],
              row_fields: list[str], batch: list[tuple[Mapping[str, Any], Sequence[Any]]]) -> None:  # fmt: skip
        base = len(columns) - len(row_fields)  # the constant columns come first
        cols: list[list[Any]] = [[] for _ in row_fields]
        for _, rows in batch:
            for j, f in enumerate(row_fields):
                cols[j].extend(map(attrgetter(f), rows))
        cleaners = self._cleaners[table]
        arrays = [self._constant(batch, k, schema.field(k).type, cleaners.get(columns[k])) for k in range(base)]
        for j, col in enumerate(cols):
            typ = schema.field(base + j).type
            if _nested(typ) and any(type(v) not in _PLAIN for v in col):
                col = [v if type(v) in _PLAIN else _value(v) for v in col]
            arrays.append(arrow_column(col, typ, cleaners.get(columns[base + j])))
        # Read by DuckDB's replacement scan (this local variable's name, in `sql`): registering a name
        # each time costs a catalog change, ~2 ms a statement inside a large transaction.
        hullcheck_rows = pa.Table.from_arrays(arrays, schema=schema)  # noqa: F841 - read by name in `sql`
        con.execute(sql)

    def _constant(self, batch: list[tuple[Mapping[str, Any], Sequence[Any]]], k: int, typ: pa.DataType,
                  fn: Cleaner | None) -> pa.Array:  # fmt: skip
        """A constant column (a run id, a layer digest: one value per group): each group's value cleaned once
        and repeated by Arrow, not screened once per row (60,000 copies of a digest in a layer scan). A repair
        still counts once per row."""
        parts = []
        for constants, rows in batch:
            value = list(constants.values())[k]
            if fn is not None:
                before = Counter(self.repairs)
                value = clean_column(fn, [value])[0]
                for what, n in (self.repairs - before).items():
                    self.repairs[what] += n * (len(rows) - 1)
            parts.append(pa.repeat(pa.scalar(value, typ), len(rows)))
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)

    def _schema(self, con: duckdb.DuckDBPyConnection, table: str, columns: list[str], quoted: str) -> pa.Schema:
        """The Arrow schema of `columns`, and the table's cleaners, read once from one relation."""
        key = (table, tuple(columns))
        if key not in self._schemas:
            rel = con.table(table)
            if table not in self._cleaners:
                self._cleaners[table] = table_cleaners(rel, table, self.repairs)
            self._schemas[key] = rel.select(quoted).limit(0).to_arrow_table().schema
        return self._schemas[key]


def _nested(typ: pa.DataType) -> bool:
    """A struct, or a list of structs: columns whose values may be dataclass rows to turn into dicts."""
    return pa.types.is_struct(typ) or (pa.types.is_list(typ) and pa.types.is_struct(typ.value_type))


def _value(v: Any) -> Any:
    """Nested rows (a list of env entries, a healthcheck) become DuckDB structs: dicts."""
    if is_dataclass(v) and not isinstance(v, type):
        return {f.name: _value(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, list) and v and is_dataclass(v[0]):
        return [_value(x) for x in v]
    return v
