"""`hullcheck schema [VIEW]`: the public views and their columns, with the descriptions stored in the database.

It reads the database's own catalog (`duckdb_views()`, `duckdb_columns()` and their comments), so it shows
what that file really holds, views of an older schema version included. Without a database (no config, or
no audit yet) it shows the schema this hullcheck creates, built in memory from sql/: the same migrations,
views and comments an audit would write.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

from hullcheck.cli.common import fail, shown, warn
from hullcheck.cli.schema_doc import summary
from hullcheck.cli.sql import print_result
from hullcheck.store import Result, Store


def open_schema(config: Path, database: Path | None) -> Store:
    """The database `-d` names (it must exist), else the config's when it exists, else the built-in schema."""
    if database is not None:
        return Store.open(database, read_only=True)  # a missing file: DatabaseMissing, as for `hullcheck sql`
    if config.exists():
        from hullcheck.config import load_config

        path = load_config(config).database_path  # a config error is reported as one
        if path.exists():
            return Store.open(path, read_only=True)
        warn(f"{path}: no database yet; showing the schema this hullcheck version creates")
    else:
        warn(f"{config}: no such config; showing the schema this hullcheck version creates")
    return built_in()


def built_in() -> Store:
    """An in-memory database with every migration, view and comment applied: the schema an audit writes."""
    import duckdb

    store = Store(duckdb.connect(), Path(":memory:"))
    store.migrate()
    return store


def show_schema(store: Store, view: str | None, fmt: str) -> int:
    with store:
        views = {str(name): (comment, int(n)) for name, comment, n in store.query("schema_views")}
        if view is None:
            _warn_if_undescribed([c for c, _ in views.values()])
            rows = [(name, n, summary(c) if c else None) for name, (c, n) in views.items()]
            print_result(Result(["view", "columns", "description"], rows), fmt)
            return 0
        name = view.lower()
        if name not in views:
            tables = {str(r[0]) for r in store.query("storage_tables")}
            raise fail(_unknown(view, name in tables, sorted(views)))
        description = views[name][0]
        columns = [(str(c), str(t), d) for c, t, d in store.query("schema_columns", [name])]
    _warn_if_undescribed([description])
    if fmt == "json":
        doc = {"view": name, "description": description,
               "columns": [{"column": c, "type": t, "description": d} for c, t, d in columns]}  # fmt: skip
        json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        if fmt == "table":
            print(shown(f"{name}: {description or '(no description stored)'}") + "\n")
        print_result(Result(["column", "type", "description"], columns), fmt)
    return 0


def _unknown(view: str, is_table: bool, views: list[str]) -> str:
    near = difflib.get_close_matches(view.lower(), views, n=3, cutoff=0.6)
    near += [v for v in views if (view.lower() in v or v in view.lower()) and v not in near][: max(0, 5 - len(near))]
    what = "is a private storage table (it may change in any release), not a public view" if is_table else (
        "is not a view of this database")  # fmt: skip
    hint = f"; did you mean {', '.join(near)}?" if near else "; `hullcheck schema` lists the views"
    return f"{view!r} {what}{hint}"


def _warn_if_undescribed(comments: list[str | None]) -> None:
    if comments and not any(comments):
        warn("this database stores no descriptions (written before hullcheck stored them): the next audit adds them")
