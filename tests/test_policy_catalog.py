"""The catalog loads as a whole, refuses incomplete or invalid policies, and its doc is current."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hullcheck.errors import ConfigError
from hullcheck.policy.catalog import load_catalog, load_policy
from hullcheck.policy.docs import render
from hullcheck.policy.units import parse_bytes, parse_duration, parse_value, show_value

ROOT = Path(__file__).resolve().parents[1]


def test_docs_policies_md_is_generated_from_the_catalog() -> None:
    expected = render(load_catalog())
    assert (ROOT / "docs" / "policies.md").read_text(encoding="utf-8") == expected, (
        "docs/policies.md is stale: run `hullcheck policies docs --output docs/policies.md`"
    )


def test_every_policy_has_its_three_files_and_reasons() -> None:
    catalog = load_catalog()
    for p in catalog.policies.values():
        assert p.yaml_path.stem == p.sql_path.stem == p.cases_path.stem == p.id
        assert len(p.meta.rationale) > 40 and len(p.meta.instead) > 20, p.id
    assert set(catalog.profiles) >= {"microservice", "monolith", "datascience", "tooling"}


def _org_policy(tmp: Path, pid: str = "org-rule", **files: str) -> Path:
    d = tmp / "org-policies"
    (d / "cases").mkdir(parents=True, exist_ok=True)
    (d / f"{pid}.yaml").write_text(
        files.get(
            "yaml",
            f"""id: {pid}
title: An org rule
category: security
subject: dockerfile
severity: info
params:
  max_stages: {{type: int, default: 3, description: most stages allowed}}
rationale: Our platform team decided so, for reasons written down in the wiki page.
instead: Split the file.
""",
        )
    )
    if "sql" not in files or files["sql"]:
        (d / f"{pid}.sql").write_text(files.get("sql", "SELECT 1 AS subject_id, 'info' AS severity, 'x' AS message "
                                                        "WHERE false"))  # fmt: skip
    if "cases" not in files or files["cases"]:
        (d / "cases" / f"{pid}.yaml").write_text(files.get("cases", f"policy: {pid}\ncases: []\n"))
    return d


def test_an_org_policy_loads_beside_the_catalog(tmp_path: Path) -> None:
    catalog = load_catalog(_org_policy(tmp_path))
    assert catalog.policies["org-rule"].origin.endswith("org-policies")
    assert catalog.policies["org-rule"].defaults == {"max_stages": 3}


def test_a_policy_missing_one_of_its_three_files_is_refused(tmp_path: Path) -> None:
    d = _org_policy(tmp_path, sql="")
    with pytest.raises(ConfigError, match=r"incomplete: a policy is three files with one id; missing .*org-rule\.sql"):
        load_catalog(d)
    shutil.rmtree(d)
    with pytest.raises(ConfigError, match=r"missing .*cases/org-rule\.yaml"):
        load_catalog(_org_policy(tmp_path, cases=""))


def test_an_org_policy_cannot_replace_a_shipped_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="already exists in the shipped catalog"):
        load_catalog(_org_policy(tmp_path, "root-user"))


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("id: x\n", r"title: Field required|missing"),
        ("id: org-rule\ntitle: t\ncategory: nope\nsubject: dockerfile\nseverity: info\nrationale: r\ninstead: i\n",
         r"org-rule\.yaml:3: category: unknown category"),
        ("id: org-rule\ntitle: t\ncategory: security\nsubject: dockerfile\nseverity: loud\nrationale: r\ninstead: i\n",
         r"org-rule\.yaml:5: severity: not a severity"),
        ("id: org-rule\ntitle: t\ncategory: security\nsubject: dockerfile\nseverity: info\nrationale: r\n"
         "instead: i\nparams:\n  size: {type: bytes, default: lots, description: d}\n",
         r"org-rule\.yaml:9: params\.size\.default: 'lots' is not a size"),
        ("id: org-rule\ntitle: t\ncategory: security\nsubject: dockerfile\nseverity: info\nrationale: r\n"
         "instead: i\nextra: 1\n", r"org-rule\.yaml:8: extra: unknown key"),
    ],
)  # fmt: skip
def test_invalid_policy_files_name_file_line_and_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    d = _org_policy(tmp_path, yaml=yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_policy(d / "org-rule.yaml", d / "org-rule.sql", d / "cases" / "org-rule.yaml")


def test_units_people_write() -> None:
    assert parse_bytes("100MB") == 100_000_000
    assert parse_bytes("2GiB") == 2 * 1024**3
    assert parse_bytes("1.5 GB") == 1_500_000_000
    assert parse_bytes(512) == 512
    assert parse_duration("90d") == 90 * 86400
    assert parse_duration("2w") == 14 * 86400
    assert parse_value("globs", "*.csv") == ["*.csv"]
    assert show_value("bytes", 100_000_000) == "100 MB"
    assert show_value("duration", 90 * 86400) == "90d"
    for bad, kind in (("lots", "bytes"), ("-1", "bytes"), ("soon", "duration"), (True, "int"), ("loud", "severity"),
                      ([1], "strings")):  # fmt: skip
        with pytest.raises(ValueError):
            parse_value(kind, bad)


def test_a_broken_org_policy_is_an_error_row_and_the_run_ends_partial(tmp_path: Path) -> None:
    from support.org import Org, days_ago

    from hullcheck.audit import run_audit
    from hullcheck.demo.gitbuild import Commit

    org = Org(tmp_path / "org")
    org.repo("svc", [Commit(days_ago(1), {"Dockerfile": "FROM python\nUSER root\n"})])
    broken = _org_policy(tmp_path, "broken-rule", sql="SELECT nope AS subject_id FROM no_such_view")
    org.extra = {"policies_dir": str(broken)}
    summary = run_audit(org.config())
    assert summary.status == "partial" and summary.exit_code == 1
    assert summary.evaluation is not None and [e.policy_id for e in summary.evaluation.errors] == ["broken-rule"]
    assert "no_such_view" in summary.evaluation.errors[0].error
    assert org.query("SELECT policy_id FROM policy_errors") == [("broken-rule",)]
    message = str(org.scalar("SELECT message FROM runs"))
    assert "policies that could not be evaluated: broken-rule" in message
    # Every other policy ran, after the failed one too (policies run in id order: root-user and
    # unpinned-base come after broken-rule).
    fired = {r[0] for r in org.query("SELECT policy_id FROM latest_findings")}
    assert {"root-user", "unpinned-base"} <= fired


def test_an_evaluation_past_the_memory_limit_raises_it_and_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.org import Org, days_ago

    from hullcheck.audit import run_audit
    from hullcheck.demo.gitbuild import Commit
    from hullcheck.store import Store

    org = Org(tmp_path / "org")
    dockerfile = "FROM alpine AS s0\nUSER app\n" + "".join(f"FROM s{i - 1} AS s{i}\n" for i in range(1, 400))
    for n in range(3):
        org.repo(f"svc{n}", [Commit(days_ago(1), {"Dockerfile": dockerfile + f"RUN echo {n}\n"})])
    org.extra = {"database_memory_limit": "16MB"}  # too little for the evaluation's working tables
    raised: list[bool] = []
    original = Store.raise_memory_limit

    def counting(self: Store, ceiling_bytes: int = 8 * 1024**3) -> bool:
        raised.append(original(self, ceiling_bytes))
        return raised[-1]

    monkeypatch.setattr(Store, "raise_memory_limit", counting)  # observed, not replaced
    summary = run_audit(org.config())
    assert raised and all(raised), "the evaluation did not run out of memory: the test proves nothing"
    assert summary.status == "ok" and summary.evaluation is not None and not summary.evaluation.errors
    assert summary.evaluation.findings > 0
    assert org.scalar("SELECT count(*) FROM latest_findings") == summary.evaluation.findings


def test_a_finding_keeps_its_fingerprint_when_lines_move_and_other_lines_change(tmp_path: Path) -> None:
    from support.org import Org, days_ago

    from hullcheck.audit import run_audit
    from hullcheck.demo.gitbuild import Commit

    org = Org(tmp_path / "org")
    before = "FROM node:latest AS build\nRUN npm ci\nFROM python\nUSER root\n"
    after = (
        "# syntax=docker/dockerfile:1\n# a comment\nFROM node:latest AS build\nRUN npm ci && npm test\n\n"
        "FROM python\nUSER root\n"
    )
    path = org.repo("svc", [Commit(days_ago(2), {"Dockerfile": before})])
    cfg = org.config()
    first = run_audit(cfg).run_id
    org.repo("svc", [Commit(days_ago(1), {"Dockerfile": after})], add=False)
    assert path.exists()
    second = run_audit(cfg).run_id
    rows = org.query("SELECT run_id, policy_id, line, fingerprint FROM findings WHERE policy_id IN "
                     "('unpinned-base', 'root-user') ORDER BY run_id, policy_id, line")  # fmt: skip
    by_run = {r: sorted((p, f) for run, p, _, f in rows if run == r) for r in (first, second)}
    lines = {r: sorted(line for run, _, line, _ in rows if run == r) for r in (first, second)}
    assert by_run[first] == by_run[second] and len(by_run[first]) == 3  # node:latest, python (no tag), USER root
    assert lines[first] != lines[second]  # the lines moved
    changes = org.query(f"SELECT DISTINCT change FROM finding_events WHERE run_id = {second} "
                        "AND policy_id IN ('unpinned-base', 'root-user')")  # fmt: skip
    assert changes == [("persisting",)]
