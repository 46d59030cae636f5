"""Scheduling for real: `prefect server start` on a free loopback port and `hullcheck serve` against it.
Both deployments exist with their cron schedules in the time zone asked for; `prefect deployment run`
triggers the nightly audit through the server, `hullcheck serve` runs it, and the database has the run.
Both processes are stopped by PID."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.org import Org, days_ago

from hullcheck.demo.gitbuild import Commit

ROOT = Path(__file__).resolve().parents[1]
PREFECT = Path(sys.executable).with_name("prefect")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"},
                                 method="GET" if body is None else "POST")  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def _wait(what: str, check: Any, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.slow
def test_serve_schedules_both_flows_and_runs_one_through_the_server(org: Org, tmp_path: Path) -> None:
    org.repo("api", [Commit(days_ago(2), {"Dockerfile": "FROM python:3.12\nUSER 1000\n"})])
    cfg = org.write_config()
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_API_URL": api, "PYTHONPATH": str(ROOT),
           "PREFECT_UI_ENABLED": "false"}  # fmt: skip
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    with server_log.open("wb") as out:
        server = subprocess.Popen([str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    served: subprocess.Popen[bytes] | None = None
    try:
        _wait("the Prefect server", lambda: _api(api, "/health"), 180, [server_log])
        with serve_log.open("wb") as out:
            served = subprocess.Popen([sys.executable, "-m", "hullcheck", "serve", "-c", str(cfg), "--timezone",
                                       "Europe/Berlin"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)  # fmt: skip
        deployments = _wait("both deployments", lambda: (d := _api(api, "/deployments/filter", {})) and len(d) == 2
                            and d, 120, [serve_log, server_log])  # fmt: skip
        schedules = {d["name"]: [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in d["schedules"]]
                     for d in deployments}  # fmt: skip
        assert schedules == {"nightly-audit": [("0 2 * * *", "Europe/Berlin")],
                             "weekly-report": [("0 7 * * 1", "Europe/Berlin")]}  # fmt: skip
        run = subprocess.run([str(PREFECT), "deployment", "run", "nightly-audit/nightly-audit"], env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        flow_runs = _wait("the triggered run to finish", lambda: [
            r for r in _api(api, "/flow_runs/filter", {}) if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")
        ], 240, [serve_log, server_log])  # fmt: skip
        assert [r["state_type"] for r in flow_runs] == ["COMPLETED"], serve_log.read_text(errors="replace")[-3000:]
        assert org.query("SELECT status, repos_extracted FROM runs") == [("ok", 1)]
    finally:
        if served is not None:
            _stop(served)
        _stop(server)
    assert served is not None and served.returncode is not None and server.returncode is not None
