"""`git ls-remote` without a process, for git:// and smart HTTP(S) remotes.

A no-change night is one ref lookup per repository, so its cost is the cost of the
whole nightly audit. Spawning `git ls-remote` (and, for HTTPS, a new TLS connection
each time) dominates it; reading the ref advertisement in-process over a kept-alive
connection does not. Anything unexpected (an auth challenge, a dumb HTTP server, a
protocol surprise) raises `AdvertUnavailable` and the caller falls back to git itself,
which knows credential helpers and every transport.

Protocol: gitprotocol-pack(5) and gitprotocol-http(5), version 0/1 advertisement.
"""

from __future__ import annotations

import base64
import socket
import threading
import urllib.parse
from dataclasses import dataclass

from hullcheck.errors import GitSourceError, SourceError

_TIMEOUT = 30.0
_MAX_ADVERT = 64 * 1024 * 1024


class AdvertUnavailable(SourceError):
    """The in-process path cannot answer; use `git ls-remote`."""


class AdvertError(GitSourceError):
    """The remote answered, and the answer is an error a human should read."""


@dataclass(frozen=True, slots=True)
class Advert:
    refs: dict[str, str]  # ref name -> sha, including HEAD when the repository has commits
    head_symref: str | None  # what HEAD points to, e.g. refs/heads/main


def _pkt_lines(data: bytes) -> list[bytes | None]:
    """Split pkt-line framing; None stands for a flush-pkt."""
    out: list[bytes | None] = []
    i = 0
    while i + 4 <= len(data):
        try:
            size = int(data[i : i + 4], 16)
        except ValueError:
            raise AdvertUnavailable("not a pkt-line stream") from None
        if size == 0:
            out.append(None)
            i += 4
            continue
        if size < 4 or i + size > len(data):
            raise AdvertUnavailable("truncated pkt-line stream")
        out.append(data[i + 4 : i + size])
        i += size
    return out


def parse_advert(lines: list[bytes | None]) -> Advert:
    refs: dict[str, str] = {}
    symref = None
    for n, line in enumerate(x for x in lines if x is not None):
        text = line.rstrip(b"\n").decode("utf-8", "replace")
        if text.startswith("ERR "):
            raise AdvertError(text[4:])
        if text.startswith("version "):
            continue
        head, _, caps = text.partition("\0")
        if n == 0 or caps:
            for cap in caps.split(" "):
                if cap.startswith("symref=HEAD:"):
                    symref = cap[len("symref=HEAD:") :]
        sha, _, name = head.partition(" ")
        if name == "capabilities^{}" or name.endswith("^{}"):
            continue  # empty repository marker, peeled tags
        if len(sha) in (40, 64) and name:
            refs[name] = sha
    return Advert(refs, symref)


def _git_protocol(url: str) -> Advert:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port or 9418
    request = f"git-upload-pack {parts.path}\0host={host}:{port}\0".encode("utf-8", "surrogateescape")
    try:
        with socket.create_connection((host, port), timeout=_TIMEOUT) as sock:
            sock.sendall(b"%04x" % (len(request) + 4) + request)
            chunks, total = [], 0
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if chunk.endswith(b"0000") or total > _MAX_ADVERT:
                    break
            sock.sendall(b"0000")  # we want nothing: end the conversation politely
    except OSError as e:
        raise AdvertError(f"cannot reach the git server: {e}") from None
    data = b"".join(chunks)
    if not data:
        raise AdvertError("repository not found (the git server closed the connection)")
    return parse_advert(_pkt_lines(data))


_sessions = threading.local()


def _session():  # type: ignore[no-untyped-def]
    import requests  # only HTTP remotes need it: keeps `hullcheck audit` start-up light

    s = getattr(_sessions, "session", None)
    if s is None:
        s = _sessions.session = requests.Session()
        s.headers["User-Agent"] = "git/2.0 (hullcheck)"
    return s


def _smart_http(url: str) -> Advert:
    parts = urllib.parse.urlsplit(url)
    headers = {}
    if parts.username is not None:
        token = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else ""
        parts = parts._replace(netloc=netloc)
    base = urllib.parse.urlunsplit(parts).rstrip("/")
    import requests

    try:
        r = _session().get(
            f"{base}/info/refs", params={"service": "git-upload-pack"}, headers=headers, timeout=_TIMEOUT
        )
    except requests.RequestException as e:
        raise AdvertUnavailable(str(e)) from None
    if r.status_code != 200 or r.headers.get("Content-Type") != "application/x-git-upload-pack-advertisement":
        raise AdvertUnavailable(f"HTTP {r.status_code}")  # auth challenges, dumb servers: git decides
    lines = _pkt_lines(r.content)
    if not lines or lines[0] is None or not lines[0].startswith(b"# service=git-upload-pack"):
        raise AdvertUnavailable("not a smart HTTP advertisement")
    return parse_advert(lines[1:])


def advertised_refs(url: str) -> Advert:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme == "git":
        return _git_protocol(url)
    if scheme in ("http", "https"):
        return _smart_http(url)
    raise AdvertUnavailable(f"no in-process client for {scheme or 'this'} URLs")
