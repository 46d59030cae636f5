"""Findings out of the database, through the real CLI on a real org audited five times (issue 10):
`hullcheck export` (SARIF checked by Microsoft's validator and the SARIF 2.1.0 schema, JSON by its
documented schema, CSV by the `findings` view's columns), `hullcheck check` (the gate) over runs and
over a working tree, and the pre-commit hook's entry.

The org's story (one real git commit per night, each night audited):
1. api on `python:3.12-slim` with a non-root USER (clean); web's Dockerfile, in a folder with a space
   in its name, has no USER (root-user) and a Compose service builds it;
2. api moves to `python:latest` (a regression: unpinned-base); web adds a USER (an improvement);
3. nothing changes;
4. api goes back to its pinned tag (only an improvement);
5. api moves to `python:latest` again, under a config waiver for it (a waived regression).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import jsonschema
import pytest
import yaml
from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.config import load_config
from hullcheck.demo.gitbuild import Commit, write_repo

ROOT = Path(__file__).resolve().parents[1]
SARIF_TOOL = ROOT / ".venv/sarif/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
SARIF_SCHEMA = SARIF_TOOL.parent / "sarif-2.1.0.json"
HULLCHECK = [sys.executable, "-m", "hullcheck"]

API_PINNED = 'FROM python:3.12-slim\nUSER 10001\nCMD ["python", "-m", "app"]\n'
API_LATEST = 'FROM python:latest\nUSER 10001\nCMD ["python", "-m", "app"]\n'
WEB_ROOT = 'FROM node:20\nCMD ["node", "server.js"]\n'
WEB_USER = 'FROM node:20\nUSER 10001\nCMD ["node", "server.js"]\n'
WEB_PATH = "deploy/my app/Dockerfile"
COMPOSE = "services:\n  web:\n    build: {context: ., dockerfile: 'deploy/my app/Dockerfile'}\n"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HULLCHECK, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1"})  # fmt: skip


class Story:
    def __init__(self, org: Org, config: Path) -> None:
        self.org, self.config, self.root = org, config, org.root

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, "-c", str(self.config), cwd=self.root)

    def fingerprints(self, run: int) -> dict[str, tuple[Any, ...]]:
        rows = self.org.query("SELECT fingerprint, policy_id, subject, waived FROM findings WHERE run_id = ?", [run])
        return {r[0]: r for r in rows}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    org = Org(tmp_path_factory.mktemp("findings-out"))
    api = org.repo("api", [Commit(days_ago(5), {"Dockerfile": API_PINNED})])
    web = org.repo("web", [Commit(days_ago(5), {WEB_PATH: WEB_ROOT, "compose.yaml": COMPOSE})])
    config = org.write_config()
    nights = [
        {},
        {api: {"Dockerfile": API_LATEST}, web: {WEB_PATH: WEB_USER}},
        {},
        {api: {"Dockerfile": API_PINNED}},
        {api: {"Dockerfile": API_LATEST}},
    ]
    for n, changes in enumerate(nights, 1):
        for repo, files in changes.items():
            write_repo(repo, [Commit(days_ago(5 - n), files, f"night {n}")])
        if n == 5:  # the last regression is waived before it is audited
            data = yaml.safe_load(config.read_text())
            expires = (date.today() + timedelta(days=30)).isoformat()
            data["waivers"] = [{"policy": "unpinned-base", "subject": "api/*", "reason": "moving to digests in Q1",
                                "author": "api-lead", "expires": expires}]  # fmt: skip
            config.write_text(yaml.safe_dump(data, sort_keys=False))
        assert run_audit(load_config(config)).status == "ok"
    return Story(org, config)


# -- the gate over runs --------------------------------------------------------------------------
def test_a_regression_fails_the_gate_and_is_named(story: Story) -> None:
    done = story.run("check", "--run", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "against run 1" in done.stdout and "1 new" in done.stdout and "1 resolved" in done.stdout
    failing = [line for line in done.stdout.splitlines() if line.startswith("  ")]
    assert len(failing) == 1 and "unpinned-base" in failing[0] and "api/Dockerfile:1" in failing[0]
    assert "latest" in failing[0]
    # what got better is not what failed it
    assert "root-user" not in done.stdout.split("FAILED", 1)[1]


def test_no_change_passes(story: Story) -> None:
    done = story.run("check", "--run", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "against run 2" in done.stdout and "0 new, 0 resolved, 1 unchanged" in done.stdout
    assert "passed: nothing got worse" in done.stdout


def test_only_an_improvement_passes_and_says_what_was_resolved(story: Story) -> None:
    done = story.run("check", "--run", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 new, 1 resolved" in done.stdout
    assert "resolved: WARNING unpinned-base api/Dockerfile:1" in done.stdout or "resolved: ERROR unpinned-base" in (
        done.stdout
    )


def test_a_waived_regression_passes(story: Story) -> None:
    waived = [r for r in story.fingerprints(5).values() if r[1] == "unpinned-base"]
    assert waived and all(r[3] for r in waived)  # the regression is there, waived
    done = story.run("check")  # the newest run (5) against the one before (4)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run 5 against run 4" in done.stdout and "0 new" in done.stdout


def test_fail_on_any_and_severity_floor_and_explicit_baseline(story: Story) -> None:
    # run 1 has web's root-user open: with --fail-on any it fails, whatever the baseline
    assert story.run("check", "--run", "1", "--fail-on", "any").returncode == 1
    assert story.run("check", "--run", "1", "--fail-on", "any", "--min-severity", "critical").returncode == 0
    # run 2 against run 1 fails, against itself... nothing is new
    assert story.run("check", "--run", "2", "--baseline", "2").returncode == 0
    # the team filter: web's team is everyone's, a team with no findings passes
    assert story.run("check", "--run", "2", "--team", "nobody").returncode == 0
    assert story.run("check", "--run", "2", "--repo", "web").returncode == 0  # web only improved
    bad = story.run("check", "--baseline", "soon")
    assert bad.returncode == 2 and "use latest or a run id" in bad.stderr
    bad = story.run("check", "--min-severity", "loud")
    assert bad.returncode == 2 and "unknown severity 'loud'" in bad.stderr


# -- the gate over a working tree ----------------------------------------------------------------
def test_check_path_fails_only_on_what_the_checkout_adds(story: Story, tmp_path: Path) -> None:
    checkout = tmp_path / "web"
    (checkout / "deploy/my app").mkdir(parents=True)
    (checkout / WEB_PATH).write_text(WEB_USER)
    (checkout / "compose.yaml").write_text(COMPOSE)
    database = story.root / "audit.duckdb"
    before = database.read_bytes()
    same = story.run("check", "--path", str(checkout), "--repo", "web")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "against run 5" in same.stdout and "0 new" in same.stdout
    (checkout / "tools").mkdir()
    (checkout / "tools/Dockerfile").write_text("FROM alpine\nRUN apk add curl\n")
    worse = story.run("check", "--path", str(checkout), "--repo", "web")
    assert worse.returncode == 1, worse.stdout + worse.stderr
    named = worse.stdout.split("FAILED", 1)[1]
    assert "web/tools/Dockerfile" in named and "root-user" in named
    assert "deploy/my app" not in named  # the unchanged Dockerfile adds nothing
    assert database.read_bytes() == before  # the org's database is only read
    assert story.run("check", "--path", str(checkout)).returncode == 2  # --repo is required


def test_the_pre_commit_hook_runs_the_gate_on_the_checkout(story: Story, tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "hullcheck")
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    entry = hook["entry"].split()
    assert entry[:2] == ["hullcheck", "check"]
    checkout = tmp_path / "api"
    checkout.mkdir()
    (checkout / "Dockerfile").write_text("FROM python:latest\nUSER 10001\n")  # the waived regression: passes
    done = subprocess.run([*HULLCHECK, *entry[1:], "--repo", "api", "-c", str(story.config)], cwd=checkout,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Dockerfile" in yaml.safe_dump(hook["files"]) or "Dockerfile" in hook["files"]


# -- export --------------------------------------------------------------------------------------
def _sarif(story: Story, *args: str) -> dict[str, Any]:
    done = story.run("export", "--format", "sarif", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _validator(path: Path, rule_kind: str) -> list[dict[str, Any]]:
    assert SARIF_TOOL.is_file(), f"{SARIF_TOOL} missing: ./scripts/test installs it (npm @microsoft/sarif-multitool)"
    out = path.with_suffix(f".{rule_kind}.validation.sarif")
    done = subprocess.run([str(SARIF_TOOL), "validate", str(path), "--rule-kind", rule_kind, "--output", str(out)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"})  # fmt: skip
    assert done.returncode == 0 and out.is_file(), done.stdout + done.stderr
    return json.loads(out.read_text())["runs"][0]["results"]


def test_sarif_is_valid_for_the_validator_the_schema_and_code_scanning(story: Story, tmp_path: Path) -> None:
    log = _sarif(story, "--run", "2")
    path = tmp_path / "run2.sarif"
    path.write_text(json.dumps(log))
    for kind in ("Sarif", "Ghas"):  # the SARIF rules, and GitHub code scanning's upload rules
        errors = [r for r in _validator(path, kind) if r.get("level") == "error"]
        assert errors == [], errors
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft202012Validator(schema).validate(log)
    # the validator does find errors: a result without a rule id or message is one
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0].pop("message")
    (tmp_path / "broken.sarif").write_text(json.dumps(broken))
    assert any(r.get("level") == "error" for r in _validator(tmp_path / "broken.sarif", "Sarif"))


def test_sarif_rules_locations_fingerprints_and_baseline_states(story: Story) -> None:
    run = _sarif(story, "--run", "2")["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    assert {"root-user", "unpinned-base", "image-size-budget"} <= set(by_id)  # the whole catalog
    assert "DL3002" in by_id["root-user"]["help"]["text"] and by_id["root-user"]["help"]["markdown"]
    results = run["results"]
    now, before = story.fingerprints(2), story.fingerprints(1)
    states = {r["partialFingerprints"]["hullcheck/v1"]: r["baselineState"] for r in results}
    assert {fp for fp, s in states.items() if s != "absent"} == set(now)
    assert {fp for fp, s in states.items() if s == "absent"} == set(before) - set(now)
    assert {fp for fp, s in states.items() if s == "unchanged"} == set(before) & set(now)
    new = [r for r in results if r["baselineState"] == "new"]
    assert [r["ruleId"] for r in new] == ["unpinned-base"]
    loc = new[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "Dockerfile", "uriBaseId": "REPOROOT"}
    assert loc["region"] == {"startLine": 1}
    assert new[0]["properties"]["team"] == "everyone" and new[0]["properties"]["profile"] == "microservice"
    assert "require_digest" in new[0]["properties"]["parameters"]
    gone = [r for r in results if r["baselineState"] == "absent"]
    assert {r["ruleId"] for r in gone} == {"root-user"}
    uri = gone[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "deploy/my%20app/Dockerfile"  # a relative URI reference: the space encoded
    for r in results:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    service = [r for r in results if r["properties"]["subject_kind"] == "compose_service"]
    assert service and service[0]["locations"][0]["logicalLocations"][0]["name"] == "web"


def test_sarif_carries_waivers_as_suppressions_and_splits_per_repository(story: Story, tmp_path: Path) -> None:
    results = _sarif(story, "--run", "5", "--repo", "api")["runs"][0]["results"]
    waived = [r for r in results if r["ruleId"] == "unpinned-base"]
    assert waived and waived[0]["suppressions"][0]["justification"] == "moving to digests in Q1"
    assert waived[0]["suppressions"][0]["kind"] == "external"
    assert all(r["properties"]["subject"].startswith("api/") for r in results)
    out = tmp_path / "split"
    done = story.run("export", "--run", "2", "--split-by", "repo", "--output", str(out))
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 2 and files[0].startswith("api-") and files[1].startswith("web-")
    for p in out.iterdir():
        repos = {r["properties"]["subject"].split("/")[0] for r in json.loads(p.read_text())["runs"][0]["results"]}
        assert repos == {p.name.split("-")[0]}
    assert story.run("export", "--split-by", "repo").returncode == 2  # needs --output DIR


def test_json_export_follows_its_documented_schema(story: Story) -> None:
    done = story.run("export", "--format", "json", "--run", "2")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    schema = json.loads((ROOT / "docs/findings.schema.json").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
    assert doc["version"] == 1 and doc["run"]["run_id"] == 2 and doc["run"]["baseline_run_id"] == 1
    assert {f["baseline_state"] for f in doc["findings"]} == {"new", "unchanged", "absent"}
    # every column of the findings view, none more (but the baseline state)
    con = duckdb.connect(str(story.root / "audit.duckdb"), read_only=True)
    columns = [r[0] for r in con.execute("DESCRIBE findings").fetchall()]
    con.close()
    assert list(doc["findings"][0]) == [*columns, "baseline_state"]


def test_csv_export_has_the_findings_view_columns_and_neutralises_formulas(story: Story, tmp_path: Path) -> None:
    import csv

    out = tmp_path / "f.csv"
    done = story.run("export", "--format", "csv", "--run", "2", "--team", "everyone", "--output", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out.read_text().splitlines()))
    con = duckdb.connect(str(story.root / "audit.duckdb"), read_only=True)
    columns = [r[0] for r in con.execute("DESCRIBE findings").fetchall()]
    con.close()
    assert rows[0] == [*columns, "baseline_state"]
    assert len(rows) - 1 == len(story.fingerprints(2)) + 1  # the open ones, and the absent one
    from hullcheck.policy.export import csv_text

    text = csv_text([{c: None for c in columns} | {"message": '=HYPERLINK("x")', "baseline_state": "new"}])
    assert "'=HYPERLINK" in text


def test_export_errors_are_clear(story: Story, tmp_path: Path) -> None:
    bad = story.run("export", "--format", "xml")
    assert bad.returncode == 2 and "use sarif, json or csv" in bad.stderr
    missing = story.run("export", "--run", "99")
    assert missing.returncode == 2 and "run 99 has no evaluation" in missing.stderr
    assert not list(tmp_path.iterdir())


def test_file_names_of_a_split_cannot_escape_the_directory() -> None:
    from hullcheck.policy.export import artifact_uri, file_stem

    for hostile in ("../../etc/passwd", "a/b", ".hidden", "x" * 300, "<script>"):
        stem = file_stem(hostile)
        assert "/" not in stem and not stem.startswith(".") and len(stem) <= 90
    assert file_stem("a/b") != file_stem("a_b")  # two names never share a file
    assert artifact_uri("a b/#x%y") == "a%20b/%23x%25y"


def test_export_db_writes_every_public_view_as_parquet_partitioned_by_run(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    done = story.run("export-db", "--parquet", str(out))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "_views.json").read_text())
    con = duckdb.connect()
    con.execute(f"ATTACH '{story.root / 'audit.duckdb'}' AS db (READ_ONLY)")
    views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE database_name = 'db' "
                                       "AND NOT internal ORDER BY 1").fetchall()]  # fmt: skip
    assert [v["view"] for v in manifest["views"]] == views and len(views) > 50
    for entry in manifest["views"]:
        view = entry["view"]
        # Parquet keeps an INTERVAL to the millisecond (its INTERVAL type's resolution): compared so
        names = ", ".join(f'floor(epoch("{c["name"]}") * 1000)' if c["type"] == "INTERVAL" else f'"{c["name"]}"'
                          for c in entry["columns"])  # fmt: skip
        if entry["partitioned"]:
            assert (out / view).is_dir() or entry["rows"] == 0, view
            if entry["rows"] == 0:
                continue
            source = f"read_parquet('{out / view}/*/*.parquet', hive_partitioning = true)"
            runs = {p.name for p in (out / view).iterdir()}
            assert runs <= {f"run_id={n}" for n in range(1, 6)}, (view, runs)
        else:
            source = f"'{out / view}.parquet'"
        # the same rows, value for value (the run id comes back from the partition's folder name)
        diff = con.execute(f"SELECT count(*) FROM ((SELECT {names} FROM db.{view} EXCEPT ALL SELECT {names} FROM "
                           f"{source}) UNION ALL (SELECT {names} FROM {source} EXCEPT ALL "
                           f"SELECT {names} FROM db.{view}))").fetchone()[0]  # fmt: skip
        assert diff == 0, view
        assert con.execute(f"SELECT count(*) FROM {source}").fetchone()[0] == entry["rows"], view
    con.close()
    assert sorted(p.name for p in (out / "findings").iterdir()) == [f"run_id={n}" for n in range(1, 6)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".parquet")]  # no staging left behind
