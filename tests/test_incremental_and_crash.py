"""Incremental reruns cost one observation row per repo; a killed audit leaves nothing half visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit, write_repo
from hullcheck.store_files import DatabaseFiles

STORAGE_TABLES = (
    "audit_runs",
    "git_snapshots",
    "git_commits",
    "git_commit_files",
    "git_blobs",
    "df_files",
    "df_stages",
    "df_instructions",
    "df_packages",
    "df_vars",
    "df_copies",
)


def _counts(org: Org) -> dict[str, int]:
    return {t: int(org.scalar(f"SELECT count(*) FROM {t}")) for t in STORAGE_TABLES}


def _make_org(org: Org, n: int) -> None:
    for i in range(n):
        org.repo(
            f"svc-{i:02d}",
            [
                Commit(
                    days_ago(9),
                    {
                        "Dockerfile": f"FROM python:3.{i % 5 + 8}\nRUN pip install app{i}\n",
                        "compose.yaml": f"services:\n  s{i}:\n    build: .\n",
                    },
                ),
            ],
        )


@pytest.mark.parametrize(
    ("transport", "fixture", "git_processes"),
    [
        ("local", None, 0),  # ref files read in-process
        ("git://", "git_daemon", 0),  # ref advertisement read in-process
        ("smart http", "smart_http", 0),  # same, over HTTP
        ("dumb http", "dumb_http", 4),  # no smart server: one `git ls-remote` per repo
    ],
)
def test_no_change_rerun_reads_no_blob_and_adds_only_observations(
    org: Org, transport: str, fixture: str | None, git_processes: int, request: pytest.FixtureRequest
) -> None:
    _make_org(org, 4)
    if fixture is not None:
        base = request.getfixturevalue(fixture)
        suffix = "/.git" if "http" in transport else ""  # HTTP serves the work trees' .git directories
        org.sources = [{"url": f"{base}/svc-{i:02d}{suffix}", "name": f"svc-{i:02d}"} for i in range(4)]
    cfg = org.config()
    first = run_audit(cfg)
    assert first.git.extracted == 4 and first.git.stats.blobs_read == 8, first.git.failures
    before = _counts(org)

    trace = org.root / "trace.txt"
    os.environ["GIT_TRACE"] = str(trace)
    try:
        second = run_audit(cfg)
    finally:
        del os.environ["GIT_TRACE"]
    assert second.status == "ok" and second.git.unchanged == 4 and second.git.extracted == 0, second.git.failures
    assert second.git.stats.blobs_read == 0 and second.git.stats.fetches == 0 and second.git.stats.clones == 0
    lines = trace.read_text().splitlines() if trace.exists() else []
    server_side = ("upload-pack", "http-backend")  # the test's own HTTP server traces too
    built_ins = [c for c in lines if "trace: built-in: git" in c and not any(s in c for s in server_side)]
    assert second.git.stats.processes == git_processes == len(built_ins)
    assert all("ls-remote" in c for c in built_ins), built_ins

    after = _counts(org)
    grown = {t: after[t] - before[t] for t in STORAGE_TABLES if after[t] != before[t]}
    assert grown == {"audit_runs": 1, "git_snapshots": 4}
    # the unchanged repos still show all their facts in the latest views
    assert org.scalar("SELECT count(*) FROM latest_dockerfiles") == 4
    assert org.scalar("SELECT max(run_id) FROM latest_repo_snapshots") == second.run_id


def test_a_change_in_one_repo_rereads_only_that_repo(org: Org) -> None:
    _make_org(org, 4)
    cfg = org.config()
    run_audit(cfg)
    write_repo(org.repos / "svc-02", [Commit(days_ago(1), {"Dockerfile": "FROM python:3.13-slim\n"})])
    summary = run_audit(cfg)
    assert (summary.git.extracted, summary.git.unchanged) == (1, 3)
    # the new Dockerfile, and the unchanged Compose file again: Compose projects span files and are
    # extracted per commit (read again from the local mirror; only blobs the mirror lacks are fetched)
    assert summary.git.stats.blobs_read == 2
    assert summary.git.stats.fetches == 1 and summary.git.stats.clones == 0
    assert org.query("SELECT repo, base_tag FROM latest_dockerfile_stages WHERE repo = 'svc-02'") == [
        ("svc-02", "3.13-slim")
    ]
    assert org.query("SELECT repo FROM repo_snapshots WHERE run_id = ? AND status = 'extracted'", [summary.run_id]) == [
        ("svc-02",)
    ]


def _latest_state(org: Org) -> list[tuple[object, ...]]:
    return org.query(
        "SELECT s.repo, s.run_id, s.commit_sha, d.path, d.blob_sha FROM latest_repo_snapshots s "
        "LEFT JOIN latest_dockerfiles d USING (run_id, repo) ORDER BY ALL"
    )


def test_sigkill_mid_audit_leaves_earlier_runs_and_latest_views_intact(org: Org) -> None:
    n = 30
    _make_org(org, n)
    org.extra.update({"concurrency": 1, "write_batch_repos": 1})
    cfg_path = org.write_config()
    cfg = org.config()
    run_audit(cfg)
    state_before = _latest_state(org)
    runs_before = org.query("SELECT run_id, status, finished_at FROM runs")
    for i in range(n):  # every repo changes: the next audit writes facts for each
        write_repo(org.repos / f"svc-{i:02d}", [Commit(days_ago(1), {"Dockerfile": f"FROM alpine:3.{i}\n"})])

    proc = subprocess.Popen(
        [sys.executable, "-m", "hullcheck", "audit", "--config", str(cfg_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    seen = 0
    for line in proc.stderr:
        if ": extracted " in line:
            seen += 1
        if seen == 8:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the audit ended before it could be killed mid-run"

    # the killed run wrote rows into the writer's file (so the test means something), yet nothing of it
    # is visible: it never reached the published snapshot
    with duckdb.connect(str(DatabaseFiles(org.root / "audit.duckdb").work), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM git_snapshots WHERE run_id = 2").fetchone()[0] >= 6
        assert con.execute("SELECT status FROM audit_runs WHERE run_id = 2").fetchall() == [("running",)]
    assert org.query("SELECT count(*) FROM audit_runs WHERE run_id = 2") == [(0,)]
    assert org.query("SELECT run_id, status, finished_at FROM runs WHERE run_id = 1") == runs_before
    assert _latest_state(org) == state_before
    assert org.scalar("SELECT count(*) FROM repo_snapshots WHERE run_id = 2") == 0

    summary = run_audit(cfg)
    assert summary.status == "ok" and summary.git.total == n
    # what the killed run extracted is not done again: commit facts are kept by content, so the
    # rerun (a retried flow run as well) finds those commits known and only records them
    assert summary.git.unchanged >= 6 and summary.git.extracted == n - summary.git.unchanged
    statuses = dict(org.query("SELECT run_id, status FROM runs"))
    assert statuses == {1: "ok", 2: "failed", 3: "ok"}
    assert "abandoned" in str(org.scalar("SELECT message FROM runs WHERE run_id = 2"))
    tags = {r[0] for r in org.query("SELECT base_tag FROM latest_dockerfile_stages")}
    assert tags == {f"3.{i}" for i in range(n)}


def test_write_batches_are_whole_repositories(org: Org, tmp_path: Path) -> None:
    """A commit marked extracted always has its file rows: they are written in one transaction."""
    _make_org(org, 3)
    org.extra["write_batch_repos"] = 2
    run_audit(org.config())
    orphans = org.scalar(
        "SELECT count(*) FROM git_commits c WHERE NOT EXISTS "
        "(SELECT 1 FROM git_commit_files f WHERE f.repo = c.repo AND f.commit_sha = c.commit_sha)"
    )
    assert orphans == 0


def test_sigterm_stops_the_audit_and_records_the_run_as_failed(org: Org) -> None:
    _make_org(org, 30)
    org.extra.update({"concurrency": 1, "write_batch_repos": 1})
    cfg_path = org.write_config()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hullcheck", "audit", "--config", str(cfg_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("[3/30]"):
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 143
    assert "stopped: received SIGTERM" in rest
    run = org.query("SELECT status, message FROM runs")
    assert run[0][0] == "failed" and "Stopped" in run[0][1]
    assert org.scalar("SELECT count(*) FROM git_snapshots") < 30  # the queue was not crawled to the end
    assert org.scalar("SELECT count(*) FROM latest_repo_snapshots") == 0
