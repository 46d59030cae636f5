"""The nightly flow runs for real (one session-scoped `prefect_test_harness`, conftest.py) against real git
repositories and the real registry fixture, and records what the direct `hullcheck audit` records: the
same facts and findings, the same error rows. One broken repository and one broken registry repository
make the run partial, a Markdown artifact summarises it, the platform team gets an alert on a real SMTP
server and a webhook; a registry fault is retried or not as it deserves; Dask gets what threads get."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import re
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
import yaml
from support.git_servers import http_server
from support.oci.builder import Image, Layer
from support.oci.registry import Registry
from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.config import load_config
from hullcheck.demo.gitbuild import Commit

pytest_plugins = ["support.smtp"]
ROOT = Path(__file__).resolve().parents[1]


def _task_runs(flow_run_id: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return sorted(r.name for r in runs)


def _artifacts(flow_run_id: str) -> list[str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [str(a.data) for a in client.read_artifacts() if str(a.flow_run_id) == flow_run_id
                and a.key == "nightly-audit-summary"]  # fmt: skip


def facts(db: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    q = {
        "runs": "SELECT status, repos_total, repos_extracted, repos_failed FROM runs",
        "snapshots": "SELECT repo, status, commit_sha FROM repo_snapshots ORDER BY repo",
        "instructions": "SELECT repo, path, count(*) FROM dockerfile_instructions GROUP BY ALL ORDER BY ALL",
        "tags": "SELECT repository, tag, digest, status FROM images WHERE tag IS NOT NULL ORDER BY ALL",
        "registry_failures": "SELECT repository, status FROM images WHERE error IS NOT NULL ORDER BY ALL",
        "findings": "SELECT policy_id, subject, fingerprint, severity, waived FROM findings ORDER BY ALL",
    }  # fmt: skip
    try:
        return {k: con.execute(sql).fetchall() for k, sql in q.items()}
    finally:
        con.close()


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Hook.received.append({"path": self.path, "json": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_nightly_flow_equals_the_direct_audit_ends_partial_and_alerts(
    prefect_harness: Path, org: Org, registry: Registry, smtp_plain: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with http_server(_Hook) as hook:
        monkeypatch.setenv("HULLCHECK_TEST_WEBHOOK", f"{hook}/hooks/SECRET-TOKEN-123")
        _nightly_flow_story(org, registry, smtp_plain, tmp_path)
    out, err = capfd.readouterr()
    assert "SECRET-TOKEN" not in out + err  # the webhook's token is never logged
    assert [h["path"] for h in _Hook.received] == ["/hooks/SECRET-TOKEN-123"]
    told = _Hook.received[0]["json"]
    assert told["status"] == "partial" and "1 of 3 repositories failed" in told["text"]
    assert any("shop/gone" in f for f in told["failures"])


def _nightly_flow_story(org: Org, registry: Registry, smtp_plain: Any, tmp_path: Path) -> None:
    from flows.nightly_audit import nightly_audit
    from flows.weekly_report import weekly_report

    org.repo("api", [Commit(days_ago(2), {"Dockerfile": "FROM python:3.12\nRUN pip install flask\n"})])
    org.repo("web", [Commit(days_ago(2), {"Dockerfile": "FROM node:20\nUSER 1000\n", "compose.yaml":
                                          "services:\n  web:\n    build: .\n"})])  # fmt: skip
    org.sources.append({"url": str(tmp_path / "missing"), "name": "missing"})  # the broken repository
    registry.push("shop/app", "1.0", Image([Layer({"etc/app": b"app"})], {"User": "app"}))
    org.extra = {
        "registries": [{"url": registry.host, "repositories": ["shop/app", "shop/gone"], "retries": 0}],
        "email": {"from": "hullcheck@example.org", "org_to": ["platform@example.org"],
                  "smtp": {"host": smtp_plain.host, "port": smtp_plain.port, "security": "none"}},
        "alerts": {"webhook_url_env": "HULLCHECK_TEST_WEBHOOK"},
    }  # fmt: skip
    flow_cfg = org.write_config()
    direct_cfg = tmp_path / "direct.yaml"
    data = yaml.safe_load(flow_cfg.read_text())
    data["database"] = str(tmp_path / "direct.duckdb")
    data["email"] = {"from": "hullcheck@example.org"}  # the direct audit sends nothing
    data.pop("alerts")
    direct_cfg.write_text(yaml.safe_dump(data))

    result = nightly_audit(config_path=str(flow_cfg))
    assert result["status"] == "partial" and result["extracted"] == 2 and result["failed"] == 1
    # a task per git repository, and per registry repository
    tasks = _task_runs(result["flow_run_id"])
    assert {"repository api", "repository web", "repository missing"} <= set(tasks)
    assert {f"registry-repository {registry.host} shop/app", f"registry-repository {registry.host} shop/gone"} <= set(
        tasks)  # fmt: skip
    artifacts = _artifacts(result["flow_run_id"])
    report = weekly_report(config_path=str(flow_cfg), dry_run=True)

    direct = run_audit(load_config(direct_cfg))
    assert direct.status == "partial"
    flow_facts, direct_facts = facts(org.root / "audit.duckdb"), facts(tmp_path / "direct.duckdb")
    assert flow_facts == direct_facts
    assert ("missing", "failed", None) in flow_facts["snapshots"]  # the error rows
    assert flow_facts["registry_failures"] == [("shop/gone", "failed")]
    assert flow_facts["findings"] and flow_facts["tags"]

    # the artifact summarises the run
    assert len(artifacts) == 1
    summary = artifacts[0]
    assert "**partial**" in summary and "| git repositories (3) | 2 | 0 | 1 |" in summary and "missing" in summary

    # the weekly flow rendered the site and wrote the org digest (dry run: nothing sent)
    assert report["pages"] > 3 and report["mails"] == 1 and report["sent"] == 0
    assert (org.root / "report" / "index.html").is_file() and (org.root / "report" / "mail" / "org.eml").is_file()

    # the alert reached the platform team
    alerts = [email.message_from_bytes(m.data, policy=email.policy.default) for m in smtp_plain.received]
    assert len(alerts) == 1 and alerts[0]["To"] == "platform@example.org"
    assert "partial" in alerts[0]["Subject"] and "1 of 3 repositories failed" in alerts[0]["Subject"]
    body = alerts[0].get_content()
    assert "missing" in body and "shop/gone" in body


@pytest.mark.slow
def test_a_transient_registry_fault_is_retried_and_a_permanent_one_is_not(
    prefect_harness: Path, registry: Registry, registry_proxy: Any, tmp_path: Path
) -> None:
    from flows.nightly_audit import nightly_audit

    registry.push("shop/flaky", "1.0", Image([Layer({"etc/a": b"a"})], {"User": "app"}))
    registry.push("shop/locked", "1.0", Image([Layer({"etc/b": b"b"})], {"User": "app"}))
    proxy = registry_proxy(registry)
    proxy.fail_next(2, status=503, match="/shop/flaky/tags/list")  # twice, then the registry answers
    proxy.fail_next(3, status=401, match="/shop/locked/tags/list")  # no retry would fix it
    configs = []
    for name, repository in (("transient", "shop/flaky"), ("permanent", "shop/locked")):
        root = tmp_path / name
        root.mkdir()
        cfg = root / "hullcheck.yaml"
        cfg.write_text(yaml.safe_dump({"database": "h.duckdb", "cache_dir": "cache",
                                       "registries": [{"url": proxy.host, "repositories": [repository]}]}))  # fmt: skip
        configs.append(str(cfg))
    transient, permanent = (nightly_audit(config_path=c) for c in configs)
    assert transient["status"] == "ok" and transient["failures"] == []  # retried and recovered
    assert proxy.count("tags", "GET") >= 3
    tags_lists = [path for method, path in proxy.requests if method == "GET" and "/tags/list" in path]
    assert sum("/shop/flaky/" in p for p in tags_lists) == 3  # two faults, then the answer
    assert permanent["status"] == "partial" and len(permanent["failures"]) == 1
    assert sum("/shop/locked/" in p for p in tags_lists) == 1  # asked once: a 401 is not retried


@pytest.mark.slow
def test_the_flow_on_a_local_dask_cluster_gets_what_threads_get(
    prefect_harness: Path, org: Org, registry: Registry, tmp_path: Path, capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from flows.nightly_audit import nightly_audit, on_dask

    for n in range(4):
        first = Commit(days_ago(3), {"Dockerfile": f"FROM python:3.1{n}\nRUN pip install flask\n"})
        org.repo(f"svc{n}", [first, Commit(days_ago(1), {"worker/Dockerfile": "FROM alpine\nRUN apk add curl\n"})])
    org.sources.append({"url": str(tmp_path / "missing"), "name": "missing"})
    registry.push("shop/app", "1.0", Image([Layer({"etc/app": b"app"})], {"User": "app"}))
    org.extra = {"registries": [{"url": registry.host, "repositories": ["shop/app"], "retries": 0}]}
    threads_cfg = org.write_config()
    data = yaml.safe_load(threads_cfg.read_text())
    data["database"], data["cache_dir"] = str(tmp_path / "dask.duckdb"), str(tmp_path / "dask-cache")
    dask_cfg = tmp_path / "dask.yaml"
    dask_cfg.write_text(yaml.safe_dump(data))
    threads = nightly_audit(config_path=str(threads_cfg))
    dask = on_dask(None, workers=2)(config_path=str(dask_cfg))
    assert threads["status"] == dask["status"] == "partial" and dask["extracted"] == 4
    on_dask_tasks = [t for t in _task_runs(dask["flow_run_id"]) if t.startswith("repository svc")]
    assert len(on_dask_tasks) == 4  # each repository a task, run by the Dask workers
    logs = "".join(capfd.readouterr()) + caplog.text
    assert "Creating a new Dask cluster" in logs
    assert len(set(re.findall(r"Register worker addr: (tcp://[0-9.:]+)", logs))) == 2  # two worker processes
    assert facts(org.root / "audit.duckdb") == facts(tmp_path / "dask.duckdb")
