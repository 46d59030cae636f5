"""The nightly flow runs for real (Prefect's `prefect_test_harness`, in a process of its own so that its
settings are its own) against real git repositories and the real registry fixture, and records what
the direct `hullcheck audit` records: the same facts and findings, the same error rows. One broken
repository and one broken registry repository make the run partial, a Markdown artifact summarises
it, and the platform team gets an alert on a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import os
import subprocess
import sys
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
HARNESS = """
import json, sys
from prefect.testing.utilities import prefect_test_harness
from prefect.client.orchestration import get_client
from flows.nightly_audit import nightly_audit
from flows.weekly_report import weekly_report
with prefect_test_harness(server_startup_timeout=90):
    result = nightly_audit(config_path=sys.argv[1])
    with get_client(sync_client=True) as client:
        artifacts = [a.data for a in client.read_artifacts() if a.key == "nightly-audit-summary"]
    report = weekly_report(config_path=sys.argv[1], dry_run=True)
print("RESULT", json.dumps({"result": result, "artifacts": artifacts, "report": report}))
"""


def prefect_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO", "PYTHONPATH": str(ROOT)}  # fmt: skip


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
    org: Org, registry: Registry, smtp_plain: Any, tmp_path: Path
) -> None:
    with http_server(_Hook) as hook:
        _nightly_flow_story(org, registry, smtp_plain, tmp_path, f"{hook}/hooks/SECRET-TOKEN-123")
    assert [h["path"] for h in _Hook.received] == ["/hooks/SECRET-TOKEN-123"]
    told = _Hook.received[0]["json"]
    assert told["status"] == "partial" and "1 of 3 repositories failed" in told["text"]
    assert any("shop/gone" in f for f in told["failures"])


def _nightly_flow_story(org: Org, registry: Registry, smtp_plain: Any, tmp_path: Path, webhook: str) -> None:
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

    env = {**prefect_env(tmp_path), "HULLCHECK_TEST_WEBHOOK": webhook}
    proc = subprocess.run([sys.executable, "-c", HARNESS, str(flow_cfg)], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SECRET-TOKEN" not in proc.stdout + proc.stderr  # the webhook's token is never logged
    out = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    result = out["result"]
    assert result["status"] == "partial" and result["extracted"] == 2 and result["failed"] == 1
    # a task per git repository, and per registry repository
    assert "Task run 'repository api'" in proc.stderr
    assert f"Task run 'registry-repository {registry.host} shop/app'" in proc.stderr
    assert f"Task run 'registry-repository {registry.host} shop/gone'" in proc.stderr

    direct = run_audit(load_config(direct_cfg))
    assert direct.status == "partial"
    flow_facts, direct_facts = facts(org.root / "audit.duckdb"), facts(tmp_path / "direct.duckdb")
    assert flow_facts == direct_facts
    assert ("missing", "failed", None) in flow_facts["snapshots"]  # the error rows
    assert flow_facts["registry_failures"] == [("shop/gone", "failed")]
    assert flow_facts["findings"] and flow_facts["tags"]

    # the artifact summarises the run
    assert len(out["artifacts"]) == 1
    summary = out["artifacts"][0]
    assert "**partial**" in summary and "| git repositories (3) | 2 | 0 | 1 |" in summary and "missing" in summary

    # the weekly flow rendered the site and wrote the org digest (dry run: nothing sent)
    assert out["report"]["pages"] > 3 and out["report"]["mails"] == 1 and out["report"]["sent"] == 0
    assert (org.root / "report" / "index.html").is_file() and (org.root / "report" / "mail" / "org.eml").is_file()

    # the alert reached the platform team
    alerts = [email.message_from_bytes(m.data, policy=email.policy.default) for m in smtp_plain.received]
    assert len(alerts) == 1 and alerts[0]["To"] == "platform@example.org"
    assert "partial" in alerts[0]["Subject"] and "1 of 3 repositories failed" in alerts[0]["Subject"]
    body = alerts[0].get_content()
    assert "missing" in body and "shop/gone" in body


HARNESS_NIGHTS = """
import json, sys
from prefect.testing.utilities import prefect_test_harness
from flows.nightly_audit import nightly_audit
with prefect_test_harness(server_startup_timeout=90):
    results = [nightly_audit(config_path=path) for path in sys.argv[1:]]
print("RESULT", json.dumps(results))
"""


@pytest.mark.slow
def test_a_transient_registry_fault_is_retried_and_a_permanent_one_is_not(
    registry: Registry, registry_proxy: Any, tmp_path: Path
) -> None:
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
    proc = subprocess.run([sys.executable, "-c", HARNESS_NIGHTS, *configs], env=prefect_env(tmp_path),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    transient, permanent = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    assert transient["status"] == "ok" and transient["failures"] == []  # retried and recovered
    assert proxy.count("tags", "GET") >= 3
    tags_lists = [path for method, path in proxy.requests if method == "GET" and "/tags/list" in path]
    assert sum("/shop/flaky/" in p for p in tags_lists) == 3  # two faults, then the answer
    assert permanent["status"] == "partial" and len(permanent["failures"]) == 1
    assert sum("/shop/locked/" in p for p in tags_lists) == 1  # asked once: a 401 is not retried


HARNESS_DASK = """
import json, sys
from prefect.testing.utilities import prefect_test_harness
from flows.nightly_audit import nightly_audit, on_dask
with prefect_test_harness(server_startup_timeout=90):
    threads = nightly_audit(config_path=sys.argv[1])
    dask = on_dask(None, workers=2)(config_path=sys.argv[2])
print("RESULT", json.dumps([threads, dask]))
"""


@pytest.mark.slow
def test_the_flow_on_a_local_dask_cluster_gets_what_threads_get(org: Org, registry: Registry, tmp_path: Path) -> None:
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
    proc = subprocess.run([sys.executable, "-c", HARNESS_DASK, str(threads_cfg), str(dask_cfg)],
                          env=prefect_env(tmp_path), capture_output=True, text=True, timeout=400)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    threads, dask = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    assert threads["status"] == dask["status"] == "partial" and dask["extracted"] == 4
    assert "Creating a new Dask cluster" in proc.stderr and proc.stderr.count("Register worker addr") == 2
    assert proc.stderr.count("Task run 'repository svc") == 8  # four repositories, on threads then on Dask
    assert facts(org.root / "audit.duckdb") == facts(tmp_path / "dask.duckdb")
