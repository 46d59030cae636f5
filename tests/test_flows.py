"""The nightly flow runs for real on Prefect's ephemeral server and records the same run as the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.org import Org, days_ago

from hullcheck.demo.gitbuild import Commit

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_nightly_audit_flow(org: Org, tmp_path: Path) -> None:
    org.repo("api", [Commit(days_ago(2), {"Dockerfile": "FROM python:3.12\n"})])
    org.sources.append({"url": str(tmp_path / "missing"), "name": "missing"})
    cfg = org.write_config()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }
    code = (
        "import json, sys; from flows.nightly_audit import nightly_audit; "
        f"print('RESULT', json.dumps(nightly_audit(config_path={str(cfg)!r})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result_line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    assert '"status": "partial"' in result_line and '"extracted": 1' in result_line
    assert "repository failed: missing" in proc.stderr
    assert "Finished in state Completed" in proc.stderr
    assert org.query("SELECT status, repos_total FROM runs") == [("partial", 2)]
