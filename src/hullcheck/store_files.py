"""Where the database lives on disk, and how a writer hands its work to readers without blocking them.

DuckDB lets one process write a file and, while it does, no other process open it, not even to read.
So the audit never writes the file people read:

- `hullcheck.duckdb` (the config's `database:`) is the **published snapshot**. Readers (`hullcheck sql`,
  the reports, the `duckdb` CLI, notebooks, DBeaver) open it read-only; nobody ever opens it to write.
- `hullcheck.duckdb.work` is the **working file**, held by the one writer (an audit, `evaluate`,
  `db prune`). Its own WAL makes every transaction atomic, as before.
- `hullcheck.duckdb.lock` is the **writer lock**: `flock`, so the kernel releases it when the holder
  dies (a killed audit leaves no stale lock); it holds the holder's pid, command, start time and run.
- Publishing = checkpoint the working file, copy it to `hullcheck.duckdb.publishing` (a reflink where
  the filesystem has them, else an in-kernel copy), fsync, and rename over the snapshot. A reader that
  is open keeps the inode it opened (the previous snapshot); the next one opens the new file. A writer
  killed mid-copy leaves a `.publishing` file that the next writer removes; the snapshot is untouched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from hullcheck.errors import DatabaseBusy, StoreError

# Files written for DuckDB 1.4 (the LTS line, DBeaver's driver, the PyPI duckdb-cli 1.5.x): DuckDB 2.x
# reads and writes them as well, with the features this schema uses.
STORAGE_VERSION = "v1.4.0"
_FICLONE = 0x40049409  # linux/fs.h: share the source's extents (btrfs, XFS, bcachefs); ext4 says EOPNOTSUPP


@dataclass(frozen=True)
class DatabaseFiles:
    published: Path

    @property
    def work(self) -> Path:
        return self._sibling(".work")

    @property
    def lock(self) -> Path:
        return self._sibling(".lock")

    @property
    def staging(self) -> Path:
        return self._sibling(".publishing")

    @staticmethod
    def wal(db: Path) -> Path:
        return db.with_name(db.name + ".wal")

    def _sibling(self, suffix: str) -> Path:
        return self.published.with_name(self.published.name + suffix)


class WriterLock:
    """The one-writer rule across processes, with a bounded wait and a message naming the holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._holder: dict[str, Any] = {}

    def acquire(self, wait_seconds: float, command: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the writer's lifetime
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    f.close()
                    raise StoreError(f"{self.path}: cannot take the writer lock: {e.strerror}") from None
                if time.monotonic() >= deadline:
                    holder = describe_holder(read_holder(self.path))
                    f.close()
                    raise DatabaseBusy(
                        f"{self.path.with_suffix('')}: another hullcheck process is writing the database "
                        f"({holder}); waited {wait_seconds:g} s. Try again when it ends, or raise "
                        "`database_wait_seconds` in the config."
                    ) from None
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        self._file = f
        self._holder = {"pid": os.getpid(), "command": command, "started_at": _now()}
        self._write()

    def note_run(self, run_id: int) -> None:
        """Say which run this writer is recording (for the message a waiting writer prints)."""
        if self._file is not None:
            self._holder["run_id"] = run_id
            self._write()

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.truncate(0)
            self._file.close()  # closing the descriptor releases the flock
            self._file = None

    def _write(self) -> None:
        assert self._file is not None
        self._file.seek(0)
        self._file.truncate(0)
        self._file.write(json.dumps(self._holder))
        self._file.flush()


def read_holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):  # being rewritten at this instant, or not ours
        return {}
    return data if isinstance(data, dict) else {}


def describe_holder(holder: dict[str, Any]) -> str:
    if not holder:
        return "which one could not be read"
    parts = [f"run {holder['run_id']}" if "run_id" in holder else "no run recorded yet"]
    if holder.get("started_at"):
        parts.append(f"started {holder['started_at']}")
    parts.append(f"pid {holder.get('pid', '?')}, `{holder.get('command', 'hullcheck')}`")
    return ", ".join(parts)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def copy_file(src: Path, dst: Path) -> None:
    """`dst` becomes a copy of `src`, durable on disk: a reflink when the filesystem shares extents,
    else `copy_file_range` (in the kernel, no bytes through Python)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
        except OSError:
            size = os.fstat(fin.fileno()).st_size
            copied = 0
            while copied < size:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), size - copied)
                if n == 0:
                    break
                copied += n
        os.fsync(fout.fileno())


def replace_durably(staging: Path, target: Path) -> None:
    """Rename `staging` over `target` (atomic on POSIX) and make the rename itself durable."""
    os.replace(staging, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare_work(files: DatabaseFiles) -> None:
    """The working file exists before the writer opens it: made from the published snapshot the first
    time (a database from before snapshots, with its log if a writer was killed), and a copy a killed
    publish left behind is removed."""
    files.staging.unlink(missing_ok=True)
    if files.work.exists() or not files.published.exists():
        return
    partial = files.work.with_name(files.work.name + ".new")
    copy_file(files.published, partial)
    wal = DatabaseFiles.wal(files.published)
    if wal.exists():
        copy_file(wal, DatabaseFiles.wal(files.work))
    replace_durably(partial, files.work)


def newer_than_ours(storage_version: str) -> bool:
    """A file's storage version (DuckDB's `v2.0.0+`) is newer than the one hullcheck writes."""
    return _version(storage_version) > _version(STORAGE_VERSION)


def _version(text: str) -> tuple[int, ...]:
    m = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def swap_directory(staging: Path, out: Path) -> None:
    """Replace directory `out` by `staging` with two renames: readers see the old one or the new one, whole
    (the report site, a Parquet export)."""
    import shutil

    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)
