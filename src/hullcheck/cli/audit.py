"""The terminal side of `hullcheck audit`: progress, summary, exit status."""

from __future__ import annotations

import signal
import sys
from datetime import datetime
from pathlib import Path

from hullcheck.audit import AuditSummary, run_audit
from hullcheck.config import ConfigError, load_config
from hullcheck.crawl.git import RepoResult
from hullcheck.store import StoreError


def run_audit_command(config_path: Path, as_of: datetime | None, only: list[str] | None, quiet: bool) -> int:
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    interactive = sys.stderr.isatty() and not quiet
    signal.signal(signal.SIGTERM, _stop)  # schedulers stop jobs with SIGTERM: record the run as failed
    try:
        if interactive:
            summary = _with_progress_bar(cfg, as_of, only)
        else:
            summary = run_audit(cfg, as_of, only, None if quiet else _log_line)
    except (ConfigError, StoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Stopped as e:
        print(f"stopped: {e}; the run is recorded as failed and stays invisible in reports", file=sys.stderr)
        return 143
    _print_summary(summary)
    return summary.exit_code


class Stopped(Exception):
    pass


def _stop(signum: int, frame: object) -> None:
    raise Stopped(f"received {signal.Signals(signum).name}")


def _log_line(result: RepoResult, done: int, total: int) -> None:
    s = result.snapshot
    detail = s.error if s.error else (s.commit_sha or "")[:12]
    print(f"[{done}/{total}] {s.repo}: {s.status} {detail}", file=sys.stderr, flush=True)


def _with_progress_bar(cfg, as_of, only) -> AuditSummary:  # type: ignore[no-untyped-def]
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
            bar.update(task, completed=done, total=total, description=result.snapshot.repo)
            if result.snapshot.status == "failed":
                bar.console.print(f"[red]failed[/red] {result.snapshot.repo}: {result.snapshot.error}")

        return run_audit(cfg, as_of, only, update)


def _print_summary(s: AuditSummary) -> None:
    print(
        f"run {s.run_id}: {s.status} — {s.repos_total} repos: {s.extracted} extracted, {s.unchanged} unchanged, "
        f"{s.empty} empty, {s.failed} failed; {s.files} files, {s.dockerfiles} Dockerfiles, {s.stages} stages; "
        f"{s.git.blobs_read} blobs read; {s.seconds:.1f}s"
    )
    if s.registries:
        print(f"  {s.registries} image sources: {s.tags_seen} tags, {s.tags_new} new digests, "
              f"{len(s.registry_failures)} failures")  # fmt: skip
    for f in s.failures + s.registry_failures:
        print(f"  failed: {f}")
