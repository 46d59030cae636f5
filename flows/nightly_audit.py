"""The nightly audit as a Prefect flow: the library's stages, each repository and image source a task.

`hullcheck.audit.run_audit` does the work (begin the run, crawl, write, evaluate, publish); this flow
gives it a fan-out in which the reads are Prefect tasks (visible, logged, run by the flow's task runner:
threads by default), a batch of sources each (`batch_size`), while the rows come back to this process,
the one writer. Then: a Markdown artifact summarising the run, and an alert mail to the platform team
when the run is not ok. Final state: Completed for ok and partial (the run says what failed),
Failed for a config error or a fatal one (the run is recorded failed).

Past one machine: `nightly_audit.with_options(task_runner=DaskTaskRunner(address=...))` (the `dask`
extra; `hullcheck flow run nightly-audit --dask ADDRESS|local`) sends each repository's crawl and
extraction to the Dask workers; the rows come back to this process, which writes them (docs/scaling.md).
Transient faults are retried with backoff inside the read, permanent ones are not: by the registry client
(connection errors, 429, 5xx, honouring Retry-After; never 401/403/404 or a manifest that does not
parse) and by `crawl_repo` for git (`GitUnreachable`); a retry of the whole task would read again what
already succeeded.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from hullcheck.audit import AuditSummary, run_audit
from hullcheck.config import load_config
from hullcheck.crawl.pool import map_unordered
from hullcheck.dates import parse_as_of
from hullcheck.report.run_alert import RunReport, alert_message, post_webhook, summary_markdown, webhook_payload
from hullcheck.store import Store


@task(name="read-sources", cache_policy=NO_CACHE, log_prints=False)
def read_sources(read: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    return [read(item) for item in items]  # never raises for a source that fails: its result carries the error row


def batch_size(count: int) -> int:
    """Sources per task: one each for a small org, at most 100 for a large one (about 32 tasks up to 3,200
    sources). A Prefect task costs 20-50 ms of orchestration on this kind of machine (docs/benchmarks.md):
    one per repository would make a quiet night of 200 repositories 15 times slower than its crawl."""
    return max(1, min(100, math.ceil(count / 32)))


def prefect_fan_out(stage: str, read: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
    """Sources in batches, each batch a task run named after its first source; results as batches finish
    (the audit's FanOut): git repositories, and each registry's or layout's repositories. On a task runner
    of other processes (Dask), the git repositories go there (their crawl travels: `RepoCrawler`); a
    registry's repositories, whose reads add to one shared result (digests claimed, layers loaded), stay
    in this process, on threads."""
    if stage != "repository" and not isinstance(get_run_context().task_runner, ThreadPoolTaskRunner):
        yield from map_unordered(read, items, 8, threading.Event(), "registry")  # in this process, side by side
        return
    size = batch_size(len(items))
    batches = [items[k : k + size] for k in range(0, len(items), size)]
    futures = [read_sources.with_options(task_run_name=_batch_name(stage, b)).submit(read, b) for b in batches]
    for future in as_completed(futures):
        yield from future.result()


def _batch_name(stage: str, batch: list[Any]) -> str:
    return f"{stage} {_name(batch[0])}" + (f" (+{len(batch) - 1})" if len(batch) > 1 else "")


def _name(item: Any) -> str:
    return str(getattr(item, "name", None) or getattr(item, "host", None) or getattr(item, "path", item))[:120]


def run_report(cfg_path: Path, summary: AuditSummary) -> RunReport:
    g, i = summary.git, summary.images
    report = RunReport(summary.run_id, summary.status, summary.seconds, g.total, g.extracted, g.unchanged, g.failed,
                       i.sources, i.tags_seen, g.failures + i.failures,
                       summary.evaluation.findings if summary.evaluation else None,
                       problem=summary.evaluation_error)  # fmt: skip
    with Store.open(load_config(cfg_path).database_path, read_only=True) as store:
        report.changes = {t: (int(n), int(r)) for t, n, r in store.query("run_finding_changes", [summary.run_id])}
    return report


@task(name="send-alert", retries=2, retry_delay_seconds=[10, 60], cache_policy=NO_CACHE)
def send_alert(config_path: str, report: RunReport) -> str:
    from hullcheck.report.smtp import send_messages

    cfg = load_config(Path(config_path))
    if cfg.email is None or cfg.email.smtp is None:
        return "no alert mail: the config has no email.smtp"
    message = alert_message(cfg.email, report, cfg.report.base_url)
    if message is None:
        return "no alert mail: nobody in email.org_to"
    failed = [d.error for d in send_messages(cfg.email.smtp, [message]) if d.error]
    if failed:
        raise RuntimeError(f"the alert could not be sent: {failed[0]}")
    return f"alert sent to {', '.join(cfg.email.org_to)}"


@task(name="post-webhook", retries=2, retry_delay_seconds=[10, 60], cache_policy=NO_CACHE)
def post_alert_webhook(config_path: str, report: RunReport) -> str:
    cfg = load_config(Path(config_path))
    name = cfg.alerts.webhook_url_env
    url = os.environ.get(name or "") if name else None
    if not url:
        return f"no webhook: {name} is not set" if name else "no webhook configured"
    post_webhook(url, webhook_payload(report, cfg.report.base_url), cfg.alerts.timeout_seconds)
    return f"webhook ({name}) told"


@flow(name="nightly-audit", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=False)
def nightly_audit(config_path: str = "hullcheck.yaml", as_of: str | None = None,
                  only: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Audit every configured source, evaluate and publish the run; summarise it, and alert when it is not ok."""
    logger = get_run_logger()
    cfg = load_config(Path(config_path))
    when = parse_as_of(as_of) if as_of else None
    summary = run_audit(cfg, as_of=when, only=only, fan_out=prefect_fan_out, command="prefect nightly-audit")
    report = run_report(Path(config_path), summary)
    logger.info(report.headline)
    for failure in report.failures:
        logger.warning("failed: %s", failure)
    create_markdown_artifact(key="nightly-audit-summary", markdown=summary_markdown(report),
                             description=f"hullcheck run {summary.run_id}")  # fmt: skip
    if summary.status != "ok":
        logger.warning(send_alert(config_path, report))
        logger.warning(post_alert_webhook(config_path, report))
    return {"run_id": summary.run_id, "status": summary.status, "flow_run_id": str(flow_run.id),
            "repos": report.repos_total, "extracted": report.extracted, "unchanged": report.unchanged,
            "failed": report.failed, "failures": report.failures, "findings": report.findings,
            "seconds": round(summary.seconds, 1), "warnings": summary.warnings}  # fmt: skip


def with_concurrency(threads: int) -> Any:
    """The flow on a thread pool of `threads` (the config's `concurrency`: what `hullcheck audit` uses)."""
    return nightly_audit.with_options(task_runner=ThreadPoolTaskRunner(max_workers=threads))


def on_dask(address: str | None = None, workers: int = 2) -> Any:
    """The flow on a Dask cluster: the scheduler at `address`, else a local one of `workers` processes."""
    from prefect_dask import DaskTaskRunner

    local = {"n_workers": workers, "threads_per_worker": 1, "processes": True}
    runner = DaskTaskRunner(address=address) if address else DaskTaskRunner(cluster_kwargs=local)
    return nightly_audit.with_options(task_runner=runner)


if __name__ == "__main__":
    nightly_audit()
