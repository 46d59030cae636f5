"""Mirrors an interrupted git process left broken heal on the next audit, and the snapshot says how."""

from __future__ import annotations

import os
import time
from pathlib import Path

from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit, write_repo

DOCKERFILE = "FROM alpine:3.20\nUSER 1000\n"


def _mirror(org: Org) -> Path:
    (mirror,) = (org.root / "cache" / "git").glob("svc-*.git")
    return mirror


def _second_commit(org: Org) -> None:
    write_repo(org.repos / "svc", [Commit(days_ago(1), {"Dockerfile": DOCKERFILE + "EXPOSE 8080\n"})])


def test_stale_lock_files_are_removed_and_the_snapshot_says_so(org: Org) -> None:
    org.repo("svc", [Commit(days_ago(3), {"Dockerfile": DOCKERFILE})])
    assert run_audit(org.config()).status == "ok"
    mirror = _mirror(org)
    hour_ago = time.time() - 3600
    for lock in (mirror / "HEAD.lock", mirror / "refs" / "heads" / "main.lock"):  # what a SIGKILL in `git fetch` leaves
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text("0" * 40 + "\n")
        os.utime(lock, (hour_ago, hour_ago))
    _second_commit(org)

    summary = run_audit(org.config())
    assert summary.status == "ok" and summary.git.extracted == 1, summary.git.failures
    assert summary.git.stats.clones == 0  # unlocked, not cloned again
    note = org.scalar("SELECT note FROM latest_repo_snapshots WHERE repo = 'svc'")
    assert isinstance(note, str) and "stale lock files" in note
    assert "HEAD.lock" in note and "refs/heads/main.lock" in note
    assert not (mirror / "HEAD.lock").exists() and not (mirror / "refs" / "heads" / "main.lock").exists()
    assert org.scalar("SELECT count(*) FROM latest_dockerfile_instructions WHERE keyword = 'EXPOSE'") == 1

    again = run_audit(org.config())
    assert again.status == "ok" and org.scalar("SELECT note FROM latest_repo_snapshots WHERE repo = 'svc'") is None


def test_a_mirror_that_cannot_be_updated_is_cloned_again(org: Org) -> None:
    org.repo("svc", [Commit(days_ago(3), {"Dockerfile": DOCKERFILE})])
    assert run_audit(org.config()).status == "ok"
    (_mirror(org) / "config").write_text("")  # e.g. a disk that filled up: the mirror no longer knows its remote
    _second_commit(org)

    summary = run_audit(org.config())
    assert summary.status == "ok", summary.git.failures
    assert summary.git.stats.clones == 1 and summary.git.extracted == 1
    note = org.scalar("SELECT note FROM latest_repo_snapshots WHERE repo = 'svc'")
    assert isinstance(note, str) and "cloned again" in note and "could not be updated" in note
    assert org.scalar("SELECT count(*) FROM latest_dockerfile_instructions WHERE keyword = 'EXPOSE'") == 1
    assert not list((org.root / "cache" / "git").glob("*.broken"))  # the old mirror is gone once replaced


def test_a_remote_that_fails_keeps_the_mirror(org: Org) -> None:
    """Cloning again is for a broken mirror; when the remote itself fails, the mirror stays as it was."""
    repo = org.repo("svc", [Commit(days_ago(3), {"Dockerfile": DOCKERFILE})])
    assert run_audit(org.config()).status == "ok"
    mirror = _mirror(org)
    before = sorted(p.name for p in (mirror / "objects" / "pack").glob("*"))
    repo.rename(repo.with_name("gone"))
    summary = run_audit(org.config())
    assert summary.status == "partial" and summary.git.stats.clones == 0
    assert sorted(p.name for p in (mirror / "objects" / "pack").glob("*")) == before
