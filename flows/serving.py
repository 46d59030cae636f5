"""`hullcheck serve`: both deployments on their cron schedules, served from one process to a Prefect server.

The flows run in this process when their schedule (or `prefect deployment run`) says so; prefect.yaml
describes the same deployments for a work pool and worker instead.
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.schedules import Cron

from hullcheck.config import load_config

from .nightly_audit import with_concurrency
from .weekly_report import weekly_report


def serve_both(config_path: Path, timezone: str, nightly_cron: str, weekly_cron: str) -> None:
    params = {"config_path": str(config_path.resolve())}
    nightly = with_concurrency(load_config(config_path).concurrency)  # the config's `concurrency` threads
    schedule = {"nightly-audit": (nightly, nightly_cron), "weekly-report": (weekly_report, weekly_cron)}
    deployments = [
        f.to_deployment(name=name, schedules=[Cron(cron, timezone=timezone)], parameters=params, tags=["hullcheck"],
                        description=f"hullcheck {name} for {config_path.resolve()}")
        for name, (f, cron) in schedule.items()
    ]  # fmt: skip
    serve(*deployments)
