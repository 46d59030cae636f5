"""`hullcheck flow run NAME` and `hullcheck serve`: the Prefect flows, in process or served to a server.

Prefect is imported only here, and only after its settings are made fit for a small unattended machine
(docs/benchmarks.md measured the ephemeral server's start-up at up to a minute on 2 cores): its own
home under hullcheck's state directory, no telemetry, a start-up timeout that waits for the server.
Settings already in the environment win.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from hullcheck.cli.common import fail

FLOWS = {"nightly-audit": ("nightly_audit", "nightly_audit"), "weekly-report": ("weekly_report", "weekly_report"),
         "serving": ("serving", "serve_both")}  # fmt: skip


def prefect_settings() -> None:
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "hullcheck"
    for key, value in {
        "PREFECT_HOME": str(state / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }.items():
        os.environ.setdefault(key, value)


def flow_module(name: str) -> ModuleType:
    """The flow's module: `hullcheck_flows` once installed, the checkout's `flows/` in development."""
    if name not in FLOWS:
        raise fail(f"unknown flow {name!r}: use nightly-audit or weekly-report")
    module = FLOWS[name][0]
    try:
        return importlib.import_module(f"hullcheck_flows.{module}")
    except ModuleNotFoundError as e:
        if e.name not in ("hullcheck_flows", f"hullcheck_flows.{module}"):
            raise fail(f"the flows need Prefect: pip install 'hullcheck[flows]' ({e})") from None
    from hullcheck.assets import sql_dir

    checkout = sql_dir().parent
    if not (checkout / "flows" / f"{module}.py").is_file():
        raise fail("the flows are not installed: pip install 'hullcheck[flows]'")
    sys.path.insert(0, str(checkout))
    try:
        return importlib.import_module(f"flows.{module}")
    except ModuleNotFoundError as e:
        raise fail(f"the flows need Prefect: pip install 'hullcheck[flows]' ({e})") from None


def run_flow(name: str, config: Path, as_of: str | None, only: list[str] | None, week: str | None,
             dry_run: bool, dask: str | None = None) -> int:  # fmt: skip
    if name not in ("nightly-audit", "weekly-report"):
        raise fail(f"unknown flow {name!r}: use nightly-audit or weekly-report")
    prefect_settings()
    module = flow_module(name)
    fn = getattr(module, FLOWS[name][1])
    if name == "nightly-audit" and dask is None:
        from hullcheck.config import load_config

        fn = module.with_concurrency(load_config(config).concurrency)
    if dask is not None:
        if name != "nightly-audit":
            raise fail("--dask applies to nightly-audit (the weekly report renders in one process)")
        try:
            fn = module.on_dask(None if dask == "local" else dask)
        except ModuleNotFoundError as e:
            raise fail(f"--dask needs the dask extra: pip install 'hullcheck[dask]' ({e})") from None
    if name == "nightly-audit":
        result: dict[str, Any] = fn(config_path=str(config.resolve()), as_of=as_of, only=only or None)
        print(f"run {result['run_id']} {result['status']}: {result['repos']} repositories, {result['failed']} failed, "
              f"{result['findings']} findings in {result['seconds']}s")  # fmt: skip
        return {"ok": 0, "partial": 1}.get(result["status"], 2)
    result = fn(config_path=str(config.resolve()), week=week, dry_run=dry_run)
    print(f"report for {result['week']}: {result['pages']} pages; {result['sent']} of {result['mails']} mails sent")
    return 0 if result["sent"] == result["mails"] or dry_run else 1


def serve(config: Path, timezone: str, nightly: str, weekly: str) -> int:
    """Both deployments, served from this process until it is stopped (SIGTERM / Ctrl-C)."""
    if not os.environ.get("PREFECT_API_URL"):
        raise fail("hullcheck serve needs a Prefect server: set PREFECT_API_URL (e.g. run `prefect server start` "
                   "and export PREFECT_API_URL=http://127.0.0.1:4200/api)")  # fmt: skip
    prefect_settings()
    flow_module("serving").serve_both(config, timezone, nightly, weekly)
    return 0
