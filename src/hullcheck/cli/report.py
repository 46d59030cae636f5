"""The terminal side of `hullcheck report`: render the site, then write or send the mails."""

from __future__ import annotations

import sys
from pathlib import Path

from hullcheck.cli.common import EXIT_ERROR, error, shown
from hullcheck.config import load_config
from hullcheck.errors import HullcheckError


def run_report_command(config_path: Path, week: str | None, out: Path | None, weeks: int, email: bool,
                       dry_run: bool) -> int:  # fmt: skip
    from hullcheck.report.run import build_report, dry_run_mails, prepare_mails

    try:
        cfg = load_config(config_path)
        report = build_report(cfg, week, out, weeks, progress=lambda m: print(f"rendering {m}", file=sys.stderr))
    except HullcheckError as e:
        error(str(e))
        return EXIT_ERROR
    site, rendered = report.site, report.rendered
    print(f"report for {site.data.week.week}: {rendered.pages} pages, {len(rendered.charts)} charts, "
          f"{len(site.findings)} findings, {len(site.teams)} teams")  # fmt: skip
    print(f"  open {rendered.out / 'index.html'}")
    if not email and not dry_run:
        return 0
    try:
        if dry_run:
            paths = dry_run_mails(cfg, report)
            for p in paths:
                print(f"  wrote {p}")
        else:
            prepare_mails(cfg, report)
            return _send(cfg, report)
    except HullcheckError as e:
        error(str(e))
        return EXIT_ERROR
    finally:
        for note in report.skipped:
            print(f"  no mail for {shown(note)}")
    return 0


def _send(cfg, report) -> int:  # type: ignore[no-untyped-def]
    from hullcheck.report.smtp import send_messages

    if cfg.email is None or cfg.email.smtp is None:
        error("no `email.smtp:` in the config: say which relay to use, or pass --dry-run to write .eml files")
        return EXIT_ERROR
    deliveries = send_messages(cfg.email.smtp, [m.message for m in report.mails])
    failed = [d for d in deliveries if d.error]
    for d in deliveries:
        state = f"failed: {d.error}" if d.error else "sent"
        print(f"  {shown(d.subject)} -> {shown(', '.join(d.recipients))}: {shown(state)}")
    return 1 if failed else 0
