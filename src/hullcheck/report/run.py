"""`hullcheck report` as library stages (the weekly flow calls the same): read, render, mail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hullcheck.config import Config
from hullcheck.errors import ConfigError
from hullcheck.policy.catalog import load_catalog
from hullcheck.report.data import load_report
from hullcheck.report.mail import Mail, compose_mails, write_eml
from hullcheck.report.model import Site, build_site
from hullcheck.report.render import Rendered, render_site


@dataclass
class Report:
    site: Site
    rendered: Rendered
    mails: list[Mail] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # teams without an address
    eml: list[Path] = field(default_factory=list)


def build_report(cfg: Config, week: str | None = None, out: Path | None = None, weeks: int = 12,
                 progress: Callable[[str], None] | None = None) -> Report:  # fmt: skip
    """Read the week's report (default: the newest evaluated week) and write the site to `out`
    (default: the config's report directory)."""
    data = load_report(cfg.database_path, week, weeks)
    emails = {t.name: t.email for t in cfg.teams}
    site = build_site(data, load_catalog(cfg.policies_path), cfg.report.top, emails)
    rendered = render_site(site, out or cfg.report_path, cfg.report.base_url, progress)
    return Report(site, rendered)


def prepare_mails(cfg: Config, report: Report) -> None:
    if cfg.email is None:
        raise ConfigError("no `email:` section in the config: set at least `email: {from: ..., org_to: [...]}`")
    report.mails, report.skipped = compose_mails(report.site, report.rendered, cfg.email, cfg.report.base_url)


def dry_run_mails(cfg: Config, report: Report, directory: Path | None = None) -> list[Path]:
    prepare_mails(cfg, report)
    report.eml = write_eml(report.mails, directory or report.rendered.out / "mail")
    return report.eml
