"""One commit's rows, from its tree and a reader (pure: no git, no database).

Two steps, so that the crawl can fetch every blob it needs in one batch per repository:
1. `plan_commit` classifies the tree's paths, follows symlinks inside the repository, gives
   skip reasons, and names the blobs that must be read (those the database does not know
   the facts of yet, per `known`);
2. `extract_commit` reads them through a `Reader` (repository path -> bytes, the boundary
   the Compose loader has too) and runs the extractors.

`extract_files` does both for an in-memory mapping of files: a test or a policy fixture
turns `{"Dockerfile": b"..."}` into exactly the rows an audit of those files would store.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hullcheck.errors import ExtractError
from hullcheck.extract.compose.discover import extract_projects
from hullcheck.extract.compose.filesets import FileSet, file_sets
from hullcheck.extract.compose.rows import ComposeFacts
from hullcheck.extract.dockerfile.parse import extract_dockerfile
from hullcheck.extract.dockerfile.rows import DockerfileFacts
from hullcheck.extract.files import (
    DEFAULT_MAX_FILE_BYTES,
    READ_KINDS,
    SIGNAL_KINDS,
    FileKind,
    classify,
    has_top_level_services,
    resolve_symlink,
)
from hullcheck.extract.pragmas import extract_codeowners, extract_hadolint_pragmas
from hullcheck.extract.signals import SignalRow, extract_signals

SYMLINK_MODE = "120000"

Reader = Callable[[str], bytes | None]
"""Content of a repository path, or None when there is no such file. May raise `BlobTooLarge`."""


class BlobTooLarge(ExtractError):
    """A reader that refuses content over the size cap says so with the size it saw."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes, over the size cap")
        self.size = size


class TreeItem(Protocol):
    """One entry of a commit's tree (`sources.git.TreeEntry` is one)."""

    @property
    def path(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def sha(self) -> str: ...


@dataclass(frozen=True, slots=True)
class TreeFile:
    path: str
    mode: str
    type: str
    sha: str


@dataclass(frozen=True, slots=True)
class KnownBlob:
    """What the database already knows of a blob (read on an earlier night, maybe in another repository)."""

    size: int
    is_binary: bool
    is_compose: bool
    has_dockerfile_facts: bool
    has_signal_facts: bool


@dataclass(slots=True)
class CommitFileRow:
    repo: str
    commit_sha: str
    path: str
    kind: FileKind
    blob_sha: str | None  # for a symlink followed inside the repository: the target's blob
    mode: str
    symlink_target: str | None
    skipped_reason: str | None


@dataclass(slots=True)
class BlobRow:
    blob_sha: str
    size: int
    is_binary: bool
    is_compose: bool


@dataclass(frozen=True, slots=True)
class PlannedFile:
    path: str
    kind: FileKind
    mode: str
    blob: TreeItem | None  # what is read for it: the file itself, or a symlink's target in the repository
    symlink_target: str | None
    skipped_reason: str | None


@dataclass
class CommitPlan:
    files: list[PlannedFile]
    reads: dict[str, str]  # blob sha -> a path to read it by: the blobs to read, in one batch
    tree: dict[str, TreeItem]  # every blob of the commit by path (Compose files name others)


@dataclass
class CommitRows:
    files: list[CommitFileRow] = field(default_factory=list)
    blobs: list[BlobRow] = field(default_factory=list)  # blobs read for the first time
    dockerfiles: dict[str, DockerfileFacts] = field(default_factory=dict)  # by blob sha
    compose: list[ComposeFacts] = field(default_factory=list)
    signals: dict[str, list[SignalRow]] = field(default_factory=dict)  # by blob sha
    blobs_read: int = 0


def symlinks_to_read(entries: Iterable[TreeItem]) -> list[str]:
    """Blobs of the symlinks among the files that matter: their content is the link target."""
    return [e.sha for e in entries if e.type == "blob" and e.mode == SYMLINK_MODE and classify(e.path) is not None]


def plan_commit(
    entries: Iterable[TreeItem],
    link_targets: Mapping[str, bytes | int],
    known: Mapping[str, KnownBlob],
    max_bytes: int,
) -> CommitPlan:
    """The files that matter in a tree and the blobs to read; `link_targets`: symlink blob sha -> content."""
    tree = {e.path: e for e in entries if e.type == "blob"}
    files: list[PlannedFile] = []
    for e in tree.values():
        kind = classify(e.path)
        if kind is None:
            continue
        if e.mode != SYMLINK_MODE:
            files.append(PlannedFile(e.path, kind, e.mode, e, None, None))
            continue
        raw = link_targets.get(e.sha, b"")
        target = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
        inside = resolve_symlink(e.path, target)
        target_entry = tree.get(inside) if inside else None
        if inside is None:
            reason = f"symlink leaves the repository (-> {target}); not followed"
            files.append(PlannedFile(e.path, kind, e.mode, None, target, reason))
        elif target_entry is None or target_entry.mode == SYMLINK_MODE:
            reason = f"symlink target is not a file in the repository (-> {target})"
            files.append(PlannedFile(e.path, kind, e.mode, None, target, reason))
        else:
            files.append(PlannedFile(e.path, kind, e.mode, target_entry, target, None))
    # A commit with Compose files has its scripts, Makefiles and CI files read too: the file sets they
    # run are projects of this commit (a known blob's signals are not extracted again).
    composed = any(f.kind == FileKind.COMPOSE or _known_compose(f, known) for f in files)
    reads = {
        f.blob.sha: f.blob.path
        for f in files
        if f.blob is not None
        and f.skipped_reason is None
        and f.kind in READ_KINDS
        and (_needs_read(f.blob.sha, f.kind, known, max_bytes) or (composed and _runs_compose(f, known, max_bytes)))
    }
    return CommitPlan(files, dict(sorted(reads.items())), tree)


_RUNS_COMPOSE = frozenset({FileKind.SCRIPT, FileKind.MAKEFILE, FileKind.CI})


def _known_compose(f: PlannedFile, known: Mapping[str, KnownBlob]) -> bool:
    info = known.get(f.blob.sha) if f.blob is not None else None
    return f.kind == FileKind.YAML_CANDIDATE and info is not None and info.is_compose


def _runs_compose(f: PlannedFile, known: Mapping[str, KnownBlob], max_bytes: int) -> bool:
    info = known.get(f.blob.sha) if f.blob is not None else None
    return f.kind in _RUNS_COMPOSE and not (info is not None and (info.is_binary or info.size > max_bytes))


def _needs_read(sha: str, kind: FileKind, known: Mapping[str, KnownBlob], max_bytes: int) -> bool:
    info = known.get(sha)
    if info is None:
        return True
    if info.is_binary or info.size > max_bytes:
        return False
    # Compose projects span files, so they are extracted per commit: their files are read again
    # (from the local mirror). Per-blob facts are read again only when missing for this version.
    if kind in (FileKind.COMPOSE, FileKind.ENV):
        return True
    if kind == FileKind.YAML_CANDIDATE:
        return info.is_compose
    if kind == FileKind.DOCKERFILE:
        return not info.has_dockerfile_facts
    return kind in SIGNAL_KINDS and not info.has_signal_facts


def extract_commit(
    plan: CommitPlan,
    read: Reader,
    known: Mapping[str, KnownBlob],
    max_bytes: int,
    repo: str,
    commit: str,
) -> CommitRows:
    """Read the planned blobs through `read` and extract the commit's rows."""
    rows = CommitRows()
    content: dict[str, bytes | int] = {}  # blob sha -> bytes, or the size when over the cap

    def fetch(path: str, sha: str) -> bytes | int:
        if sha not in content:
            try:
                data: bytes | int | None = read(path)
            except BlobTooLarge as e:
                data = e.size
            if isinstance(data, bytes) and len(data) > max_bytes:
                data = len(data)
            content[sha] = b"" if data is None else data
            rows.blobs_read += 1
        return content[sha]

    learned: dict[str, KnownBlob] = {}
    for sha, path in plan.reads.items():
        data = fetch(path, sha)
        size = data if isinstance(data, int) else len(data)
        is_binary = isinstance(data, bytes) and b"\0" in data[:8192]
        is_compose = isinstance(data, bytes) and not is_binary and has_top_level_services(data)
        learned[sha] = KnownBlob(size, is_binary, is_compose, False, False)
        if sha not in known:
            rows.blobs.append(BlobRow(sha, size, is_binary, is_compose))

    for f in plan.files:
        kind, reason, blob = f.kind, f.skipped_reason, f.blob
        info = (learned.get(blob.sha) or known.get(blob.sha)) if blob is not None else None
        if reason is None and info is not None:
            if info.size > max_bytes:
                reason = f"larger than the size cap ({info.size} > {max_bytes} bytes); not read"
            elif info.is_binary:
                reason = "binary content; not read"
        if kind == FileKind.YAML_CANDIDATE:
            if info is not None and info.is_compose:
                kind = FileKind.COMPOSE
            elif reason is None:
                continue  # a YAML file without top-level services: not a Compose file
        data = content.get(blob.sha) if blob is not None and reason is None else None
        if isinstance(data, bytes) and blob is not None:
            if kind == FileKind.DOCKERFILE:
                rows.dockerfiles[blob.sha] = extract_dockerfile(data)
                rows.signals[blob.sha] = extract_hadolint_pragmas(data)
            elif kind == FileKind.CODEOWNERS:
                rows.signals[blob.sha] = extract_codeowners(data)
            elif kind in SIGNAL_KINDS and not (blob.sha in known and known[blob.sha].has_signal_facts):
                rows.signals[blob.sha] = extract_signals(data)
        rows.files.append(
            CommitFileRow(repo, commit, f.path, kind, blob.sha if blob else None, f.mode, f.symlink_target, reason)
        )

    compose_paths = [r.path for r in rows.files if r.kind == FileKind.COMPOSE and r.skipped_reason is None]
    env_paths = [r.path for r in rows.files if r.kind == FileKind.ENV and r.skipped_reason is None]
    # A `.env` can make a project by itself (COMPOSE_FILE naming files anywhere, even outside the repository).
    if compose_paths or any(posixpath.basename(p) == ".env" for p in env_paths):
        followed = {f.path: f.blob for f in plan.files if f.blob is not None and f.mode == SYMLINK_MODE}

        def read_for_compose(path: str) -> bytes | None:
            """Compose files name others (extends, include, env_file): read on demand. A symlink is read
            only when the plan followed it inside the repository (a symlinked compose.yaml is one)."""
            entry = plan.tree.get(path)
            if entry is not None and entry.mode == SYMLINK_MODE:
                entry = followed.get(path)
            if entry is None:
                return None
            data = fetch(entry.path, entry.sha)
            return data if isinstance(data, bytes) else None

        sets: list[FileSet] = []
        for r in rows.files:
            data = content.get(r.blob_sha) if r.blob_sha and r.skipped_reason is None else None
            if r.kind in _RUNS_COMPOSE and isinstance(data, bytes):
                sets += file_sets(r.path, data, r.kind == FileKind.CI, lambda p: p in plan.tree)
        rows.compose = extract_projects(compose_paths, env_paths, read_for_compose, repo, sets)
    return rows


def git_blob_sha(data: bytes) -> str:
    """The object id git gives this content (so in-memory files share facts with a real repository's)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def extract_files(
    files: Mapping[str, bytes],
    repo: str = "repo",
    commit: str = "0" * 40,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    symlinks: Mapping[str, str] | None = None,
    known: Mapping[str, KnownBlob] | None = None,
) -> CommitRows:
    """The rows an audit stores for a commit holding exactly `files` (path -> content) and
    `symlinks` (path -> target), without git: blob ids are computed as git computes them."""
    entries = [TreeFile(path, "100644", "blob", git_blob_sha(data)) for path, data in files.items()]
    link_targets: dict[str, bytes | int] = {}
    for path, target in (symlinks or {}).items():
        sha = git_blob_sha(target.encode())
        entries.append(TreeFile(path, SYMLINK_MODE, "blob", sha))
        link_targets[sha] = target.encode()
    known = known or {}
    plan = plan_commit(entries, link_targets, known, max_bytes)
    return extract_commit(plan, files.get, known, max_bytes, repo, commit)
