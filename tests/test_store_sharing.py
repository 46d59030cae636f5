"""The database as a shared product: older DuckDB clients open it, readers never block an audit, and a
second audit waits for the first, then gives up with a message naming it.

Everything runs for real: audits of real git repositories (in this process and as `python -m hullcheck`
subprocesses), readers in other processes, the PyPI `duckdb` CLI, and DuckDB 1.4 in its own virtualenv
(`scripts/test` creates `.venv/duckdb-1.4`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import yaml
from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit
from hullcheck.store_files import DatabaseFiles

ROOT = Path(__file__).resolve().parents[1]
DUCKDB_14 = ROOT / ".venv" / "duckdb-1.4" / "bin" / "python"
DUCKDB_CLI = Path(sys.executable).parent / "duckdb"
STORAGE = "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()"
PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] ", re.M)
DOCKERFILE = "FROM python:3.12-slim AS build\nRUN pip install --no-cache-dir flask\nFROM build\nUSER 1000\n"


def _org(tmp_path: Path, repos: int) -> Org:
    org = Org(tmp_path / "org")
    for i in range(repos):
        org.repo(
            f"svc{i}",
            [Commit(days_ago(3), {"Dockerfile": DOCKERFILE, "compose.yaml": "services:\n  app:\n    build: .\n"})],
        )
    return org


def _public_views(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'"
        ).fetchall()
    return sorted(r[0] for r in rows)


def test_duckdb_1_4_and_the_pypi_cli_open_the_database(tmp_path: Path) -> None:
    assert DUCKDB_14.exists(), f"{DUCKDB_14} is missing: ./scripts/test creates it (pip install duckdb==1.4.4)"
    assert DUCKDB_CLI.exists(), f"{DUCKDB_CLI} is missing: the duckdb-cli dependency installs it"
    org = _org(tmp_path, 2)
    assert run_audit(org.config()).status == "ok"
    db = org.root / "audit.duckdb"
    views = _public_views(db)
    assert {"latest_dockerfiles", "findings", "runs", "ownership"} <= set(views)
    # Every public view answers in DuckDB 1.4, with the same row counts as here.
    here = {v: org.scalar(f'SELECT count(*) FROM "{v}"') for v in views}
    script = (
        "import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__); "
        "print(json.dumps({v: con.execute(f'SELECT count(*) FROM \"{v}\"').fetchone()[0] for v in sys.argv[2:]}))"
    )
    old = subprocess.run([str(DUCKDB_14), "-c", script, str(db), *views], capture_output=True, text=True, timeout=120)
    assert old.returncode == 0, old.stderr
    version, counts = old.stdout.splitlines()
    assert version.startswith("1.4.")
    assert yaml.safe_load(counts) == here
    # The command docs/schema.md prints, as printed.
    query = "SELECT repo, path, stage_count FROM latest_dockerfiles ORDER BY repo"
    cli = subprocess.run([str(DUCKDB_CLI), "-readonly", str(db), "-csv", "-c", query], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.splitlines() == ["repo,path,stage_count", "svc0,Dockerfile,2", "svc1,Dockerfile,2"]


def test_a_database_in_the_newer_storage_format_is_rewritten_once_for_older_readers(tmp_path: Path) -> None:
    org = _org(tmp_path, 1)
    cfg = org.config()
    db = org.root / "audit.duckdb"
    # What a hullcheck before snapshots left: one file in DuckDB 2's default format, written in place.
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE legacy_marker AS SELECT 42 AS answer")
        assert con.execute(STORAGE).fetchone()[0] != "v1.4.0+"
    assert run_audit(cfg).status == "ok"
    with duckdb.connect(str(db), read_only=True) as con:
        version = con.execute(STORAGE).fetchone()[0]
        assert version == "v1.4.0+"
        assert con.execute("SELECT answer FROM legacy_marker").fetchone()[0] == 42  # nothing lost in the rewrite
        assert con.execute("SELECT count(*) FROM runs WHERE status = 'ok'").fetchone()[0] == 1
    assert run_audit(cfg).status == "ok"  # and the sequence of run ids went on where it was
    assert org.query("SELECT run_id FROM runs ORDER BY run_id") == [(1,), (2,)]


def test_a_reader_left_open_sees_its_snapshot_and_never_blocks_the_audit(tmp_path: Path) -> None:
    org = _org(tmp_path, 2)
    cfg = org.config()
    assert run_audit(cfg).status == "ok"
    db = org.root / "audit.duckdb"
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); q = 'SELECT count(*) FROM runs'; "
        "print(con.execute(q).fetchone()[0], flush=True); sys.stdin.readline(); print(con.execute(q).fetchone()[0])"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "1"
        org.repo("svc2", [Commit(days_ago(1), {"Dockerfile": "FROM alpine:3.20\n"})])
        second = run_audit(org.config())  # while the reader holds its connection
        assert second.status == "ok"
        out, _ = reader.communicate("\n", timeout=30)
    finally:
        reader.kill()
    assert out.strip() == "1", "the open connection kept reading the snapshot it opened"
    assert org.query("SELECT run_id, status FROM runs ORDER BY run_id") == [(1, "ok"), (2, "ok")]
    assert org.scalar("SELECT count(*) FROM latest_dockerfiles") == 3
    assert not DatabaseFiles(db).staging.exists() and not DatabaseFiles.wal(db).exists()


def _audit_process(cfg: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "hullcheck", "audit", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip


def test_two_audits_at_once_one_runs_the_other_waits_then_names_it(tmp_path: Path) -> None:
    repos = 80  # enough that the first audit outlasts the other two processes starting (~3 s each)
    org = _org(tmp_path, repos)
    org.extra = {"concurrency": 1}
    cfg = org.write_config()
    assert run_audit(org.config()).status == "ok"  # run 1: a snapshot for readers
    for i in range(repos):  # new commits everywhere: the next audit has real work in every repository
        org.repo(f"svc{i}", [Commit(days_ago(1), {"Dockerfile": f"FROM alpine:3.{i}\n"})], add=False)
    impatient = org.root / "impatient.yaml"
    impatient.write_text(yaml.safe_dump({**yaml.safe_load(cfg.read_text()), "database_wait_seconds": 0.5}))
    patient = org.root / "patient.yaml"
    patient.write_text(yaml.safe_dump({**yaml.safe_load(cfg.read_text()), "database_wait_seconds": 300}))

    first = _audit_process(cfg)
    assert first.stderr is not None
    seen = ""
    deadline = time.monotonic() + 120
    while not PROGRESS.search(seen) and time.monotonic() < deadline:  # run 2 has begun and holds the writer lock
        seen += first.stderr.readline()
    assert PROGRESS.search(seen), seen

    started = time.monotonic()
    second = subprocess.run([sys.executable, "-m", "hullcheck", "audit", "--config", str(impatient)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    waited = time.monotonic() - started
    # Readers go on meanwhile, and see the last published run.
    sql = [sys.executable, "-m", "hullcheck", "sql", "--config", str(cfg), "--format", "csv"]
    runs = subprocess.run([*sql, "SELECT run_id, status FROM runs ORDER BY run_id"], capture_output=True, text=True)
    third = _audit_process(patient)
    still_running = first.poll() is None
    _, err = first.communicate(timeout=300)
    _, third_err = third.communicate(timeout=300)

    assert still_running, "the first audit ended before the others started: make the org larger"
    assert first.returncode == 0, seen + err
    assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
    message = second.stderr
    assert "another hullcheck process is writing the database" in message, message
    assert re.search(
        r"\(run 2, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, pid \d+, `hullcheck audit`\); waited 0.5 s", message
    ), message
    assert 0.4 < waited < 30
    assert runs.returncode == 0 and runs.stdout.splitlines() == ["run_id,status", "1,ok"], runs.stderr
    assert third.returncode == 0, third_err  # it waited for the first, then ran
    assert org.query("SELECT run_id, status FROM runs ORDER BY run_id") == [(1, "ok"), (2, "ok"), (3, "ok")]
    assert org.scalar("SELECT count(*) FROM latest_dockerfile_stages WHERE base_resolved LIKE 'alpine:%'") == repos


def test_sigkill_during_the_publish_leaves_the_previous_snapshot_and_the_next_audit_heals(tmp_path: Path) -> None:
    org = _org(tmp_path, 2)
    cfg = org.write_config()
    assert run_audit(org.config()).status == "ok"
    db = org.root / "audit.duckdb"
    files = DatabaseFiles(db)
    # Ballast in the writer's file (a private table no view reads), so that copying it takes long enough
    # to be caught in the act.
    with duckdb.connect(str(files.work)) as con:
        con.execute("CREATE TABLE zz_ballast AS SELECT range AS i, md5(range::VARCHAR) AS h FROM range(6000000)")
    before = org.query("SELECT run_id, status FROM runs ORDER BY run_id")
    org.repo("svc2", [Commit(days_ago(1), {"Dockerfile": "FROM alpine:3.20\n"})])
    audit = _audit_process(cfg)
    caught = False
    while audit.poll() is None:
        if files.staging.exists():
            audit.send_signal(signal.SIGKILL)
            caught = True
            break
        time.sleep(0.0005)
    audit.communicate(timeout=60)
    assert caught, "the publish ended before it was seen: make the ballast larger"
    assert audit.returncode == -signal.SIGKILL
    after = org.query("SELECT run_id, status FROM runs ORDER BY run_id")
    assert after == before, "a half-copied snapshot, or a run that was not published, shows"
    assert org.scalar("SELECT count(*) FROM latest_dockerfiles") == 2
    healed = run_audit(org.config())  # removes the half copy, publishes everything committed
    assert healed.status == "ok" and not files.staging.exists()
    assert org.query("SELECT run_id, status FROM runs ORDER BY run_id") == [(1, "ok"), (2, "ok"), (3, "ok")]
    assert org.scalar("SELECT count(*) FROM latest_dockerfiles") == 3


def test_hullcheck_sql_without_a_query_is_the_duckdb_shell_read_only(tmp_path: Path) -> None:
    org = _org(tmp_path, 1)
    cfg = org.write_config()
    assert run_audit(org.config()).status == "ok"
    script = ".mode csv\nSELECT repo, stage_count FROM latest_dockerfiles;\nCREATE TABLE mine (a INTEGER);\n"
    shell = subprocess.run([sys.executable, "-m", "hullcheck", "sql", "--config", str(cfg)], input=script,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert shell.stdout.splitlines() == ["repo,stage_count", "svc0,2"], shell.stderr
    assert "read-only mode" in shell.stderr  # the shell refuses to write
    assert "mine" not in {r[0] for r in org.query("SELECT table_name FROM duckdb_tables()")}


def test_db_upgrade_rewrites_an_older_file_at_once(tmp_path: Path) -> None:
    org = _org(tmp_path, 1)
    cfg = org.write_config()
    db = org.root / "audit.duckdb"
    with duckdb.connect(str(db)) as con:  # a file in DuckDB 2's own format, as hullcheck wrote before
        con.execute("CREATE TABLE legacy_marker AS SELECT 7 AS answer")
    upgrade = subprocess.run([sys.executable, "-m", "hullcheck", "db", "upgrade", "--config", str(cfg)],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    assert "rewritten in DuckDB v1.4.0's storage format; snapshot published" in upgrade.stdout, upgrade.stdout
    old = subprocess.run([str(DUCKDB_14), "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True);"
                          "print(c.execute('SELECT answer FROM legacy_marker').fetchone()[0])", str(db)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert old.stdout.strip() == "7", old.stderr
    again = subprocess.run([sys.executable, "-m", "hullcheck", "db", "upgrade", "--config", str(cfg)],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "storage format already current" in again.stdout, again.stdout
