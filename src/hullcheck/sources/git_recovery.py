"""Mirrors left broken by an interrupted git process (a killed audit, a reboot) are repaired.

git takes a lock by creating `<file>.lock` and renames it into place when done; a process
killed in between leaves the lock behind, and every later `git fetch` on that mirror fails
with "cannot lock ref … File exists". A lock is stale when it is older than this audit and
no live git process works in the mirror (one audit holds the database at a time, and within
an audit one thread at a time holds a mirror), so it is removed.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# Lock files git creates in a bare repository (refs/**/*.lock are searched too).
_TOP_LOCKS = ("HEAD.lock", "config.lock", "packed-refs.lock", "shallow.lock", "index.lock", "FETCH_HEAD.lock",
              "objects/info/alternates.lock", "objects/info/packs.lock")  # fmt: skip


def _git_working_in(path: Path) -> bool:
    """Whether a live process has its working directory in `path` (Linux /proc; elsewhere: assume not)."""
    target = str(path.resolve())
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cwd = os.readlink(entry / "cwd")
            if cwd == target or cwd.startswith(target + os.sep):
                return True
    return False


def remove_stale_locks(path: Path, older_than: float) -> list[str]:
    """Remove lock files of `path` last touched before `older_than` (a time.time()); the names removed."""
    candidates = [path / name for name in _TOP_LOCKS]
    refs = path / "refs"
    if refs.is_dir():
        candidates += sorted(refs.rglob("*.lock"))
    stale = []
    for lock in candidates:
        with contextlib.suppress(FileNotFoundError):
            if lock.stat().st_mtime < older_than:
                stale.append(lock)
    if not stale or _git_working_in(path):
        return []
    removed = []
    for lock in stale:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
            removed.append(lock.relative_to(path).as_posix())
    return removed
