"""One audit run: crawl every repository in parallel, write what changed, commit the run.

A run becomes visible (status ok/partial) in one final UPDATE; until then the public
views ignore it, so a killed run never shows up half. Rows are written in batches of
whole repositories, each batch in one transaction, so a commit marked as extracted
always has its files and facts.
"""

from __future__ import annotations

import glob
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hullcheck import __version__
from hullcheck.config import Config
from hullcheck.crawl.git import CrawlContext, KnownBlob, RepoResult, crawl_repo, expand_git_sources
from hullcheck.crawl.writer import BatchWriter, write_registry
from hullcheck.extract import COMMIT_VERSION
from hullcheck.extract.dockerfile.parse import EXTRACTOR_VERSION as DOCKERFILE_VERSION
from hullcheck.extract.image.layer_scan import LAYER_SCAN_VERSION, FileRow, LayerScan
from hullcheck.extract.signals import SIGNALS_VERSION
from hullcheck.sources.git import GitMirrors, GitStats
from hullcheck.store import Store


@dataclass
class AuditSummary:
    run_id: int
    status: str = "running"
    repos_total: int = 0
    extracted: int = 0
    unchanged: int = 0
    empty: int = 0
    failed: int = 0
    files: int = 0
    dockerfiles: int = 0
    stages: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    git: GitStats = field(default_factory=GitStats)
    registries: int = 0
    tags_seen: int = 0
    tags_new: int = 0
    registry_failures: list[str] = field(default_factory=list)
    registry_requests: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "partial": 1}.get(self.status, 2)


ProgressFn = Callable[[RepoResult, int, int], None]


def run_audit(
    cfg: Config,
    as_of: datetime | None = None,
    only: list[str] | None = None,
    progress: ProgressFn | None = None,
) -> AuditSummary:
    specs = expand_git_sources(cfg, only)  # config problems surface before a run is recorded
    started = time.monotonic()
    with Store.open(cfg.database_path) as store:
        store.con.execute(_sql("abandon_running"))
        run_id = int(
            store.query_file(
                "begin_run",
                [
                    as_of,
                    cfg.source_hash,
                    str(cfg.source_path or ""),
                    __version__,
                    only or None,
                ],
            )[0][0]
        )
        summary = AuditSummary(run_id=run_id, repos_total=len(specs))
        try:
            _crawl_all(cfg, store, run_id, specs, as_of, summary, progress)
            if as_of is None and not only:  # registries have no history to backfill; --only names git repos
                _crawl_registries(cfg, store, run_id, summary)
        except BaseException as e:
            summary.status = "failed"
            store.con.execute(
                _sql("finish_run"),
                [
                    "failed",
                    summary.repos_total,
                    summary.extracted,
                    summary.unchanged,
                    summary.failed,
                    f"the audit stopped: {type(e).__name__}: {e}",
                    run_id,
                ],
            )
            raise
        problems = []
        if summary.failed:
            problems.append(f"{summary.failed} of {summary.repos_total} repositories failed")
        if summary.registry_failures:
            problems.append(f"{len(summary.registry_failures)} registry, repository or tag reads failed")
        summary.status = "partial" if problems else "ok"
        message = "; ".join(problems) or None
        store.con.execute(
            _sql("finish_run"),
            [
                summary.status,
                summary.repos_total,
                summary.extracted,
                summary.unchanged,
                summary.failed,
                message,
                run_id,
            ],
        )
    summary.seconds = time.monotonic() - started
    return summary


def _crawl_registries(cfg: Config, store: Store, run_id: int, summary: AuditSummary) -> None:
    if not cfg.registries and not cfg.layouts:
        return
    from hullcheck.crawl.registry import crawl_layout, crawl_registry  # HTTP stack only when registries are audited

    known = {row[0] for row in store.query_file("known_image_digests")}
    layouts: list[Path] = []
    for src in cfg.layouts:
        pattern = str(cfg.resolve(Path(src.path)))
        layouts += [Path(p) for p in sorted(glob.glob(pattern))] or [Path(pattern)]  # a miss becomes an error row
    loader = _layer_loader(store)
    unsummarized = (
        {row[0] for row in store.query_file("unsummarized_images")}
        if any(src.layer_scan for src in cfg.registries)
        else set()
    )
    jobs = [
        (lambda s=src: crawl_registry(s, known, loader, set(store.query_file("seen_tags", [s.host])), unsummarized))
        for src in cfg.registries
    ]
    jobs += [(lambda p=path: crawl_layout(p, known)) for path in layouts]
    for job in jobs:
        result = job()
        write_registry(store, run_id, result)
        known.update(result.manifests, result.configs)
        summary.registries += 1
        summary.tags_seen += sum(1 for t in result.tags if t.tag is not None and t.status != "failed")
        summary.tags_new += sum(1 for t in result.tags if t.status == "new")
        summary.registry_failures += [t.error or "failed" for t in result.tags if t.status == "failed"]
        for k, v in result.requests.items():
            summary.registry_requests[k] = summary.registry_requests.get(k, 0) + v


def _layer_loader(store: Store):  # type: ignore[no-untyped-def]
    """Layers scanned on earlier nights, read back for new images that reuse them (thread-safe)."""
    cursor, lock = store.con.cursor(), threading.Lock()
    query = _sql("layer_files")

    def load(digest: str) -> LayerScan | None:
        with lock:
            rows = cursor.execute(query, [digest, LAYER_SCAN_VERSION]).fetchall()
        if not rows:
            return None
        files = [FileRow(*r[1:]) for r in rows if r[1] is not None]
        return LayerScan(digest, rows[0][0], files)

    return load


def _sql(name: str) -> str:
    from hullcheck.assets import read_sql

    return read_sql(f"queries/{name}.sql")


def _crawl_all(
    cfg: Config,
    store: Store,
    run_id: int,
    specs: list,
    as_of: datetime | None,
    summary: AuditSummary,
    progress: ProgressFn | None,
) -> None:
    known_commits = {(r, c): t for r, c, t in store.query_file("known_commits", [COMMIT_VERSION])}
    known_blobs = {
        row[0]: KnownBlob(*row[1:]) for row in store.query_file("known_blobs", [DOCKERFILE_VERSION, SIGNALS_VERSION])
    }
    mirrors = GitMirrors(cfg.cache_path, cfg.git_timeout_seconds)
    summary.git = mirrors.stats
    ctx = CrawlContext(mirrors, known_commits, known_blobs, as_of, cfg.max_file_bytes)
    writer = BatchWriter(store, run_id, cfg.write_batch_repos)
    done = 0
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="crawl")
    try:
        futures = [pool.submit(crawl_repo, spec, ctx) for spec in specs]
        for fut in as_completed(futures):
            result = fut.result()
            done += 1
            _count(summary, result)
            writer.add(result)
            if progress is not None:
                progress(result, done, len(specs))
    except BaseException:
        # Stopping (SIGTERM, Ctrl-C, a store error): do not crawl what is still queued.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    writer.flush()


def _count(summary: AuditSummary, result: RepoResult) -> None:
    status = result.snapshot.status
    if status == "extracted":
        summary.extracted += 1
    elif status == "unchanged":
        summary.unchanged += 1
    elif status == "empty":
        summary.empty += 1
    else:
        summary.failed += 1
        summary.failures.append(f"{result.snapshot.repo}: {result.snapshot.error}")
    summary.files += len(result.files)
    summary.dockerfiles += sum(1 for f in result.files if f.kind == "dockerfile")
    summary.stages += sum(len(f.stages) for f in result.dockerfiles.values())
