"""`hullcheck policies simulate` equals reality (issue 10): on the demo org backfilled over six weeks and
audited tonight, a simulated config change gives, per run and per team, exactly the open findings that
`hullcheck evaluate` gives on a copy of the database after making the same change in the config; and the
database file is byte-identical before and after the simulation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from hullcheck.demo.org import create_demo_org

HULLCHECK = [sys.executable, "-m", "hullcheck"]
# Two changes of two kinds: a team's threshold (findings appear) and a profile's severity (findings change
# severity), in the config's own paths.
SETTINGS = ["teams.payments.policies.image-size-budget.max_bytes=1MB",
            "profiles.monolith.root-user.base_unknown_severity=error"]  # fmt: skip


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HULLCHECK, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1"})  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("simulate")
    config = create_demo_org(root / "demo")
    for args in (("backfill", "--weeks", "6"), ("audit", "-q")):
        done = cli(*args, "-c", str(config), cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
    return config


def _open_findings(db: Path, run: int) -> set[tuple[str, str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT team, fingerprint, severity FROM findings WHERE run_id = ? AND NOT waived",
                           [run]).fetchall()  # fmt: skip
    finally:
        con.close()
    return {(str(t), str(f), str(s)) for t, f, s in rows}


def _threshold_and_severity(data: dict[str, Any]) -> None:
    next(t for t in data["teams"] if t["name"] == "payments").setdefault("policies", {})["image-size-budget"] = {
        "max_bytes": "1MB"}  # fmt: skip
    data.setdefault("profiles", {})["monolith"] = {"policies": {"root-user": {"base_unknown_severity": "error"}}}


def _team_repos(data: dict[str, Any]) -> None:
    next(t for t in data["teams"] if t["name"] == "storefront")["repos"] = ["storefront-*"]


CHANGES = {  # what `--set` says, and the same change made by hand in the config
    "policy parameters (only those policies run)": (SETTINGS, ["image-size-budget", "root-user"],
                                                    _threshold_and_severity),
    "a team's repositories (the whole catalog runs)": (["teams.storefront.repos=[storefront-*]"], None, _team_repos),
}  # fmt: skip


@pytest.mark.parametrize("change", list(CHANGES))
def test_simulate_equals_evaluate_after_the_change_and_writes_nothing(demo: Path, tmp_path: Path, change: str) -> None:
    settings, affected, edit = CHANGES[change]
    db = demo.parent / "hullcheck.duckdb"
    before_bytes = db.read_bytes()
    args = [a for s in settings for a in ("--set", s)]
    done = cli("policies", "simulate", *args, "--since", "all", "--every-run", "--format", "json", "-c", str(demo),
               cwd=demo.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert db.read_bytes() == before_bytes  # nothing written, not even a checkpoint
    sim: dict[str, Any] = json.loads(done.stdout)
    assert sim["affected_policies"] == affected
    runs = [r["run_id"] for r in sim["runs"]]
    assert len(runs) >= 7  # six backfilled weeks and tonight
    fires = {
        (c["run_id"], c["team"], c["fingerprint"], c["severity"]) for c in sim["changes"] if c["change"] == "fires"
    }
    stops = {
        (c["run_id"], c["team"], c["fingerprint"], c["severity"]) for c in sim["changes"] if c["change"] == "stops"
    }
    if affected:
        assert any(c["policy_id"] == "image-size-budget" for c in sim["changes"])  # the threshold bites
        assert any(c["policy_id"] == "root-user" and c["severity"] == "error" for c in sim["changes"])  # severity
    else:
        # the repositories storefront no longer owns: their findings leave it for `unowned`
        moved = {(c["team"], c["change"]) for c in sim["changes"]}
        assert moved == {("storefront", "stops"), ("unowned", "fires")}

    # Reality: the same change made in the config of a copy, and each run evaluated again.
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    data = yaml.safe_load(demo.read_text())
    data["database"] = str(copy)
    edit(data)
    changed = demo.with_name("changed.yaml")
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    for run in runs:
        done = cli("evaluate", "--run", str(run), "-c", str(changed), cwd=demo.parent)
        assert done.returncode == 0, done.stdout + done.stderr
    for r in sim["runs"]:
        run = r["run_id"]
        assert r["before"] == r["stored"]  # today's evaluation without the change is the stored one here
        stored = _open_findings(db, run)
        simulated = {x for x in stored if (run, *x) not in stops} | {(t, f, s) for (n, t, f, s) in fires if n == run}
        real = _open_findings(copy, run)
        assert simulated == real, (
            f"run {run}: simulated minus real {simulated - real}, real minus simulated {real - simulated}"
        )
        counts: dict[str, int] = {}
        for team, _, _ in real:
            counts[team] = counts.get(team, 0) + 1
        assert r["after"] == counts


def test_simulate_table_and_mistakes(demo: Path) -> None:
    done = cli("policies", "simulate", "--set", SETTINGS[0], "--since", "3w", "-c", str(demo), cwd=demo.parent)
    assert done.returncode == 0, done.stderr
    assert "today's config → changed" in done.stdout and "would newly fire" in done.stdout
    assert "payments" in done.stdout and "nothing was written" in done.stderr
    for args, words in [
        (["--set", "teams.nobody.policies.image-size-budget.max_bytes=1MB"], "has no team 'nobody'"),
        (["--set", "teams.payments.policies.image-size-budget.max_bytes=lots"], "max_bytes"),
        (["--set", "novalue"], "expected KEY=VALUE"),
        ([], "nothing to simulate"),
        (["--set", SETTINGS[0], "--since", "soon"], "--since 'soon'"),
        (["--policy-file", "x.yaml"], "two files"),
    ]:
        bad = cli("policies", "simulate", *args, "-c", str(demo), cwd=demo.parent)
        assert bad.returncode == 2 and words in bad.stderr, (args, bad.stderr)


def test_a_drafted_policy_is_tried_over_history(demo: Path, tmp_path: Path) -> None:
    draft = tmp_path / "no-healthcheck.yaml"
    draft.write_text(yaml.safe_dump({
        "id": "no-healthcheck", "title": "Dockerfiles declare a HEALTHCHECK", "category": "tooling",
        "subject": ["dockerfile"], "severity": "info", "rationale": "An orchestrator restarts what it can probe.",
        "instead": "Add a HEALTHCHECK to the final stage.",
    }))  # fmt: skip
    (tmp_path / "no-healthcheck.sql").write_text(
        "SELECT o.subject_id, p.severity, 'no HEALTHCHECK' AS message, {'path': o.path} AS evidence, NULL AS line,\n"
        "       NULL AS stage, NULL AS key\n"
        "FROM subjects o JOIN params p USING (situation)\n"
        "WHERE o.subject_kind = 'dockerfile' AND NOT EXISTS (SELECT 1 FROM dockerfile_instructions i\n"
        "    WHERE i.run_id = o.run_id AND i.repo = o.repo AND i.path = o.path AND i.keyword = 'HEALTHCHECK')\n"
    )
    sql = tmp_path / "no-healthcheck.sql"
    done = cli("policies", "simulate", "--policy-file", str(draft), "--policy-sql", str(sql), "--since", "1w",
               "--format", "json", "-c", str(demo), cwd=demo.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    sim = json.loads(done.stdout)
    fired = [c for c in sim["changes"] if c["policy_id"] == "no-healthcheck"]
    run = sim["runs"][-1]["run_id"]
    con = duckdb.connect(str(demo.parent / "hullcheck.duckdb"), read_only=True)
    assert run == con.execute("SELECT run_id FROM latest_evaluation").fetchone()[0]
    without = con.execute(
        "SELECT count(*) FROM latest_dockerfiles d WHERE NOT EXISTS (SELECT 1 FROM latest_dockerfile_instructions i "
        "WHERE i.repo = d.repo AND i.path = d.path AND i.keyword = 'HEALTHCHECK')").fetchone()[0]  # fmt: skip
    con.close()
    assert without > 0 and len([c for c in fired if c["run_id"] == run]) == without
    assert {c["change"] for c in sim["changes"]} == {"fires"}  # nothing else moves
