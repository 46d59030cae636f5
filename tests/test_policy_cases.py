"""The generic policy test: every policy's case file (tests/cases/policies/<id>.yaml) evaluated by
the real engine, plus what every policy must show: it fires, it does not fire, it fires
differently under another situation, a waiver waives it, and an expired waiver reopens it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from hullcheck.policy.catalog import load_catalog
from hullcheck.policy_cases import (
    case_config,
    findings_of,
    load_cases,
    run_case_file,
    situations_of,
    waiver_for,
    write_case_run,
)
from hullcheck.store import Store

CATALOG = load_catalog()
POLICIES = sorted(CATALOG.policies)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_policy_cases(policy_id: str, tmp_path: Path) -> None:
    policy = CATALOG.policies[policy_id]
    cf = load_cases(policy.cases_path)
    problems = run_case_file(cf, policy, CATALOG, tmp_path)
    assert not problems, "\n".join(f"{p.case} [{p.situation}]: {p.problem}" for p in problems)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_cases_cover_fire_quiet_and_situations(policy_id: str) -> None:
    cf = load_cases(CATALOG.policies[policy_id].cases_path)
    expectations = [(c.name, s, tuple(sorted(json.dumps(f, sort_keys=True) for f in fs)))
                    for c in cf.cases for s, fs in c.expect.items()]  # fmt: skip
    assert any(fs for _, _, fs in expectations), "no case makes the policy fire"
    assert any(not fs for _, _, fs in expectations), "no case where the policy stays quiet"
    by_case: dict[str, set[tuple[str, ...]]] = {}
    for name, _, fs in expectations:
        by_case.setdefault(name, set()).add(fs)
    assert any(len(v) > 1 for v in by_case.values()), "no case judged differently under two situations"
    assert set(situations_of(cf, CATALOG)) >= {s for _, s, _ in expectations}


@pytest.mark.parametrize("policy_id", POLICIES)
def test_waived_then_reopened_when_the_waiver_expires(policy_id: str, tmp_path: Path) -> None:
    policy = CATALOG.policies[policy_id]
    cf = load_cases(policy.cases_path)
    cf.cases = [c for c in cf.cases if any(c.expect.values())][:1]
    case = cf.cases[0]
    case.expect = {s: f for s, f in case.expect.items() if f}
    cfg = case_config(cf, CATALOG, tmp_path / "plain.duckdb")
    with Store.open(cfg.database_path) as store:
        first = findings_of(store, write_case_run(store, cfg, CATALOG, cf).run_id, policy_id)
    assert first and not any(f["waived"] for f in first)

    today = date.today()
    waivers = [waiver_for(f, policy_id, today) for f in {f["subject"]: f for f in first}.values()]  # one per subject
    cfg = case_config(cf, CATALOG, tmp_path / "waived.duckdb", waivers)
    with Store.open(cfg.database_path) as store:
        run1 = write_case_run(store, cfg, CATALOG, cf, today=today).run_id
        waived = findings_of(store, run1, policy_id)
        assert waived and all(f["waived"] for f in waived), waived
        assert {f["fingerprint"] for f in waived} == {f["fingerprint"] for f in first}
        statuses = store.ad_hoc("SELECT status, matched FROM latest_waivers").rows
        assert all(s in ("expiring", "active") and n >= 1 for s, n in statuses), statuses
        # The next night the waiver has expired: the same findings are open again and count as reopened.
        run2 = write_case_run(store, cfg, CATALOG, cf, today=today + timedelta(days=1)).run_id
        reopened = findings_of(store, run2, policy_id)
        assert reopened and not any(f["waived"] for f in reopened)
        changes = store.ad_hoc(
            f"SELECT DISTINCT change FROM finding_events WHERE run_id = {int(run2)} AND policy_id = '{policy_id}'"
        ).rows
        assert changes == [("reopened",)], changes
        assert {s for (s,) in store.ad_hoc("SELECT status FROM latest_waivers").rows} == {"expired"}


def test_an_unchanged_night_persists_every_finding_and_keeps_fingerprints(tmp_path: Path) -> None:
    cf = load_cases(CATALOG.policies["unpinned-base"].cases_path)
    cfg = case_config(cf, CATALOG, tmp_path / "db.duckdb")
    with Store.open(cfg.database_path) as store:
        run1 = write_case_run(store, cfg, CATALOG, cf).run_id
        run2 = write_case_run(store, cfg, CATALOG, cf).run_id
        changes = store.ad_hoc(
            f"SELECT change, count(*) FROM finding_events WHERE run_id = {run2} AND policy_id = 'unpinned-base' "
            "GROUP BY 1"
        ).rows
        first = {f["fingerprint"] for f in findings_of(store, run1, "unpinned-base")}
        second = {f["fingerprint"] for f in findings_of(store, run2, "unpinned-base")}
        new = store.ad_hoc(
            f"SELECT sum(new) FROM finding_changes WHERE run_id = {run1} AND policy_id = 'unpinned-base'"
        ).rows
    assert first and first == second
    assert changes == [("persisting", len(first))]
    assert new == [(len(first),)]


def test_a_hadolint_pragma_waives_the_equivalent_policy_for_that_instruction_only(tmp_path: Path) -> None:
    from hullcheck.policy_cases import Case, CaseFile

    text = "FROM ubuntu\nRUN true\n# hadolint ignore=DL3002\nUSER root\n"
    glob = "# hadolint global ignore=DL3007\nFROM node:latest\nUSER root\n"
    cases = [Case("inline", {"Dockerfile": text}, [], {"microservice": []}),
             Case("global", {"Dockerfile": glob}, [], {"microservice": []})]  # fmt: skip
    cf = CaseFile("", {}, cases, tmp_path / "x.yaml")
    cfg = case_config(cf, CATALOG, tmp_path / "db.duckdb")
    with Store.open(cfg.database_path) as store:
        run = write_case_run(store, cfg, CATALOG, cf).run_id
        root = {f["repo"]: f for f in findings_of(store, run, "root-user")}
        pinned = {(f["repo"], f["line"]): f for f in findings_of(store, run, "unpinned-base")}
        sql = f"SELECT DISTINCT waiver_reason, waived_by FROM findings WHERE run_id = {run} AND waived"
        reasons = store.ad_hoc(sql)
    assert {r for r, _ in reasons.rows} == {"hadolint pragma"}
    assert ("hadolint pragma", "# hadolint ignore=DL3002 (Dockerfile line 4)") in reasons.rows
    inline = root["inline--microservice"]
    assert inline["waived"] and inline["line"] == 4
    assert json.loads(inline["params"])["situation"] == "microservice/microservice"  # still judged in its situation
    assert not root["global--microservice"]["waived"]  # DL3007's pragma says nothing about DL3002
    assert not pinned[("inline--microservice", 1)]["waived"]  # `FROM ubuntu` (DL3006) was not ignored
    assert pinned[("global--microservice", 2)]["waived"]  # `global ignore=DL3007` covers the whole file
