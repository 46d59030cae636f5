"""Audit a working tree (files on disk, no git history) as if it were one repository of the org.

For a repository's own CI: `hullcheck check --path . --repo NAME` judges the checkout under the owning
team's situation, with everything the org database knows (the teams, the audited base images, the
other repositories' facts), and the gate compares the result with the database's latest findings for
that repository, so a pull request fails only on what it introduces.

How, without touching the org's database: its published snapshot (immutable once published) is copied
to a temporary directory; there a run that covers only this repository (as `audit --only NAME` would)
stores the working tree's facts, is evaluated by the same catalog and published; its findings for the
repository are read back and the copy is deleted. The org's database file is only ever read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hullcheck.audit import AuditSummary, GitSummary, begin_run, load_policies, open_writer, publish_run
from hullcheck.config import Config
from hullcheck.crawl.known import known_git
from hullcheck.crawl.rows import RepoResult, SnapshotRow
from hullcheck.crawl.writer import GitWriter
from hullcheck.errors import ConfigError
from hullcheck.extract.commit import extract_files
from hullcheck.store_files import copy_file

SKIPPED_DIRS = {".git", ".hg", ".svn"}  # version-control metadata is not part of the tree git would audit


@dataclass
class WorktreeAudit:
    run_id: int
    commit: str  # a content hash of the tree (no commit exists)
    files: int
    findings: list[tuple[Any, ...]]  # gate_findings rows for the repository
    status: str


def read_tree(root: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """Every file under `root` (paths relative, `/`-separated) and every symlink's target, as git would
    see a checkout of it; version-control folders skipped. Symlinks are recorded, never followed."""
    if not root.is_dir():
        raise ConfigError(f"--path {root}: not a directory")
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        for d in list(dirs):
            if d in SKIPPED_DIRS:
                dirs.remove(d)
            elif (here / d).is_symlink():
                dirs.remove(d)
                links[(here / d).relative_to(root).as_posix()] = os.readlink(here / d)
        for name in names:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                links[rel] = os.readlink(path)
            elif path.is_file():
                files[rel] = path.read_bytes()
    return files, links


def tree_id(files: dict[str, bytes], links: dict[str, str]) -> str:
    """A 40-hex identity of the tree's content, in the place of a commit id."""
    h = hashlib.sha1(b"hullcheck worktree\0")
    for path in sorted(files):
        h.update(path.encode() + b"\0" + hashlib.sha1(files[path]).digest())
    for path in sorted(links):
        h.update(b"link\0" + path.encode() + b"\0" + links[path].encode())
    return h.hexdigest()


def audit_worktree(cfg: Config, root: Path, repo: str) -> WorktreeAudit:
    """The working tree at `root` audited as repository `repo` in a copy of the org's database."""
    files, links = read_tree(root)
    commit = tree_id(files, links)
    published = cfg.database_path
    with tempfile.TemporaryDirectory(prefix="hullcheck-check-") as tmp:
        copy = Path(tmp) / "org.duckdb"
        if published.exists():
            copy_file(published, copy)
        local = cfg.model_copy(update={"database": copy})
        catalog = load_policies(local)
        with open_writer(local, "hullcheck check --path") as store:
            summary = AuditSummary(begin_run(store, local, None, [repo]))
            writer = GitWriter(store, summary.run_id, 1)
            known = known_git(store)  # blobs stored once per content: the org's are not written again
            rows = extract_files(files, repo, commit, cfg.max_file_bytes, links, known.blobs)
            snap = SnapshotRow(repo, f"worktree:{root.resolve()}", None, commit, None, "extracted")
            writer.add(RepoResult(snap, True, rows))
            writer.flush()
            summary.git = GitSummary(total=1, extracted=1)
            publish_run(store, local, catalog, summary)
            if summary.evaluation is None:
                raise ConfigError(f"the working tree could not be evaluated: {summary.evaluation_error}")
            findings = store.query("gate_findings", [summary.run_id, None, repo])
    return WorktreeAudit(summary.run_id, commit, len(files), findings, summary.status)
