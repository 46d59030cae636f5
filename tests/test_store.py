"""The store: migrations with a schema version, views refreshed only when their SQL changes, clear lock errors."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from hullcheck.assets import sql_dir
from hullcheck.store import Store
from hullcheck.store_files import DatabaseFiles


def test_migrations_apply_once_and_record_the_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    newest = max(int(p.name.split("_")[0]) for p in (sql_dir() / "schema").glob("*.sql"))
    with Store.open(db) as store:
        assert store.schema_version() == newest
        applied = store.ad_hoc("SELECT version, name FROM schema_migrations").rows
    with Store.open(db) as store:  # reopening applies nothing twice
        assert store.ad_hoc("SELECT version, name FROM schema_migrations").rows == applied
        assert store.ad_hoc("SELECT count(*) FROM runs").rows[0] == (0,)


def test_views_are_recreated_when_their_sql_changes(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    with Store.open(db) as store:
        store.ad_hoc("DROP VIEW latest_dockerfile_copies")
    with Store.open(db) as store:  # same SQL: not recreated (start-up stays cheap)
        views = {r[0] for r in store.ad_hoc("SELECT view_name FROM duckdb_views() WHERE NOT internal").rows}
        assert "latest_dockerfile_copies" not in views
        store.ad_hoc("UPDATE hullcheck_meta SET value = 'stale' WHERE key = 'views_hash'")
    with Store.open(db) as store:
        views = {r[0] for r in store.ad_hoc("SELECT view_name FROM duckdb_views() WHERE NOT internal").rows}
        assert "latest_dockerfile_copies" in views


@dataclass
class _Row:
    a: str
    b: list[int]


def test_commits_inside_checkpoint_at_publish_leave_the_checkpoint_to_publish(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    wal = DatabaseFiles.wal(DatabaseFiles(db).work)
    with Store.open(db) as store:
        store.ad_hoc("SET checkpoint_threshold = '1KiB'; CREATE TABLE t (a VARCHAR)")

        def commit_rows() -> None:
            with store.transaction():
                store.ad_hoc("INSERT INTO t SELECT 'x' || range FROM range(20000)")

        commit_rows()  # past the threshold: the commit checkpoints, the log is emptied
        assert not wal.exists() or wal.stat().st_size == 0
        with store.checkpoint_at_publish():
            commit_rows()
            commit_rows()
            assert wal.stat().st_size > 100_000  # both commits wait in the log
        threshold = store.ad_hoc("SELECT current_setting('checkpoint_threshold')").rows[0][0]
        assert threshold in ("1.0 KiB", "1.0KiB", "1024 bytes"), threshold  # restored
        store.publish()
        assert not wal.exists() or wal.stat().st_size == 0
        assert store.ad_hoc("SELECT count(*) FROM t").rows[0][0] == 60_000


def test_a_constant_column_is_cleaned_once_and_its_repairs_count_per_row(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.duckdb") as store:
        store.ad_hoc("CREATE TABLE t (c VARCHAR, a VARCHAR, b INTEGER[])")
        groups = [({"c": "api_token=hcCANARYconst"}, [_Row("x", [1])] * 300), ({"c": "plain"}, [_Row("y", [2])] * 2)]
        assert store.insert_groups("t", groups) == 302
        rows = store.ad_hoc("SELECT c, count(*) FROM t GROUP BY c ORDER BY c").rows
        assert rows == [("api_token=<redacted>", 300), ("plain", 2)], rows
        assert store.repairs["t.c: secret redacted"] == 300


def test_insert_binds_values_and_refuses_unsafe_identifiers(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.duckdb") as store:
        store.ad_hoc("CREATE TABLE t (a VARCHAR, b INTEGER[])")
        n = store.insert("t", [_Row("x'); DROP TABLE t; --", [1, 2])] * 3000)
        assert n == 3000 and store.ad_hoc("SELECT count(DISTINCT a) FROM t").rows[0] == (1,)
        try:
            store.insert("t; DROP TABLE t", [_Row("a", [1])])
        except ValueError as e:
            assert "unsafe identifier" in str(e)
        else:
            raise AssertionError("an unsafe table name was accepted")


def test_a_second_process_gets_a_clear_message_while_the_database_is_held(
    tmp_path: Path, hullcheck_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    db = tmp_path / "h.duckdb"
    Store.open(db).close()
    holder = duckdb.connect(str(db))  # a client that opened the snapshot for writing (no audit does)
    try:
        r = hullcheck_cli("sql", "--database", str(db), "SELECT 1")
    finally:
        holder.close()
    assert r.returncode == 2
    assert "held by another process that is not a hullcheck writer" in r.stderr and "Traceback" not in r.stderr
