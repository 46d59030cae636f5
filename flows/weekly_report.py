"""The weekly report as a Prefect flow: render the site, then send the mails (or write them as .eml).

Thin over `hullcheck.report.run` (what `hullcheck report --email` does): a failed delivery is retried
by the relay's own rules and reported; the flow fails only when nothing could be rendered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from hullcheck.config import load_config
from hullcheck.report.run import build_report, dry_run_mails, prepare_mails


@task(name="render-site", cache_policy=NO_CACHE)
def render_site(config_path: str, week: str | None) -> Any:
    return build_report(load_config(Path(config_path)), week)


@flow(name="weekly-report", log_prints=False)
def weekly_report(
    config_path: str = "hullcheck.yaml", week: str | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """The report site for the week (default: the newest evaluated one) and the mails to each team and the org."""
    logger = get_run_logger()
    cfg = load_config(Path(config_path))
    report = render_site(config_path, week)
    logger.info("site for %s: %s pages in %s", report.site.data.week.week, report.rendered.pages, report.rendered.out)
    if dry_run or cfg.email is None or cfg.email.smtp is None:
        paths = dry_run_mails(cfg, report) if cfg.email is not None else []
        logger.info("mails written as .eml (no SMTP relay configured, or dry run): %s", len(paths))
        return {"week": report.site.data.week.week, "pages": report.rendered.pages, "mails": len(paths), "sent": 0}
    from hullcheck.report.smtp import send_messages

    prepare_mails(cfg, report)
    deliveries = send_messages(cfg.email.smtp, [m.message for m in report.mails])
    for d in deliveries:
        (logger.warning if d.error else logger.info)("%s -> %s: %s", d.subject, ", ".join(d.recipients),
                                                     d.error or "sent")  # fmt: skip
    return {"week": report.site.data.week.week, "pages": report.rendered.pages, "mails": len(deliveries),
            "sent": sum(1 for d in deliveries if not d.error)}  # fmt: skip


if __name__ == "__main__":
    weekly_report()
