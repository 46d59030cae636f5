"""The audited ref's tip without a git process: ref files of a repository on this machine, or a
ref advertisement already read in-process (`ref_advert`). The nightly rerun of an unchanged org
is mostly this, so it costs no process at all; whatever this cannot answer (reftable, unusual
transports) goes to `git ls-remote` in `sources.git`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hullcheck.errors import GitSourceError
from hullcheck.sources.ref_advert import Advert
from hullcheck.sources.specs import RepoSpec


@dataclass(frozen=True, slots=True)
class RemoteTip:
    ref: str  # full ref name, e.g. refs/heads/main
    sha: str


def local_path(url: str) -> Path | None:
    """The directory of a remote on this machine (a path or a file:// URL), else None."""
    if url.startswith("file://"):
        return Path(url[len("file://") :])
    if "://" in url or re.match(r"^[\w.-]+@[\w.-]+:", url):
        return None
    return Path(url)


def _git_dir(path: Path) -> Path | None:
    dot = path / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():  # worktrees and submodules: "gitdir: <path>"
        target = dot.read_text().strip().removeprefix("gitdir:").strip()
        return (path / target).resolve()
    return path if (path / "HEAD").is_file() and (path / "objects").is_dir() else None


def _read_ref(git_dir: Path, ref: str, depth: int = 0) -> str | None:
    """Resolve a ref from loose ref files or packed-refs; None when it does not exist."""
    loose = git_dir / ref
    if loose.is_file():
        value = loose.read_text().strip()
        if value.startswith("ref: ") and depth < 5:
            return _read_ref(git_dir, value[5:], depth + 1)
        return value or None
    packed = git_dir / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref) and not line.startswith(("#", "^")):
                return line.split(" ", 1)[0]
    return None


class NeedsGit(Exception):
    """This local repository's refs need git itself to read (reftable)."""


def local_tip(path: Path, spec: RepoSpec) -> RemoteTip | None:
    """`ls-remote` for a repository on this machine, read from its ref files in-process.

    The nightly rerun of an unchanged org is mostly this call, so for local mirrors it
    costs no process at all (gitpython's Repo costs ~1 ms each; four file reads do not).
    Reftable repositories raise NeedsGit and go through `git ls-remote`.
    """
    if not path.exists():
        raise GitSourceError(f"repository not found: no such directory {path}")
    git_dir = _git_dir(path)
    if git_dir is None:
        raise GitSourceError(f"repository not found: {path} is not a git repository")
    if (git_dir / "reftable").exists():
        raise NeedsGit
    if spec.ref is None:
        head = (git_dir / "HEAD").read_text().strip()
        name = head[5:] if head.startswith("ref: ") else "HEAD"
        sha = _read_ref(git_dir, name) if name != "HEAD" else head
        return RemoteTip(name, sha) if sha else None  # a branch with no commit yet: an empty repository
    wanted = [spec.ref] if spec.ref.startswith("refs/") else [f"refs/heads/{spec.ref}", f"refs/tags/{spec.ref}"]
    for ref in wanted:
        sha = _read_ref(git_dir, ref)
        if sha:
            return RemoteTip(ref, sha)
    raise GitSourceError(f"ref '{spec.ref}' not found on {spec.display_url}")


def tip_from_advert(advert: Advert, spec: RepoSpec) -> RemoteTip | None:
    if spec.ref is None:
        sha = advert.refs.get("HEAD")
        return RemoteTip(advert.head_symref or "HEAD", sha) if sha else None
    wanted = [spec.ref] if spec.ref.startswith("refs/") else [f"refs/heads/{spec.ref}", f"refs/tags/{spec.ref}"]
    for ref in wanted:
        if ref in advert.refs:
            return RemoteTip(ref, advert.refs[ref])
    raise GitSourceError(f"ref '{spec.ref}' not found on {spec.display_url}")
