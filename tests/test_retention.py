"""`hullcheck db prune` and `hullcheck db stats` on a real audited org (git repositories and image layouts).

After a prune every public view answers for the kept runs exactly as before, the file shrinks, a dry
run changes nothing, the newest run and the runs `latest_*` views rest on are never dropped.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import duckdb
from support.oci.builder import Image, Layer
from support.oci.layouts import write_oci_layout
from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit
from hullcheck.store_files import DatabaseFiles

PAIRWISE = {"finding_events", "finding_changes"}  # each run against the run before it
# Trend views are per ISO week: compared on the weeks of the kept runs; those built on the pairwise
# events also leave out the oldest kept run's week (its findings are all new after a prune).
WEEKLY_EVENTS = {"weekly_findings"}
# Time to resolve is measured from the run that opened a finding: compared only for findings that
# opened after the oldest kept run (earlier openings are in pruned runs); its aggregate is skipped.
RESOLUTIONS, SKIPPED = "finding_resolutions", {"weekly_resolution"}


def _image(name: str) -> Image:
    return Image([Layer({f"/app/{name}.txt": f"{name}\n".encode() * 50})], {"Labels": {"title": name}})


def _views(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE table_name IN (SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main') "
        "GROUP BY table_name"
    ).fetchall()
    return {str(name): list(cols) for name, cols in rows}


def _state(db: Path, kept: set[int], oldest_kept: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every public view's rows for the kept runs (every row, for views without a run id), sorted."""
    with duckdb.connect(str(db), read_only=True) as con:
        state = {}
        oldest_at, oldest_week = con.execute(
            f"SELECT effective_at, week FROM run_weeks WHERE run_id = {oldest_kept}").fetchone()  # fmt: skip
        weeks = {
            r[0] for r in con.execute(f"SELECT week FROM run_weeks WHERE run_id IN {tuple(sorted(kept))}").fetchall()
        }
        for view, cols in _views(con).items():
            sql = f'SELECT * FROM "{view}"'
            if view in SKIPPED:
                continue
            if view == RESOLUTIONS:
                sql += f" WHERE opened_at > TIMESTAMPTZ '{oldest_at.isoformat()}'"
            elif "week" in cols and "run_id" not in cols:
                chosen = weeks - {oldest_week} if view in WEEKLY_EVENTS else weeks
                sql += f" WHERE week IN ({', '.join(repr(w) for w in sorted(chosen)) or 'NULL'})"
            elif "run_id" in cols:
                ids = kept - {oldest_kept} if view in PAIRWISE else kept  # see the test's last note
                sql += f" WHERE run_id IN ({', '.join(map(str, sorted(ids)))})"
            state[view] = sorted(con.execute(sql).fetchall(), key=repr)
    return state


def test_prune_keeps_every_view_of_the_kept_runs_and_shrinks_the_file(
    org: Org, hullcheck_cli: Callable[..., CompletedProcess[str]]
) -> None:
    for name in ("api", "gone"):
        org.repo(name, [Commit(days_ago(900), {"Dockerfile": f"FROM python:3.10\nCOPY {name} /\n" * 40})])
    layout = org.root / "layout"
    org.extra = {"layouts": [{"path": "layout"}]}
    cfg = org.write_config()
    db = org.root / "audit.duckdb"
    for i, tags in enumerate([{"1.0": _image("one"), "2.0": _image("two")}, {"3.0": _image("three")}]):
        shutil.rmtree(layout, ignore_errors=True)
        write_oci_layout(layout, tags)
        if i:
            for name in ("api", "gone"):
                org.repo(
                    name, [Commit(days_ago(600), {"Dockerfile": f"FROM python:3.11\nRUN echo {name}\n"})], add=False
                )
        assert run_audit(org.config()).status == "ok"
    # Runs 1 and 2 happened 500 and 450 days ago (the writer's file, between audits).
    with duckdb.connect(str(DatabaseFiles(db).work)) as con:
        con.execute("UPDATE audit_runs SET started_at = started_at - INTERVAL 500 DAY WHERE run_id = 1")
        con.execute("UPDATE audit_runs SET started_at = started_at - INTERVAL 450 DAY WHERE run_id = 2")
    shutil.rmtree(org.repos / "gone")  # run 3 cannot read it: its latest facts stay those of run 2
    write_oci_layout(layout, {"4.0": _image("four")})
    assert run_audit(org.config()).status == "partial"

    before = _state(db, {2, 3}, oldest_kept=2)
    size_before = db.stat().st_size
    stats = hullcheck_cli("db", "stats", "--config", str(cfg), "--format", "json")
    assert stats.returncode == 0, stats.stderr
    counted = json.loads(stats.stdout)
    assert counted["runs"] == {"ok": 2, "partial": 1} and counted["rows"]["git_snapshots"] == 6
    assert counted["published_bytes"] == size_before

    dry = hullcheck_cli("db", "prune", "--config", str(cfg), "--keep", "400d")
    assert dry.returncode == 0, dry.stderr
    assert "would remove 1 run(s)" in dry.stdout and "UTC: 1\n" in dry.stdout, dry.stdout
    assert "kept although older: run(s) 2" in dry.stdout, dry.stdout
    assert "dry run: nothing was changed" in dry.stdout
    again = hullcheck_cli("db", "stats", "--config", str(cfg), "--format", "json")
    assert json.loads(again.stdout)["rows"] == counted["rows"]

    applied = hullcheck_cli("db", "prune", "--config", str(cfg), "--keep", "400d", "--apply")
    assert applied.returncode == 0, applied.stderr
    assert "removed 1 run(s)" in applied.stdout, applied.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT list(run_id ORDER BY run_id) FROM runs").fetchone()[0] == [2, 3]
        # Run 1's facts are gone: its Python 3.10 Dockerfiles and its two image tags' manifests and layers.
        assert con.execute("SELECT count(*) FROM df_stages WHERE base_as_written = 'python:3.10'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM image_manifest_facts").fetchone()[0] == 2
    after = _state(db, {2, 3}, oldest_kept=2)
    changed = sorted(v for v in before if before[v] != after.get(v))
    assert not changed, f"views that answer differently for the kept runs: {changed}"
    assert db.stat().st_size < size_before

    # The newest committed run is never dropped, nor one a latest_* view rests on, whatever --keep says.
    hullcheck_cli("db", "prune", "--config", str(cfg), "--keep", "1s", "--apply")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT list(run_id ORDER BY run_id) FROM runs").fetchone()[0] == [2, 3]
    # (finding_events and finding_changes are compared without the oldest kept run: they compare each run
    # with the one before it, and that one was pruned; docs/schema.md says so.)


def test_prune_refuses_a_keep_it_cannot_read(org: Org, hullcheck_cli: Callable[..., CompletedProcess[str]]) -> None:
    org.repo("api", [Commit(days_ago(3), {"Dockerfile": "FROM alpine:3.20\n"})])
    cfg = org.write_config()
    r = hullcheck_cli("db", "prune", "--config", str(cfg), "--keep", "forever")
    assert r.returncode == 2 and "--keep 'forever'" in r.stderr and "Traceback" not in r.stderr, r.stderr
