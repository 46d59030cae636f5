"""Nightly audit: a thin Prefect flow around `hullcheck.audit.run_audit`.

The library does the crawling, its own fan-out and its error rows; the flow adds the
schedule, the log lines an operator reads in the Prefect UI, and the run's final state:
Completed for ok, Completed with a warning for partial, Failed for a config or fatal error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from hullcheck.audit import run_audit
from hullcheck.config import load_config
from hullcheck.dates import parse_as_of


@task(name="audit-git-sources", retries=0)
def audit_git_sources(config_path: str, as_of: str | None, only: list[str] | None) -> dict[str, Any]:
    cfg = load_config(Path(config_path))
    when = parse_as_of(as_of) if as_of else None
    summary = run_audit(cfg, as_of=when, only=only)
    return {
        "run_id": summary.run_id,
        "status": summary.status,
        "repos": summary.git.total,
        "extracted": summary.git.extracted,
        "unchanged": summary.git.unchanged,
        "failed": summary.git.failed,
        "failures": summary.git.failures + summary.images.failures,
        "seconds": round(summary.seconds, 1),
        "warnings": summary.warnings,
    }


@flow(name="nightly-audit", log_prints=False)
def nightly_audit(
    config_path: str = "hullcheck.yaml", as_of: str | None = None, only: list[str] | None = None
) -> dict[str, Any]:
    """Audit every configured source; the database records the run whatever happens."""
    logger = get_run_logger()
    result = audit_git_sources(config_path, as_of, only)
    logger.info(
        "run %s %s: %s repos, %s extracted, %s unchanged, %s failed in %ss",
        result["run_id"],
        result["status"],
        result["repos"],
        result["extracted"],
        result["unchanged"],
        result["failed"],
        result["seconds"],
    )
    for failure in result["failures"]:
        logger.warning("repository failed: %s", failure)
    return result


if __name__ == "__main__":
    nightly_audit()
