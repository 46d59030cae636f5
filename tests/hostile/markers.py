"""Detecting that a marker file outside the audited trees was opened: inotify, through libc.

Why inotify: the kernel reports IN_OPEN and IN_ACCESS for every open(2) and read(2) of a watched
file, by any process and through any path (a symlink, `..`, an absolute name), and reports
nothing for stat(2), lstat(2) or readlink(2): exactly "was its content opened", with no false
alarm for an `is_file()` check. Neither `inotify_simple` nor `inotifywait` is installed here, so
the three syscalls are called through ctypes. Each marker is watched itself (its inode: a hard
link elsewhere would be caught too) and so is its directory (a listing shows up as IN_OPEN on the
directory). `probe()` opens a file of its own in the marker tree and waits for the event: the
watch is proven live before the audits and again after them, so silence means "not opened".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

IN_ACCESS = 0x001
IN_OPEN = 0x020
IN_Q_OVERFLOW = 0x4000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")


class WatchError(RuntimeError):
    pass


@dataclass
class OpenWatch:
    paths: list[Path]  # marker files (their directories are watched too)
    probe_file: Path
    events: Counter[tuple[str, str]] = field(default_factory=Counter)  # (path, "open"|"read"|"list") -> count
    overflowed: bool = False

    def __post_init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._libc = libc
        self._fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd < 0:
            raise WatchError(f"inotify_init1 failed: errno {ctypes.get_errno()}")
        self._wd: dict[int, Path] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _add(self, path: Path) -> None:
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), IN_OPEN | IN_ACCESS)
        if wd < 0:
            raise WatchError(f"inotify_add_watch({path}) failed: errno {ctypes.get_errno()}")
        self._wd[wd] = path

    def start(self) -> OpenWatch:
        self.probe_file.parent.mkdir(parents=True, exist_ok=True)
        self.probe_file.write_text("probe\n")
        dirs = {p.parent for p in self.paths} | {self.probe_file.parent}
        for d in sorted(dirs):
            self._add(d)
        for p in self.paths:
            self._add(p)
        self._thread = threading.Thread(target=self._read_loop, name="marker-watch", daemon=True)
        self._thread.start()
        return self

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if ready:
                self._drain()
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return
            off = 0
            while off < len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, off)
                name = data[off + 16 : off + 16 + length].rstrip(b"\0")
                off += 16 + length
                if mask & IN_Q_OVERFLOW:
                    self.overflowed = True
                    continue
                base = self._wd.get(wd)
                if base is None:
                    continue
                path = base / os.fsdecode(name) if name else base
                what = "list" if mask & IN_ISDIR else ("open" if mask & IN_OPEN else "read")
                with self._lock:
                    self.events[(str(path), what)] += 1

    def seen(self, path: Path) -> bool:
        with self._lock:
            return any(p == str(path) for p, _ in self.events)

    def probe(self, via: Path, timeout: float = 5.0) -> bool:
        """Have another process read the probe file by a path that climbs out of `via` (`via/../…`),
        and wait for the event: True when the watch sees such reads."""
        with self._lock:
            for key in [k for k in self.events if k[0] == str(self.probe_file)]:
                del self.events[key]
        climb = os.path.relpath(self.probe_file, via)
        subprocess.run(["cat", climb], cwd=via, check=True, capture_output=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.seen(self.probe_file):
                return True
            time.sleep(0.02)
        return False

    def opened(self) -> dict[str, Counter[str]]:
        """Every watched path (but the probe) that was opened, read or listed: path -> what -> count."""
        out: dict[str, Counter[str]] = {}
        with self._lock:
            for (path, what), n in self.events.items():
                if path != str(self.probe_file):
                    out.setdefault(path, Counter())[what] += n
        return out

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        os.close(self._fd)
