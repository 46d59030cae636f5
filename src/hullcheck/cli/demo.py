"""`hullcheck demo`: the whole job on an embedded org, with no server — create it, backfill ten weeks
of its git history, audit it tonight (images included), render the report and write the mails."""

from __future__ import annotations

import sys
from pathlib import Path

from hullcheck.cli.audit import run_audit_command, run_backfill_command
from hullcheck.cli.common import EXIT_ERROR, error
from hullcheck.errors import HullcheckError

DEMO_WEEKS = 10


def run_demo(directory: Path) -> int:
    from hullcheck.config import load_config
    from hullcheck.demo import create_demo_org
    from hullcheck.report.run import build_report, dry_run_mails

    config = create_demo_org(directory)
    print(f"demo org written to {directory}/ (config: {config})")
    codes = [run_backfill_command(config, DEMO_WEEKS, "7d")]
    print("\ntonight's audit (registries and image layouts included):")
    codes.append(run_audit_command(config, None, None, quiet=True))
    try:
        cfg = load_config(config)
        report = build_report(cfg)
        mails = dry_run_mails(cfg, report)
    except HullcheckError as e:
        error(str(e))
        return EXIT_ERROR
    site = report.site
    out = report.rendered.out
    print(f"\nreport for {site.data.week.week}: {len(site.teams)} teams, {len(site.findings)} findings, "
          f"{len(site.data.window)} weeks of trend")  # fmt: skip
    print(f"  open the site:   {out / 'index.html'}")
    print(f"  the mails (.eml): {mails[0].parent}/ ({len(mails)} files: org digest and one per team)")
    print(f"  the summary:     {out / 'report.md'}")
    exe = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "hullcheck"
    print(f"\nNext, ask it something:\n  {exe} findings -c {config}\n  {exe} sql -c {config} "
          "\"SELECT week, team, sum(open) AS open FROM weekly_findings GROUP BY ALL ORDER BY ALL\"")  # fmt: skip
    return max(codes)
