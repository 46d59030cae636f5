"""The `hullcheck` command as a user runs it: exit codes, output formats, help, errors."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.org import Org, days_ago

from hullcheck.demo.gitbuild import Commit

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def audited(org: Org, hullcheck_cli: Cli) -> Path:
    org.repo("api", [Commit(days_ago(2), {"Dockerfile": "FROM python:3.12\nRUN apt-get install -y gcc\n"})])
    org.repo("web", [Commit(days_ago(2), {"Dockerfile": "FROM node:20 AS b\nFROM nginx\nCOPY --from=b /a /b\n"})])
    cfg = org.write_config()
    r = hullcheck_cli("audit", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    return cfg


def test_audit_prints_progress_and_a_summary(audited: Path, hullcheck_cli: Cli) -> None:
    r = hullcheck_cli("audit", "-c", str(audited))
    assert r.returncode == 0
    assert "api: unchanged" in r.stderr and "web: unchanged" in r.stderr
    assert "run 2: ok — 2 repos: 0 extracted, 2 unchanged" in r.stdout


def test_audit_exit_codes(org: Org, hullcheck_cli: Cli) -> None:
    org.repo("ok", [Commit(days_ago(1), {"Dockerfile": "FROM a\n"})])
    org.sources.append({"url": str(org.root / "gone")})
    cfg = org.write_config()
    partial = hullcheck_cli("audit", "-c", str(cfg), "-q")
    assert partial.returncode == 1 and "partial" in partial.stdout and "repository not found" in partial.stdout
    bad = org.root / "bad.yaml"
    bad.write_text("sources:\n  git:\n    - uri: x\n")
    broken = hullcheck_cli("audit", "-c", str(bad))
    assert broken.returncode == 2 and "bad.yaml:3: sources.git[0].uri: unknown key" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert hullcheck_cli("audit", "-c", str(cfg), "--as-of", "last tuesday").returncode == 2


def test_sql_formats(audited: Path, hullcheck_cli: Cli) -> None:
    q = "SELECT repo, stage_count FROM latest_dockerfiles ORDER BY repo"
    as_json = hullcheck_cli("sql", "-c", str(audited), q, "--format", "json")
    assert json.loads(as_json.stdout) == [{"repo": "api", "stage_count": 1}, {"repo": "web", "stage_count": 2}]
    as_csv = hullcheck_cli("sql", "-c", str(audited), q, "--format", "csv")
    assert as_csv.stdout.splitlines() == ["repo,stage_count", "api,1", "web,2"]
    table = hullcheck_cli("sql", "-c", str(audited), q)
    assert "api" in table.stdout and "(2 rows)" in table.stderr


def test_sql_from_file_and_errors(audited: Path, hullcheck_cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "q.sql"
    f.write_text("-- how many runs\nSELECT count(*) AS n FROM runs;\n")
    assert json.loads(hullcheck_cli("sql", "-c", str(audited), "-f", str(f), "--format", "json").stdout) == [{"n": 1}]
    bad = hullcheck_cli("sql", "-c", str(audited), "SELECT nope FROM runs")
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr
    ro = hullcheck_cli("sql", "-c", str(audited), "DELETE FROM audit_runs")
    assert ro.returncode == 2 and "read-only" in ro.stderr.lower()
    none = hullcheck_cli("sql", "--database", str(tmp_path / "nothing.duckdb"), "SELECT 1")
    assert none.returncode == 2 and "no database yet" in none.stderr


def test_runs_lists_newest_first(audited: Path, hullcheck_cli: Cli) -> None:
    hullcheck_cli("audit", "-c", str(audited), "-q")
    r = hullcheck_cli("runs", "-c", str(audited))
    assert r.returncode == 0
    lines = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("│")]
    assert lines[0].split("│")[1].strip() == "2" and lines[1].split("│")[1].strip() == "1"


@pytest.mark.parametrize("command", ["audit", "sql", "runs", "demo"])
def test_every_command_has_help(command: str, hullcheck_cli: Cli) -> None:
    r = hullcheck_cli(command, "--help")
    assert r.returncode == 0 and "Usage:" in r.stdout and len(r.stdout.splitlines()) > 5


def test_demo_runs_the_whole_job(tmp_path: Path, hullcheck_cli: Cli) -> None:
    r = hullcheck_cli("demo", "--dir", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    # Ten backfilled weeks (the oldest sees 9 of the 12 repositories), then tonight's audit with images,
    # then the site and the mails.
    assert "run 1: ok — 12 repos: 9 extracted" in r.stdout
    assert "run 11: ok — 12 repos: 0 extracted, 12 unchanged" in r.stdout and "8 new digests" in r.stdout
    demo = tmp_path / "demo"
    assert (demo / "report" / "index.html").is_file() and len(list((demo / "report" / "mail").glob("*.eml"))) == 5
    again = hullcheck_cli("demo", "--dir", str(tmp_path / "demo"))
    assert "10 of 10 moments were already audited (skipped)" in again.stdout
    assert "run 12: ok — 12 repos: 0 extracted, 12 unchanged" in again.stdout and "0 new digests" in again.stdout


def test_audit_on_a_terminal_shows_a_progress_bar(audited: Path, tmp_path: Path) -> None:
    """Under a pseudo-terminal (util-linux `script`) the audit draws a rich progress bar."""
    exe = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "hullcheck"
    r = subprocess.run(
        ["script", "-qec", f"{exe} audit -c {audited}", "/dev/null"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0
    assert "auditing" in r.stdout and "2/2" in r.stdout  # the bar, completed
    assert "run 2: ok" in r.stdout
