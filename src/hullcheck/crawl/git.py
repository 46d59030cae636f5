"""Crawl one git repository into rows: the I/O of `sources.git` plus the pure extractors.

`crawl_repo` never raises: whatever goes wrong becomes a failed snapshot with a message a
human understands, so one broken repository never stops an audit.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hullcheck.config import Config, ConfigError
from hullcheck.extract.compose.discover import SIGNAL_KINDS, extract_projects
from hullcheck.extract.compose.rows import ComposeFacts
from hullcheck.extract.dockerfile.parse import extract_dockerfile
from hullcheck.extract.dockerfile.rows import DockerfileFacts
from hullcheck.extract.files import READ_KINDS, classify, has_top_level_services, resolve_symlink
from hullcheck.extract.signals import SignalRow, extract_signals
from hullcheck.redact import redact_text
from hullcheck.sources.git import GitMirrors, GitSourceError, RepoSpec, TreeEntry

SYMLINK_MODE = "120000"


@dataclass(slots=True)
class SnapshotRow:
    repo: str
    url: str
    ref: str | None
    commit_sha: str | None
    committed_at: datetime | None
    status: str  # extracted | unchanged | empty | failed
    error: str | None = None
    blobs_read: int = 0
    duration_ms: int = 0


@dataclass(slots=True)
class CommitFileRow:
    repo: str
    commit_sha: str
    path: str
    kind: str
    blob_sha: str | None
    mode: str
    symlink_target: str | None
    skipped_reason: str | None


@dataclass(slots=True)
class BlobRow:
    blob_sha: str
    size: int
    is_binary: bool
    is_compose: bool


@dataclass
class RepoResult:
    snapshot: SnapshotRow
    new_commit: bool = False
    files: list[CommitFileRow] = field(default_factory=list)
    blobs: list[BlobRow] = field(default_factory=list)
    dockerfiles: dict[str, DockerfileFacts] = field(default_factory=dict)
    compose: list[ComposeFacts] = field(default_factory=list)
    signals: dict[str, list[SignalRow]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KnownBlob:
    size: int
    is_binary: bool
    is_compose: bool
    has_dockerfile_facts: bool
    has_signal_facts: bool


def repo_name(url_or_path: str) -> str:
    tail = url_or_path.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removesuffix(".git") or url_or_path


def expand_git_sources(cfg: Config, only: list[str] | None = None) -> list[RepoSpec]:
    """Every repository the config names, with its report name; `only` filters by name globs."""
    specs: list[RepoSpec] = []
    for src in cfg.sources.git:
        if src.url is not None:
            url = src.url
            if "://" not in url and not url.startswith("git@"):
                url = str(cfg.resolve(Path(url)))
            specs.append(RepoSpec(src.name or repo_name(url), url, src.ref))
        else:
            pattern = str(cfg.resolve(Path(src.path_glob or "")))
            for path in sorted(glob.glob(pattern)):
                if os.path.isfile(os.path.join(path, "HEAD")) or os.path.isdir(os.path.join(path, ".git")):
                    specs.append(RepoSpec(repo_name(path), path, src.ref))
    seen: dict[str, RepoSpec] = {}
    for s in specs:
        if s.name in seen and seen[s.name] != s:
            first = seen[s.name]
            raise ConfigError(
                f"two sources are both named '{s.name}' ({first.display_url} ref {first.ref or 'HEAD'} and "
                f"{s.display_url} ref {s.ref or 'HEAD'}); give one of them a `name:` in sources.git"
            )
        seen[s.name] = s
    specs = list(seen.values())
    if only:
        specs = [s for s in specs if any(fnmatch.fnmatch(s.name, g) for g in only)]
        if not specs:
            raise ConfigError(f"no configured repository matches --only {' '.join(only)}")
    return specs


@dataclass(frozen=True)
class CrawlContext:
    """What every repository's crawl shares: the mirrors, what the database already knows, the options."""

    mirrors: GitMirrors
    known_commits: dict[tuple[str, str], datetime | None]
    known_blobs: dict[str, KnownBlob]
    as_of: datetime | None
    max_bytes: int


def crawl_repo(spec: RepoSpec, ctx: CrawlContext) -> RepoResult:
    started = time.monotonic()
    snap = SnapshotRow(spec.name, spec.display_url, spec.ref, None, None, "failed")
    result = RepoResult(snap)
    try:
        _crawl(spec, ctx, result)
    except GitSourceError as e:
        snap.status, snap.error = "failed", f"{spec.display_url}: {e}"
    except Exception as e:  # a bug must not stop the other repositories either
        detail = redact_text(str(e))[:300]
        snap.status, snap.error = "failed", f"{spec.display_url}: internal error ({type(e).__name__}: {detail})"
    if snap.status == "failed":
        result.files, result.blobs, result.dockerfiles, result.new_commit = [], [], {}, False
        result.compose, result.signals = [], {}
    snap.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def _crawl(spec: RepoSpec, ctx: CrawlContext, result: RepoResult) -> None:
    mirrors, known_commits, as_of = ctx.mirrors, ctx.known_commits, ctx.as_of
    snap = result.snapshot
    tip = mirrors.remote_tip(spec)
    if tip is None:
        snap.status, snap.error = "empty", "the repository has no commits"
        return
    snap.ref = tip.ref
    if as_of is None and (spec.name, tip.sha) in known_commits:
        snap.commit_sha, snap.committed_at, snap.status = tip.sha, known_commits[(spec.name, tip.sha)], "unchanged"
        return
    with mirrors.lock(spec):
        mirror = mirrors.ensure_commit(spec, tip)
        found = mirrors.commit_at(mirror, tip, as_of, spec.url)
        if found is None:
            snap.status, snap.error = "empty", f"no commit on {tip.ref} at or before {as_of}"
            return
        snap.commit_sha, snap.committed_at = found
        if (spec.name, found[0]) in known_commits:
            snap.status = "unchanged"
            return
        entries = mirrors.list_tree(mirror, found[0], spec.url)
        _extract_commit(spec, mirrors, mirror, found[0], entries, ctx.known_blobs, ctx.max_bytes, result)
    snap.status = "extracted"
    result.new_commit = True


def _extract_commit(
    spec: RepoSpec,
    mirrors: GitMirrors,
    mirror: Path,
    commit: str,
    entries: list[TreeEntry],
    known_blobs: dict[str, KnownBlob],
    max_bytes: int,
    result: RepoResult,
) -> None:
    by_path = {e.path: e for e in entries if e.type == "blob"}
    wanted: list[tuple[TreeEntry, str]] = [
        (e, kind) for e in by_path.values() if (kind := classify(e.path)) is not None
    ]
    # Symlinks: read their target (tiny blobs), follow them only inside the repository.
    links = [e for e, _ in wanted if e.mode == SYMLINK_MODE]
    link_targets: dict[str, str] = {}
    if links:
        mirrors.prefetch(mirror, [e.sha for e in links], spec.url)
        raw = mirrors.read_blobs(mirror, [e.sha for e in links], max_bytes)
        link_targets = {sha: v.decode("utf-8", "replace") for sha, v in raw.items() if isinstance(v, bytes)}
    files: list[tuple[TreeEntry, str, TreeEntry | None, str | None, str | None]] = []
    for e, kind in wanted:
        if e.mode != SYMLINK_MODE:
            files.append((e, kind, e, None, None))
            continue
        target = link_targets.get(e.sha, "")
        inside = resolve_symlink(e.path, target)
        target_entry = by_path.get(inside) if inside else None
        if inside is None:
            files.append((e, kind, None, target, f"symlink leaves the repository (-> {target}); not followed"))
        elif target_entry is None or target_entry.mode == SYMLINK_MODE:
            files.append((e, kind, None, target, f"symlink target is not a file in the repository (-> {target})"))
        else:
            files.append((e, kind, target_entry, target, None))

    to_read = sorted(
        {
            blob.sha
            for _, kind, blob, _, reason in files
            if blob is not None
            and reason is None
            and kind in READ_KINDS
            and _needs_read(blob.sha, kind, known_blobs, max_bytes)
        }
    )
    content: dict[str, bytes | int] = {}
    if to_read:
        # One fetch for every blob this mirror lacks (known blobs may come from other repositories).
        absent = mirrors.missing_objects(mirror, commit, spec.url)
        mirrors.prefetch(mirror, [sha for sha in to_read if sha in absent], spec.url)
        content = mirrors.read_blobs(mirror, to_read, max_bytes)
        result.snapshot.blobs_read = len(to_read)
    learned: dict[str, KnownBlob] = {}
    for sha, data in content.items():
        size = data if isinstance(data, int) else len(data)
        is_binary = isinstance(data, bytes) and b"\0" in data[:8192]
        is_compose = isinstance(data, bytes) and not is_binary and has_top_level_services(data)
        learned[sha] = KnownBlob(size, is_binary, is_compose, False, False)
        if sha not in known_blobs:
            result.blobs.append(BlobRow(sha, size, is_binary, is_compose))

    for e, kind, blob, target, reason in files:
        info = learned.get(blob.sha) if blob else None
        info = info or (known_blobs.get(blob.sha) if blob else None)
        if reason is None and info is not None:
            if info.size > max_bytes:
                reason = f"larger than the size cap ({info.size} > {max_bytes} bytes); not read"
            elif info.is_binary:
                reason = "binary content; not read"
        if kind == "yaml_candidate":
            if info is not None and info.is_compose:
                kind = "compose"
            elif reason is None:
                continue  # a YAML file without top-level services: not a Compose file
        data = content.get(blob.sha) if blob is not None and reason is None else None
        if isinstance(data, bytes) and blob is not None:
            if kind == "dockerfile":
                result.dockerfiles[blob.sha] = extract_dockerfile(data)
            elif kind in SIGNAL_KINDS:
                result.signals[blob.sha] = extract_signals(data)
        result.files.append(
            CommitFileRow(spec.name, commit, e.path, kind, blob.sha if blob else None, e.mode, target, reason)
        )
    _compose(spec, mirrors, mirror, by_path, result, content, max_bytes)


def _needs_read(sha: str, kind: str, known: dict[str, KnownBlob], max_bytes: int) -> bool:
    info = known.get(sha)
    if info is None:
        return True
    if info.is_binary or info.size > max_bytes:
        return False
    # Compose projects span files, so they are extracted per commit: their files are read again
    # (from the local mirror). Per-blob facts are read again only when missing for this version.
    if kind in ("compose", "env"):
        return True
    if kind == "yaml_candidate":
        return info.is_compose
    if kind == "dockerfile":
        return not info.has_dockerfile_facts
    return kind in SIGNAL_KINDS and not info.has_signal_facts


def _compose(
    spec: RepoSpec,
    mirrors: GitMirrors,
    mirror: Path,
    by_path: dict[str, TreeEntry],
    result: RepoResult,
    content: dict[str, bytes | int],
    max_bytes: int,
) -> None:
    """Compose projects of the commit; files they name beyond the usual ones are read on demand."""
    compose_paths = [f.path for f in result.files if f.kind == "compose" and f.skipped_reason is None]
    if not compose_paths:
        return
    env_paths = [f.path for f in result.files if f.kind == "env" and f.skipped_reason is None]

    def read(path: str) -> bytes | None:
        entry = by_path.get(path)
        if entry is None or entry.mode == SYMLINK_MODE:
            return None
        if entry.sha not in content:
            content.update(mirrors.read_blobs(mirror, [entry.sha], max_bytes))
            result.snapshot.blobs_read += 1
        data = content[entry.sha]
        return data if isinstance(data, bytes) else None

    result.compose = extract_projects(compose_paths, env_paths, read, spec.name)
