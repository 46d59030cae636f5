"""Git source: a bare mirror cache, incremental fetch, and blob reads without a checkout.

The nightly rerun must be cheap, so the order of work is:
1. `git ls-remote` tells the audited ref's tip without touching the mirror;
2. only if that commit is new to the database is the mirror cloned or fetched
   (partial clone, `--filter=blob:none`, where the remote allows it);
3. the tree is listed (`ls-tree`, no checkout), and only blobs the database has never
   seen are fetched, in one batch, and read through gitpython's persistent
   `cat-file --batch`.
One-shot commands go through `subprocess` with timeouts; the persistent reader is gitpython's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import git as gitpython

from hullcheck.errors import GitSourceError, GitUnreachable, Interrupted
from hullcheck.redact import redact_text
from hullcheck.sources.git_recovery import remove_stale_locks
from hullcheck.sources.git_refs import NeedsGit, RemoteTip, local_path, local_tip, tip_from_advert
from hullcheck.sources.ref_advert import AdvertError, AdvertUnavailable, advertised_refs
from hullcheck.sources.specs import RepoSpec

# Never prompt: a nightly job has nobody to answer, and a prompt would hang it.
_GIT_ENV = {
    # A URL is data, never a command: `--` before every URL (an `--upload-pack=…` "URL" is refused),
    # and only transports that move data (no `ext::`, which runs a command, no `fd::`).
    "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
    "GIT_TERMINAL_PROMPT": "0",
    "GCM_INTERACTIVE": "never",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
    "LC_ALL": "C",
}


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    path: str


@dataclass
class GitStats:
    """Counters that tests and benchmarks read to prove what an audit did (and did not) do."""

    processes: int = 0
    ls_remotes: int = 0
    clones: int = 0
    fetches: int = 0
    blobs_prefetched: int = 0
    blobs_read: int = 0
    retries: int = 0  # repositories tried again after a transient failure (GitUnreachable)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(URL without user info, user, password) when the URL carries credentials, else (url, None, None)."""
    m = re.match(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<info>[^/@\s]+)@(?P<rest>.*)$", url)
    if not m or m["scheme"].startswith(("ssh", "git+ssh")):
        return url, None, None  # ssh user names are not secrets; ssh keys do the authenticating
    user, sep, password = m["info"].partition(":")
    return f"{m['scheme']}{m['rest']}", urllib.parse.unquote(user), urllib.parse.unquote(password) if sep else None


# What git prints when the network, not the repository, failed: worth one more try within the night.
_TRANSIENT = ("could not resolve host", "connection refused", "connection timed out", "operation timed out",
              "connection reset", "early eof", "the remote end hung up unexpectedly", "returned error: 429",
              "returned error: 500", "returned error: 502", "returned error: 503", "returned error: 504",
              "rpc failed", "gnutls recv error", "ssl_read")  # fmt: skip


def git_failure(stderr: str, url: str) -> GitSourceError:
    """The error for a git command that failed: `GitUnreachable` when a retry may succeed."""
    message = _explain(stderr, url)
    low = stderr.lower()
    lasting = message.startswith(("repository not found", "authentication failed", "the repository is corrupt"))
    if not lasting and any(marker in low for marker in _TRANSIENT):
        return GitUnreachable(message)
    return GitSourceError(message)


def _explain(stderr: str, url: str) -> str:
    shown = redact_text(url)
    text = redact_text(stderr.replace(url, shown).replace(split_credentials(url)[0], shown)).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("hint:")]
    detail = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), lines[-1] if lines else "")
    low = text.lower()
    if "access denied" in low or "not exported" in low:
        why = "repository not found or access denied"
    elif "authentication failed" in low or "could not read username" in low or "permission denied" in low:
        why = "authentication failed (check the credentials this job runs with)"
    elif "not found" in low or "does not appear to be a git repository" in low or "no such file" in low:
        why = "repository not found"
    elif "could not resolve host" in low or "connection refused" in low or "timed out" in low:
        why = "cannot reach the git server"
    elif "inflate" in low or "bad object" in low or "corrupt" in low or "did not receive expected object" in low:
        why = "the repository is corrupt"
    else:
        why = "git failed"
    return f"{why}: {detail}" if detail else why


class GitMirrors:
    def __init__(self, cache_dir: Path, timeout_seconds: int = 600) -> None:
        self.cache_dir = cache_dir / "git"
        self.timeout = timeout_seconds
        self.stats = GitStats()
        self._env = {**os.environ, **_GIT_ENV}
        # Two sources may share a mirror (one URL, two refs): one thread at a time per mirror.
        self._locks: dict[Path, threading.Lock] = {}
        self.cloned: set[Path] = set()  # mirrors created by this audit: they hold no blob yet
        self._locks_guard = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()  # git processes running now (stopped on SIGTERM)
        self._procs_guard = threading.Lock()
        self._stopping = threading.Event()
        self._notes: dict[str, list[str]] = {}  # repository name -> what was repaired in its mirror
        self.started = time.time()  # lock files older than this were left by an earlier process

    def lock(self, spec: RepoSpec) -> threading.Lock:
        path = self.mirror_path(spec)
        with self._locks_guard:
            return self._locks.setdefault(path, threading.Lock())

    # -- process plumbing ---------------------------------------------------------
    def _git(self, args: list[str], url: str, cwd: Path | None = None, stdin: str | None = None) -> str:
        """Run git. Credentials in `url` never reach its command line or the mirror's config: the URL
        is passed without them and git asks GIT_ASKPASS, which answers from this process's memory."""
        self.stats.add(processes=1)
        clean, user, password = split_credentials(url)
        env = self._env
        if user is not None:
            args = [clean if a == url else a for a in args]
            env = {**env, "GIT_ASKPASS": str(self._askpass()), "HULLCHECK_GIT_USERNAME": user,
                   "HULLCHECK_GIT_PASSWORD": password or ""}  # fmt: skip
        if self._stopping.is_set():
            raise Interrupted(f"stopped before git {args[0]}")
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )  # bytes, decoded below: text mode would turn a `\r` in a file name into `\n`
        with self._procs_guard:
            self._procs.add(proc)
        try:
            data = stdin.encode("utf-8", "surrogateescape") if stdin is not None else None
            raw_out, raw_err = proc.communicate(data, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise GitSourceError(f"git {args[0]} took longer than {self.timeout}s and was stopped") from None
        finally:
            with self._procs_guard:
                self._procs.discard(proc)
        # File names are bytes; a Latin-1 name must not fail the repository.
        out, err = raw_out.decode("utf-8", "backslashreplace"), raw_err.decode("utf-8", "backslashreplace")
        if self._stopping.is_set():
            raise Interrupted(f"git {args[0]} was stopped: the audit is stopping")
        if proc.returncode != 0:
            raise git_failure(err, url)
        return out

    def wait_to_retry(self, attempt: int) -> bool:
        """Back off before retry `attempt + 1` (about 1 s, then 4 s); True when the audit is stopping instead."""
        self.stats.add(retries=1)
        return self._stopping.wait(min(8.0, 4.0**attempt) * random.uniform(0.75, 1.25))

    def stop(self) -> None:
        """The audit is stopping: end the git processes in flight, start no new one."""
        self._stopping.set()
        with self._procs_guard:
            running = list(self._procs)
        for proc in running:
            with contextlib.suppress(OSError):
                proc.terminate()

    def _askpass(self) -> Path:
        script = self.cache_dir / "askpass.sh"
        if not script.exists():
            script.parent.mkdir(parents=True, exist_ok=True)
            # A temporary name of its own: crawl threads (or two audits sharing the cache) may write the
            # script at once, and a shared `askpass.tmp` was renamed away under the second writer.
            fd, name = tempfile.mkstemp(prefix="askpass.", suffix=".tmp", dir=script.parent)
            with os.fdopen(fd, "w") as f:
                f.write(
                    '#!/bin/sh\ncase "$1" in\n  [Uu]sername*) printf "%s\\n" "$HULLCHECK_GIT_USERNAME" ;;\n'
                    '  *) printf "%s\\n" "$HULLCHECK_GIT_PASSWORD" ;;\nesac\n'
                )
            os.chmod(name, 0o700)
            os.replace(name, script)
        return script

    # -- remote -------------------------------------------------------------------
    def remote_tip(self, spec: RepoSpec) -> RemoteTip | None:
        """The commit the audited ref points to on the remote; None for an empty repository."""
        local = local_path(spec.url)
        if local is not None:
            try:
                return local_tip(local, spec)
            except NeedsGit:
                pass
        else:
            try:
                return tip_from_advert(advertised_refs(spec.url), spec)
            except AdvertUnavailable:
                pass  # git itself knows credential helpers, ssh and every other transport
            except AdvertError as e:
                raise git_failure(str(e), spec.url) from None
        self.stats.add(ls_remotes=1)
        if spec.ref is None:
            out = self._git(["ls-remote", "--symref", "--", spec.url, "HEAD"], spec.url)
            symref = re.search(r"^ref: (\S+)\tHEAD$", out, re.MULTILINE)
            sha = re.search(r"^([0-9a-f]{40,64})\tHEAD$", out, re.MULTILINE)
            if not sha:
                return None
            return RemoteTip(symref.group(1) if symref else "HEAD", sha.group(1))
        wanted = [spec.ref] if spec.ref.startswith("refs/") else [f"refs/heads/{spec.ref}", f"refs/tags/{spec.ref}"]
        out = self._git(["ls-remote", "--", spec.url, *wanted], spec.url)
        found = dict(reversed(line.split("\t", 1)) for line in out.splitlines() if "\t" in line)
        for ref in wanted:
            if ref in found:
                return RemoteTip(ref, found[ref])
        raise GitSourceError(f"ref '{spec.ref}' not found on {spec.display_url}")

    # -- mirror -------------------------------------------------------------------
    def mirror_path(self, spec: RepoSpec) -> Path:
        # Not the password; a path is bytes (surrogateescape), whatever its encoding.
        digest = hashlib.sha256(split_credentials(spec.url)[0].encode("utf-8", "surrogateescape")).hexdigest()[:12]
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", spec.name)[:60]
        return self.cache_dir / f"{safe}-{digest}.git"

    def ensure_commit(self, spec: RepoSpec, tip: RemoteTip) -> Path:
        """A bare mirror that holds `tip` and its history (blobs fetched on demand).

        A mirror an interrupted git process left locked is unlocked; one that still cannot be
        updated is cloned again, once. What was done is kept in `notes` for the snapshot row."""
        path = self.mirror_path(spec)
        fresh = not (path / "HEAD").exists()
        if fresh:
            self._clone(spec, path)
        else:
            removed = remove_stale_locks(path, self.started)
            if removed:
                self._note(spec, f"removed stale lock files left by an interrupted git process: {', '.join(removed)}")
        try:
            self._update(spec, path, tip)
        except GitSourceError as e:
            if fresh:
                raise
            # The remote just answered ref discovery, so the mirror is the likely culprit: clone it
            # again, keeping the old one until the new clone is complete (a network failure loses nothing).
            first = str(e).splitlines()[0] if str(e) else "git failed"
            broken = path.with_suffix(".broken")
            subprocess.run(["rm", "-rf", str(broken)], check=False)
            path.rename(broken)
            try:
                self._clone(spec, path)
                self._update(spec, path, tip)
            except GitSourceError as again:
                subprocess.run(["rm", "-rf", str(path)], check=False)
                broken.rename(path)
                raise GitSourceError(
                    f"{again} (the mirror could not be updated: {first}; cloning it again failed too)"
                ) from None
            subprocess.run(["rm", "-rf", str(broken)], check=False)
            self._note(spec, f"the mirror could not be updated ({first}); it was cloned again")
        return path

    def _clone(self, spec: RepoSpec, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        if tmp.exists():
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
        self._git(["clone", "--bare", "--quiet", "--filter=blob:none", "--no-tags", "--", spec.url, str(tmp)], spec.url)
        tmp.rename(path)  # a clone killed half-way never looks like a mirror
        self.stats.add(clones=1)
        self.cloned.add(path)

    def _update(self, spec: RepoSpec, path: Path, tip: RemoteTip) -> None:
        if self._local_ref(path, tip.ref, spec.url) != tip.sha:
            refspec = f"+{tip.ref}:{tip.ref}" if tip.ref != "HEAD" else tip.sha
            self._git(["fetch", "--quiet", "--no-tags", "--update-head-ok", "origin", refspec], spec.url, cwd=path)
            self.stats.add(fetches=1)

    def _note(self, spec: RepoSpec, text: str) -> None:
        with self._locks_guard:
            self._notes.setdefault(spec.name, []).append(text)

    def take_notes(self, spec: RepoSpec) -> str | None:
        """What the mirror needed (unlocked, cloned again) while `spec` was crawled, then forgotten."""
        with self._locks_guard:
            notes = self._notes.pop(spec.name, [])
        return "; ".join(notes) or None

    def _local_ref(self, path: Path, ref: str, url: str) -> str | None:
        # Reads the ref only: asking for the object itself would make a partial clone fetch it lazily.
        out = self._git(["for-each-ref", "--format=%(objectname)", ref], url, cwd=path).strip()
        return out or None

    def commit_at(self, path: Path, tip: RemoteTip, as_of: datetime | None, url: str) -> tuple[str, datetime] | None:
        """The audited commit: the tip, or the last first-parent commit at or before `as_of`."""
        args = ["log", "-1", "--first-parent", "--format=%H %cI"]
        if as_of is not None:
            args.append(f"--before={as_of.isoformat()}")
        out = self._git([*args, tip.sha], url, cwd=path).strip()
        if not out:
            return None
        sha, when = out.split(" ", 1)
        return sha, datetime.fromisoformat(when)

    def list_tree(self, path: Path, commit: str, url: str) -> list[TreeEntry]:
        out = self._git(["ls-tree", "-r", "-z", "--full-tree", commit], url, cwd=path)
        entries = []
        for item in out.split("\0"):
            if not item:
                continue
            meta, p = item.split("\t", 1)
            mode, typ, sha = meta.split(" ")
            entries.append(TreeEntry(mode, typ, sha, p))
        return entries

    def prefetch(self, path: Path, shas: list[str], url: str) -> None:
        """Fetch missing blobs of a partial clone in one process, not one process per blob."""
        if not shas or not self._is_partial(path):
            return
        self._git(
            [
                "-c",
                "fetch.negotiationAlgorithm=noop",
                "fetch",
                "origin",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--recurse-submodules=no",
                "--filter=blob:none",
                "--stdin",
            ],
            url,
            cwd=path,
            stdin="\n".join(shas) + "\n",
        )
        self.stats.add(blobs_prefetched=len(shas))

    def _is_partial(self, path: Path) -> bool:
        config = (path / "config").read_text(errors="replace")
        return "promisor = true" in config

    def missing_objects(self, path: Path, commit: str, url: str) -> set[str]:
        """Objects of the commit's tree that a partial mirror does not hold (no lazy fetch happens)."""
        if not self._is_partial(path):
            return set()
        out = self._git(["rev-list", "--objects", "--missing=print", "--no-walk", commit], url, cwd=path)
        return {line[1:].split()[0] for line in out.splitlines() if line.startswith("?")}

    def read_blobs(self, path: Path, shas: list[str], max_bytes: int) -> dict[str, bytes | int]:
        """Content of each blob, or its size (an int) when it is larger than `max_bytes`."""
        out: dict[str, bytes | int] = {}
        if not shas:
            return out
        # gitpython's `Git` runs the persistent `cat-file --batch`; its `Repo` would also parse the
        # mirror's config, strictly as UTF-8, and a remote path that is not UTF-8 would fail the repository.
        git_cmd = gitpython.Git(str(path))
        try:
            for sha in shas:
                _, _, size, stream = git_cmd.stream_object_data(sha)
                if size > max_bytes:
                    while stream.read(1 << 20):  # the batch protocol needs the object drained, not kept
                        pass
                    out[sha] = size
                else:
                    out[sha] = stream.read()
                self.stats.add(blobs_read=1)
        except (gitpython.GitCommandError, ValueError) as e:
            raise GitSourceError(f"cannot read objects from the mirror: {e}") from None
        finally:
            git_cmd.clear_cache()  # ends the cat-file process
        return out
