"""The policy commands through the real CLI on the demo org: findings, explain, evaluate, waivers,
policies list/show/validate, and config mistakes reported before anything is audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from hullcheck.demo.org import create_demo_org

HULLCHECK = [sys.executable, "-m", "hullcheck"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HULLCHECK, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("policy-cli")
    config = create_demo_org(root / "demo")
    done = _cli("audit", "-q", "-c", str(config), cwd=root)
    assert done.returncode == 0, done.stderr
    assert "policies: 30 evaluated" in done.stdout or "policies:" in done.stdout
    return config


def test_findings_json_filters_by_team_and_severity(demo: Path) -> None:
    done = _cli("findings", "-c", str(demo), "--team", "payments", "--format", "json", cwd=demo.parent)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows and {r["team"] for r in rows} == {"payments"}
    severe = json.loads(_cli("findings", "-c", str(demo), "--severity", "error", "--format", "json",
                             cwd=demo.parent).stdout)  # fmt: skip
    assert all(r["severity"] in ("error", "critical") for r in severe)
    bad = _cli("findings", "-c", str(demo), "--severity", "loud", cwd=demo.parent)
    assert bad.returncode == 2 and "unknown severity 'loud'" in bad.stderr


def test_explain_takes_a_fingerprint_prefix_and_says_why(demo: Path) -> None:
    rows = json.loads(_cli("findings", "-c", str(demo), "--policy", "root-user", "--format", "json",
                           cwd=demo.parent).stdout)  # fmt: skip
    fp = rows[0]["fingerprint"]
    done = _cli("explain", fp[:8], "-c", str(demo), cwd=demo.parent)
    assert done.returncode == 0, done.stderr
    for part in ("root-user", "owner:    team", "decided by", "profile:", "Evidence:", "What to do instead:", fp):
        assert part in done.stdout
    missing = _cli("explain", "ffffffffffff", "-c", str(demo), cwd=demo.parent)
    assert missing.returncode == 2 and "no finding has a fingerprint starting with" in missing.stderr


def test_evaluate_records_a_new_evaluation_with_the_new_config_and_keeps_the_old(demo: Path) -> None:
    before = json.loads(
        _cli(
            "sql",
            "-c",
            str(demo),
            "--format",
            "json",
            "SELECT evaluation_id, config_hash, findings FROM evaluations",
            cwd=demo.parent,
        ).stdout
    )
    data = yaml.safe_load(demo.read_text())
    for team in data["teams"]:
        team.setdefault("policies", {})["root-user"] = {"enabled": False}
    data["waivers"] = [{"policy": "unpinned-base", "subject": "ml-notebooks/*", "reason": "pinned next sprint",
                        "author": "data-lead", "expires": (date.today() + timedelta(days=7)).isoformat()},
                       {"policy": "privileged-service", "subject": "nothing-matches-this", "reason": "old",
                        "author": "x", "expires": (date.today() + timedelta(days=60)).isoformat()}]  # fmt: skip
    changed = demo.with_name("changed.yaml")
    changed.write_text(yaml.safe_dump(data))
    done = _cli("evaluate", "-c", str(changed), cwd=demo.parent)
    assert done.returncode == 0, done.stderr
    assert "evaluation" in done.stdout and "findings" in done.stdout
    after = json.loads(_cli("sql", "-c", str(demo), "--format", "json",
                            "SELECT evaluation_id, config_hash, findings, is_current FROM evaluations ORDER BY 1",
                            cwd=demo.parent).stdout)  # fmt: skip
    assert len(after) == len(before) + 1 and after[-1]["is_current"] and not after[0]["is_current"]
    assert after[-1]["config_hash"] != after[0]["config_hash"]  # every finding says which config produced it
    current = json.loads(_cli("findings", "-c", str(demo), "--waived", "--format", "json", cwd=demo.parent).stdout)
    assert not [r for r in current if r["policy"] == "root-user"]
    waived = [r for r in current if r["waived"]]
    assert waived and all(r["waiver"] == "pinned next sprint" for r in waived)
    listed = _cli("waivers", "-c", str(demo), "--format", "json", cwd=demo.parent)
    statuses = {w["policy"]: w["status"] for w in json.loads(listed.stdout)}
    assert statuses == {"unpinned-base": "expiring", "privileged-service": "stale"}


def test_policies_list_show_validate(demo: Path) -> None:
    listed = json.loads(_cli("policies", "list", "--format", "json", cwd=demo.parent).stdout)
    assert len(listed) >= 30 and {"image-size-budget", "root-user", "secret-in-build"} <= {p["id"] for p in listed}
    shown = _cli("policies", "show", "image-size-budget", cwd=demo.parent).stdout
    assert "max_bytes (bytes) = 100 MB; microservice=100 MB, monolith=1 GB, datascience=8 GB" in shown
    unknown = _cli("policies", "show", "no-such", cwd=demo.parent)
    assert unknown.returncode == 2 and "unknown policy 'no-such'" in unknown.stderr
    checked = _cli("policies", "validate", "--no-cases", "-c", str(demo), cwd=demo.parent)
    assert checked.returncode == 0 and "profiles, team policies, overrides and waivers are valid" in checked.stdout


def test_a_config_naming_an_unknown_profile_fails_before_any_run(demo: Path) -> None:
    data = yaml.safe_load(demo.read_text())
    data["teams"][0]["profile"] = "data-science"
    bad = demo.with_name("bad.yaml")
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    runs = _cli("sql", "-c", str(demo), "--format", "json", "SELECT count(*) AS n FROM runs", cwd=demo.parent).stdout
    done = _cli("audit", "-q", "-c", str(bad), cwd=demo.parent)
    assert done.returncode == 2
    assert f"{bad}:" in done.stderr and "teams[0].profile: unknown profile 'data-science'" in done.stderr
    again = _cli("sql", "-c", str(demo), "--format", "json", "SELECT count(*) AS n FROM runs", cwd=demo.parent).stdout
    assert again == runs
