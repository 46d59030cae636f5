"""Bare git repositories written from bytes: any path git accepts, not only what a Python str encodes.

`hullcheck.demo.gitbuild.write_repo` takes str paths and checks out a work tree; hostile names
(non-UTF-8 bytes, newlines, carriage returns, escapes, quotes) need C-quoted paths in the
`git fast-import` stream, and a work tree would put hostile symlinks on disk for no reason. One
commit per repository, one fast-import process per repository.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

WHEN = 1_735_689_600  # 2025-01-01T00:00:00Z: every commit gets it (the repositories are deterministic)


def as_bytes(value: str | bytes) -> bytes:
    """str -> UTF-8; a lone surrogate is written as its (invalid) three UTF-8-style bytes."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def c_quote(path: bytes) -> bytes:
    """A path as fast-import reads a quoted one: `"` … `"`, with `\\`, `"` and every non-printable byte escaped."""
    out = bytearray(b'"')
    for b in path:
        if b in (0x22, 0x5C):
            out += b"\\" + bytes([b])
        elif b < 0x20 or b >= 0x7F:
            out += b"\\%03o" % b
        else:
            out.append(b)
    out += b'"'
    return bytes(out)


def write_bare_repo(
    path: Path, files: dict[str | bytes, str | bytes], symlinks: dict[str | bytes, str | bytes] | None = None
) -> Path:
    """A bare repository at `path` whose `main` holds `files` (path -> content) and `symlinks` (path -> target)."""
    target = os.fsencode(path)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", target], check=True, capture_output=True)
    msg = b"hostile input"
    stream = bytearray(b"commit refs/heads/main\n")
    stream += b"committer hullcheck <hostile@hullcheck.invalid> %d +0000\n" % WHEN
    stream += b"data %d\n%s\n" % (len(msg), msg)
    for p, content in files.items():
        data = as_bytes(content)
        stream += b"M 100644 inline " + c_quote(as_bytes(p)) + b"\ndata %d\n" % len(data) + data + b"\n"
    for p, link in (symlinks or {}).items():
        data = as_bytes(link)
        stream += b"M 120000 inline " + c_quote(as_bytes(p)) + b"\ndata %d\n" % len(data) + data + b"\n"
    stream += b"\n"
    proc = subprocess.run(["git", "-C", target, "fast-import", "--quiet"], input=bytes(stream), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"fast-import failed for {path!r}: {proc.stderr.decode(errors='replace')[-2000:]}")
    return path


def write_many(repos: list[tuple[Path, dict[str | bytes, str | bytes], dict[str | bytes, str | bytes]]]) -> None:
    """Write repositories in parallel (each is two git processes)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        for fut in [pool.submit(write_bare_repo, p, f, s) for p, f, s in repos]:
            fut.result()
