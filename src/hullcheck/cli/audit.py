"""The terminal side of `hullcheck audit`: progress, summary, exit status."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

from hullcheck.audit import AuditSummary, run_audit
from hullcheck.cli.common import EXIT_ERROR, error, shown
from hullcheck.config import Config, load_config
from hullcheck.crawl.rows import RepoResult
from hullcheck.errors import HullcheckError, Stopped

EXIT_STOPPED = 143  # 128 + SIGTERM, as shells report a job stopped by it


def run_audit_command(
    config_path: Path, as_of: datetime | None, only: list[str] | None, quiet: bool, fmt: str = "text"
) -> int:
    """`fmt` json: the summary as one JSON object on stdout (no progress lines; errors still on stderr)."""
    quiet = quiet or fmt == "json"
    try:
        cfg = load_config(config_path)
    except HullcheckError as e:
        error(str(e))
        return EXIT_ERROR
    interactive = sys.stderr.isatty() and not quiet
    cancel, received = threading.Event(), []

    def stop(signum: int, frame: object) -> None:
        # Schedulers stop jobs with SIGTERM, people with Ctrl-C: ask the audit to stop (it records the run as
        # failed within a second); raising here could land inside a database call. A second Ctrl-C forces it.
        if cancel.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(signal.Signals(signum).name)
        cancel.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if interactive:
            summary = _with_progress_bar(cfg, as_of, only, cancel)
        else:
            summary = run_audit(cfg, as_of, only, None if quiet else _log_line, cancel)
    except Stopped:
        why = f"received {received[0]}" if received else "asked to stop"
        print(f"stopped: {why}; the run is recorded as failed and stays invisible in reports", file=sys.stderr)
        return EXIT_STOPPED
    except HullcheckError as e:
        error(str(e))
        return EXIT_ERROR
    _print_summary(summary, fmt)
    return summary.exit_code


def _log_line(result: RepoResult, done: int, total: int) -> None:
    s = result.snapshot
    detail = s.error if s.error else (s.commit_sha or "")[:12]
    print(f"[{done}/{total}] {shown(s.repo)}: {s.status} {shown(detail)}", file=sys.stderr, flush=True)


def _with_progress_bar(
    cfg: Config, as_of: datetime | None, only: list[str] | None, cancel: threading.Event
) -> AuditSummary:
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def update(result: RepoResult, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=escape(shown(result.snapshot.repo)))
            if result.snapshot.status == "failed":  # names are escaped for rich's markup and for the terminal
                repo, err = escape(shown(result.snapshot.repo)), escape(shown(result.snapshot.error))
                bar.console.print(f"[red]failed[/red] {repo}: {err}")

        return run_audit(cfg, as_of, only, update, cancel)


def _print_summary(s: AuditSummary, fmt: str = "text") -> None:
    from hullcheck.cli import summary

    (summary.print_json if fmt == "json" else summary.print_text)(s)


def run_backfill_command(config_path: Path, weeks: int, every: str) -> int:
    from datetime import timedelta

    from hullcheck.backfill import NO_REGISTRY_HISTORY, run_backfill
    from hullcheck.policy.units import parse_duration

    try:
        period = timedelta(seconds=parse_duration(every))
    except ValueError as e:
        error(f"--every {every!r}: {e}")
        return EXIT_ERROR
    if period < timedelta(hours=1):
        error(f"--every {every!r}: one audit per hour at most (use 1d, 7d, ...)")
        return EXIT_ERROR
    try:
        cfg = load_config(config_path)
    except HullcheckError as e:
        error(str(e))
        return EXIT_ERROR
    print(f"backfill: {weeks} weeks of git history, one as-of audit per {every}; {NO_REGISTRY_HISTORY}")

    def before(moment: datetime) -> None:
        print(f"as of {moment:%Y-%m-%d %H:%M:%S} UTC ({moment:%G-W%V}):", flush=True)

    def after(moment: datetime, summary: AuditSummary) -> None:
        _print_summary(summary)

    try:
        result = run_backfill(cfg, weeks, period, before_each=before, after_each=after)
    except HullcheckError as e:
        error(str(e))
        return EXIT_ERROR
    if result.skipped:
        print(f"{len(result.skipped)} of {len(result.moments)} moments were already audited (skipped)")
    if not result.audits:
        print("nothing to do: every moment is already in the database")
    return result.exit_code
