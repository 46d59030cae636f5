"""One audit run: crawl every repository in parallel, write what changed, commit the run.

A run becomes visible (status ok/partial) in one final UPDATE; until then the public
views ignore it, so a killed run never shows up half. Rows are written in batches of
whole repositories, each batch in one transaction, so a commit marked as extracted
always has its files and facts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, fields
from datetime import datetime

from hullcheck import __version__
from hullcheck.config import Config
from hullcheck.crawl import KnownBlob, RepoResult, crawl_repo, expand_git_sources
from hullcheck.extract.dockerfile import EXTRACTOR_VERSION
from hullcheck.sources.git import GitMirrors, GitStats
from hullcheck.store import Store

_FLUSH_EVERY_SECONDS = 5.0


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
        summary.status = "partial" if summary.failed else "ok"
        message = f"{summary.failed} of {summary.repos_total} repositories failed" if summary.failed else None
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


def _sql(name: str) -> str:
    from hullcheck.paths import read_sql

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
    known_commits = {(r, c): t for r, c, t in store.query_file("known_commits", [EXTRACTOR_VERSION])}
    known_blobs = {
        sha: KnownBlob(size, binary, compose, has_df)
        for sha, size, binary, compose, has_df in store.query_file("known_blobs", [EXTRACTOR_VERSION])
    }
    mirrors = GitMirrors(cfg.cache_path, cfg.git_timeout_seconds)
    summary.git = mirrors.stats
    writer = _BatchWriter(store, run_id, cfg.write_batch_repos)
    done = 0
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="crawl")
    try:
        futures = [
            pool.submit(crawl_repo, spec, mirrors, known_commits, known_blobs, as_of, cfg.max_file_bytes)
            for spec in specs
        ]
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


class _BatchWriter:
    """Buffers whole repositories and writes them in one transaction per batch."""

    def __init__(self, store: Store, run_id: int, batch_repos: int) -> None:
        self.store = store
        self.batch_repos = batch_repos
        self.run_id = run_id
        self.pending: list[RepoResult] = []
        self.last_flush = time.monotonic()
        self.written_blobs: set[str] = set()
        self.written_facts: set[str] = set()

    def add(self, result: RepoResult) -> None:
        self.pending.append(result)
        if len(self.pending) >= self.batch_repos or time.monotonic() - self.last_flush > _FLUSH_EVERY_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        s = self.store
        snapshots, commits, files, blobs = [], [], [], []
        facts: dict[str, object] = {}
        for r in batch:
            snap = r.snapshot
            snapshots.append(
                (
                    self.run_id,
                    snap.repo,
                    snap.url,
                    snap.ref,
                    snap.commit_sha,
                    snap.committed_at,
                    snap.status,
                    snap.error,
                    snap.blobs_read,
                    snap.duration_ms,
                )
            )
            if r.new_commit:
                commits.append((snap.repo, snap.commit_sha, snap.committed_at, EXTRACTOR_VERSION))
                files.extend(r.files)
            for b in r.blobs:
                if b.blob_sha not in self.written_blobs:
                    self.written_blobs.add(b.blob_sha)
                    blobs.append(b)
            for sha, f in r.dockerfiles.items():
                if sha not in self.written_facts:
                    self.written_facts.add(sha)
                    facts[sha] = f
        now = datetime.now().astimezone()
        s.con.execute("BEGIN TRANSACTION")
        try:
            s.insert("git_snapshots", snapshots, _SNAPSHOT_COLUMNS)
            s.con.execute(_sql("forget_commits_to_reextract"), [[c[0] for c in commits], [c[1] for c in commits]])
            s.insert("git_commits", [(*c, now) for c in commits], _COMMIT_COLUMNS, or_replace=True)
            s.insert("git_commit_files", files)
            s.insert("git_blobs", blobs)
            _write_dockerfile_facts(s, facts)
            s.con.execute("COMMIT")
        except BaseException:
            s.con.execute("ROLLBACK")
            raise
        self.last_flush = time.monotonic()


_SNAPSHOT_COLUMNS = (
    "run_id",
    "repo",
    "url",
    "ref",
    "commit_sha",
    "committed_at",
    "status",
    "error",
    "blobs_read",
    "duration_ms",
)
_COMMIT_COLUMNS = ("repo", "commit_sha", "committed_at", "extractor_version", "extracted_at")


def _write_dockerfile_facts(store: Store, facts: dict) -> None:
    if not facts:
        return
    shas = list(facts)
    # Facts from an older extractor version are replaced, not duplicated.
    for table in ("df_files", "df_stages", "df_instructions", "df_packages", "df_vars", "df_copies"):
        store.con.execute(f"DELETE FROM {table} WHERE blob_sha IN (SELECT unnest(?))", [shas])
    files, stages, instructions, packages, vars_, copies = [], [], [], [], [], []
    for sha, f in facts.items():
        d = f.file
        files.append(
            (
                sha,
                EXTRACTOR_VERSION,
                d.syntax,
                d.escape,
                d.check_directive,
                d.stage_count,
                d.final_stage_index,
                d.final_stage_name,
                d.global_args,
                d.parse_error,
                d.warnings,
            )
        )
        for rows, out in (
            (f.stages, stages),
            (f.instructions, instructions),
            (f.packages, packages),
            (f.vars, vars_),
            (f.copies, copies),
        ):
            out.extend((sha, row) for row in rows)
    store.insert("df_files", files, _DF_FILE_COLUMNS)
    for table, rows in (
        ("df_stages", stages),
        ("df_instructions", instructions),
        ("df_packages", packages),
        ("df_vars", vars_),
        ("df_copies", copies),
    ):
        if rows:
            cols = ["blob_sha", *(fld.name for fld in fields(rows[0][1]))]
            store.insert(table, [(sha, *(getattr(r, c) for c in cols[1:])) for sha, r in rows], cols)


_DF_FILE_COLUMNS = (
    "blob_sha",
    "extractor_version",
    "syntax",
    "escape",
    "check_directive",
    "stage_count",
    "final_stage_index",
    "final_stage_name",
    "global_args",
    "parse_error",
    "warnings",
)
