"""Write git repositories with back-dated history from plain data (demo org, tests, benchmarks).

Uses `git fast-import`: one process per repository, whatever the number of commits.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass
class Commit:
    when: datetime
    files: dict[str, bytes | str | None]  # path -> content; None deletes the path
    message: str = "update"
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> target


def write_repo(path: Path, commits: list[Commit], branch: str = "main", bare: bool = False) -> Path:
    """Create (or extend) a repository at `path` whose `branch` gets `commits`, in order."""
    path.mkdir(parents=True, exist_ok=True)
    if not (path / ("HEAD" if bare else ".git")).exists():
        args = ["git", "init", "-q", "-b", branch, *(["--bare"] if bare else []), str(path)]
        subprocess.run(args, check=True)
    stream = bytearray()
    ref = f"refs/heads/{branch}"
    has_parent = (
        subprocess.run(["git", "-C", str(path), "rev-parse", "-q", "--verify", ref], capture_output=True).returncode
        == 0
    )
    for i, c in enumerate(commits):
        ts = int(c.when.timestamp())
        msg = c.message.encode()
        stream += f"commit {ref}\n".encode()
        stream += f"committer hullcheck <demo@hullcheck.invalid> {ts} +0000\n".encode()
        stream += f"data {len(msg)}\n".encode() + msg + b"\n"
        if i == 0 and has_parent:
            stream += f"from {ref}^0\n".encode()
        for p, content in c.files.items():
            if content is None:
                stream += f"D {p}\n".encode()
                continue
            data = content.encode() if isinstance(content, str) else content
            stream += f"M 100644 inline {p}\ndata {len(data)}\n".encode() + data + b"\n"
        for p, target in c.symlinks.items():
            t = target.encode()
            stream += f"M 120000 inline {p}\ndata {len(t)}\n".encode() + t + b"\n"
        stream += b"\n"
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=bytes(stream), check=True)
    if not bare:
        subprocess.run(["git", "-C", str(path), "checkout", "-q", "-f", branch], check=True, capture_output=True)
    return path
