"""Crawl one git repository into rows: the I/O of `sources.git` around the pure `extract.commit`.

`crawl_repo` never raises: whatever goes wrong becomes a failed snapshot with a message a
human understands, so one broken repository never stops an audit. It is a plain function of
(spec, context), safe to call from many threads at once (a Prefect task can wrap it as is).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hullcheck.crawl.known import KnownGit
from hullcheck.crawl.rows import RepoResult, SnapshotRow
from hullcheck.errors import GitUnreachable, HullcheckError
from hullcheck.extract.commit import BlobTooLarge, CommitRows, extract_commit, plan_commit, symlinks_to_read
from hullcheck.redact import redact_text
from hullcheck.sources.git import GitMirrors, TreeEntry
from hullcheck.sources.specs import RepoSpec


@dataclass(frozen=True)
class GitCrawl:
    """What every repository's crawl shares: the mirrors, what the database knows, the options."""

    mirrors: GitMirrors
    known: KnownGit
    as_of: datetime | None  # audit each repository as of this time (backfill), else its tip
    max_bytes: int  # files larger than this are recorded, not read


@dataclass
class RepoCrawler:
    """`crawl_repo` over one run's shared context, as a callable that can travel to another process (a
    Dask worker): what it carries is data (the mirror cache's place, what the database knows, options);
    the mirrors handle, with its locks and git processes, is made again where it runs."""

    ctx: GitCrawl

    def __call__(self, spec: RepoSpec) -> RepoResult:
        return crawl_repo(spec, self.ctx)

    def __getstate__(self) -> dict[str, object]:
        m = self.ctx.mirrors
        return {"cache": m.cache_dir.parent, "timeout": m.timeout, "known": self.ctx.known, "as_of": self.ctx.as_of,
                "max_bytes": self.ctx.max_bytes}  # fmt: skip

    def __setstate__(self, state: dict[str, object]) -> None:
        mirrors = GitMirrors(state["cache"], state["timeout"])  # type: ignore[arg-type]
        self.ctx = GitCrawl(mirrors, state["known"], state["as_of"], state["max_bytes"])  # type: ignore[arg-type]


# A repository whose server could not be reached (GitUnreachable) is tried again after about 1 s and 4 s;
# what fails for good (not found, denied, corrupt) is not: the next night tries again anyway.
GIT_RETRIES = 2


def crawl_repo(spec: RepoSpec, ctx: GitCrawl) -> RepoResult:
    started = time.monotonic()
    result = RepoResult(SnapshotRow(spec.name, spec.display_url, spec.ref, None, None, "failed"))
    snap = result.snapshot
    if spec.problem is not None:  # the config named something that is no repository: said, never skipped
        snap.error = redact_text(spec.problem)
        return result
    for attempt in range(GIT_RETRIES + 1):
        try:
            _crawl(spec, ctx, result)
            break
        except GitUnreachable as e:  # the network failed, not the repository: try again shortly
            snap.status, snap.error = "failed", f"{spec.display_url}: {e}"
            if attempt == GIT_RETRIES or ctx.mirrors.wait_to_retry(attempt):
                break
            result.rows, result.new_commit = CommitRows(), False
            snap.status, snap.error, snap.commit_sha, snap.committed_at = "failed", None, None, None
        except HullcheckError as e:
            snap.status, snap.error = "failed", f"{spec.display_url}: {e}"
            break
        except Exception as e:  # a bug must not stop the other repositories either
            detail = redact_text(str(e))[:300]
            snap.status, snap.error = "failed", f"{spec.display_url}: internal error ({type(e).__name__}: {detail})"
            break
    snap.note = ctx.mirrors.take_notes(spec)
    if snap.status == "failed":
        result.rows, result.new_commit = CommitRows(), False
    snap.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def _crawl(spec: RepoSpec, ctx: GitCrawl, result: RepoResult) -> None:
    mirrors, known_commits, snap = ctx.mirrors, ctx.known.commits, result.snapshot
    tip = mirrors.remote_tip(spec)
    if tip is None:
        snap.status, snap.error = "empty", "the repository has no commits"
        return
    snap.ref = tip.ref
    if ctx.as_of is None and (spec.name, tip.sha) in known_commits:
        snap.commit_sha, snap.committed_at, snap.status = tip.sha, known_commits[(spec.name, tip.sha)], "unchanged"
        return
    with mirrors.lock(spec):
        mirror = mirrors.ensure_commit(spec, tip)
        found = mirrors.commit_at(mirror, tip, ctx.as_of, spec.url)
        if found is None:
            snap.status, snap.error = "empty", f"no commit on {tip.ref} at or before {ctx.as_of}"
            return
        snap.commit_sha, snap.committed_at = found
        if (spec.name, found[0]) in known_commits:
            snap.status = "unchanged"
            return
        result.rows = _extract(spec, ctx, mirror, found[0])
    snap.blobs_read = result.rows.blobs_read
    snap.status = "extracted"
    result.new_commit = True


def _extract(spec: RepoSpec, ctx: GitCrawl, mirror: Path, commit: str) -> CommitRows:
    mirrors = ctx.mirrors
    entries = mirrors.list_tree(mirror, commit, spec.url)
    links = symlinks_to_read(entries)
    link_targets: dict[str, bytes | int] = {}
    if links:  # symlinks: read their targets (tiny blobs) first, to follow them inside the repository
        mirrors.prefetch(mirror, links, spec.url)
        link_targets = mirrors.read_blobs(mirror, links, ctx.max_bytes)
    plan = plan_commit(entries, link_targets, ctx.known.blobs, ctx.max_bytes)
    content: dict[str, bytes | int] = {}
    if plan.reads:
        # One fetch for every blob this mirror lacks (known blobs may come from other repositories).
        absent = mirrors.missing_objects(mirror, commit, spec.url)
        mirrors.prefetch(mirror, [sha for sha in plan.reads if sha in absent], spec.url)
        content = mirrors.read_blobs(mirror, list(plan.reads), ctx.max_bytes)
    tree: dict[str, TreeEntry] = {e.path: e for e in entries}

    def read(path: str) -> bytes | None:
        """From the batch; a file only a Compose file names is read on demand from the mirror."""
        entry = tree.get(path)
        if entry is None:
            return None
        if entry.sha not in content:
            content.update(mirrors.read_blobs(mirror, [entry.sha], ctx.max_bytes))
        data = content[entry.sha]
        if isinstance(data, int):
            raise BlobTooLarge(data)
        return data

    return extract_commit(plan, read, ctx.known.blobs, ctx.max_bytes, spec.name, commit)
