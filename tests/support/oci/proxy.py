"""A recording, fault-injecting reverse proxy in front of a real test registry.

Why: a crawler's economy (how many catalog/tags/manifest/blob requests it makes, whether
it HEADs before GETting) and its resilience (503 + Retry-After, slow answers, a manifest
whose bytes do not match its digest, a connection that dies in the middle of a body) must
be observable against the real registry, which cannot be asked to misbehave. Everything is
forwarded as is (headers included: WWW-Authenticate, Link, Docker-Content-Digest); Location
and Link headers naming the registry's host are rewritten to the proxy's, so follow-up
requests come back through it. One thread per connection (ThreadingHTTPServer): a stalled
answer never holds up the others.

Fault switches (`clear_faults()` turns every one off)
- `fail_next(n, status, retry_after, kinds)`: the next n requests (of `kinds`) are answered
  with `status` (+ Retry-After) and a registry-style JSON error, never forwarded.
- `break_next(n, mode, kinds, stall_seconds)`: the next n requests are forwarded (the
  registry does the work: a PUT is committed even if its answer is lost), and the
  registry's real answer is broken on the wire (`BODY_MODES`):
  - "reset": status line and headers (full Content-Length), half the body, then a TCP
    reset (SO_LINGER 0 + close): the client sees ECONNRESET mid-body;
  - "truncate": the same, then a normal close (FIN): the client sees a short read
    (IncompleteRead, when it enforces Content-Length);
  - "stall": the same, then nothing for `stall_seconds` (default `.stall_seconds`, 5 s),
    then a normal close: a client with a short read timeout times out mid-body;
  - "reset_before": a TCP reset before any response byte.
  A HEAD answer or an empty body has no middle: reset/truncate/stall become "reset_before"
  there (and are logged so), so every kind of request can be hit.
- `chaos(rate, modes, seed, kinds)`: every request (of `kinds`) not taken by a queued
  fault is, with probability `rate`, given one mode drawn from `modes` — an HTTP status
  (429 and 503 carry `Retry-After: 0`) or a body mode. The draws come from
  `random.Random(seed)` under the lock, two per request, so a sequential client meets the
  same faults on the same requests every run, and concurrent clients making the same
  requests meet the same number of faults (not on the same requests).
- `tamper_manifests(on)`: manifest GET bodies get one byte changed, digest header kept.
- `delay(seconds)`: sleep before forwarding each request.

Queued faults (`fail_next`, `break_next`) are taken in the order they were queued and come
before chaos. Every answer is logged (`.log`, `Logged`); a faulted one has `injected` True
and `fault` naming what the client met ("503", "reset", "reset_before", ...). `.fault_counts`
counts them by (fault, kind, method); `faults(...)` sums it.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import http.server
import json
import random
import re
import socket
import struct
import termios
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from support.oci.push import Pushable, RegistryClient
from support.oci.registry import Registry

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailers", "transfer-encoding", "upgrade", "host"}
BODY_MODES = ("reset", "truncate", "stall", "reset_before")
RETRY_AFTER_ZERO = {429, 503}  # chaos statuses that say "come back now"
_KINDS = [
    ("catalog", re.compile(r"^/v2/_catalog$")),
    ("ping", re.compile(r"^/v2/?$")),
    ("tags", re.compile(r"^/v2/.+/tags/list$")),
    ("manifest", re.compile(r"^/v2/.+/manifests/[^/]+$")),
    ("upload", re.compile(r"^/v2/.+/blobs/uploads/.*$")),
    ("blob", re.compile(r"^/v2/.+/blobs/[^/]+$")),
    ("referrers", re.compile(r"^/v2/.+/referrers/[^/]+$")),
]


def kind_of(path: str) -> str:
    """ping | catalog | tags | manifest | blob | upload | referrers | other (query ignored)."""
    bare = urlsplit(path).path
    return next((kind for kind, rx in _KINDS if rx.match(bare)), "other")


def tamper(body: bytes) -> bytes:
    """Change exactly one byte, keeping the JSON valid: the last digit of the first `"size":` value."""
    m = re.search(rb'"size"\s*:\s*\d+', body)
    if m:
        pos = m.end() - 1
        digit = body[pos] - ord("0")
        return body[:pos] + bytes([ord("0") + (digit + 1) % 10]) + body[pos + 1 :]
    if not body:
        return body
    mid = len(body) // 2
    return body[:mid] + bytes([body[mid] ^ 0x01]) + body[mid + 1 :]


@dataclass(frozen=True)
class Logged:
    method: str
    path: str  # as requested, query included
    kind: str
    status: int  # the injected status, or the registry's when a body mode broke its answer
    injected: bool  # a fault switch answered (status: never forwarded) or broke the answer (body modes)
    fault: str | None = None  # what the client met: "503", "reset", "truncate", "stall", "reset_before"


def _mode_name(mode: int | str) -> str:
    """Validate a fault mode; statuses become their digits ("503")."""
    if isinstance(mode, int) and not isinstance(mode, bool) and 100 <= mode <= 599:
        return str(mode)
    if mode in BODY_MODES:
        return str(mode)
    raise ValueError(f"fault mode must be an HTTP status or one of {BODY_MODES}, not {mode!r}")


@dataclass
class _Fault:
    remaining: int
    mode: str  # "503" (answered without forwarding) or a body mode
    retry_after: int | float | str | None
    kinds: frozenset[str] | None
    stall_seconds: float | None = None  # None: the proxy's .stall_seconds
    match: str | None = None  # only requests whose path contains this (a digest, a repository)
    method: str | None = None  # only requests of this method ("HEAD"), if given

    @property
    def status(self) -> int | None:
        return int(self.mode) if self.mode.isdigit() else None


@dataclass
class _Chaos:
    rate: float
    modes: tuple[str, ...]
    kinds: frozenset[str] | None
    rng: random.Random


class RegistryProxy:
    """Loopback proxy to `target`: `.host`, `.url`, `.requests` [(method, path)], counters, fault switches."""

    def __init__(self, target: Registry, stall_seconds: float = 5.0) -> None:
        self.target = target
        self.stall_seconds = stall_seconds  # how long a "stall" holds the body back (break_next may override)
        self.requests: list[tuple[str, str]] = []
        self.log: list[Logged] = []
        self._fault_counts: Counter[tuple[str, str, str]] = Counter()
        self._faults: list[_Fault] = []
        self._chaos: _Chaos | None = None
        self._tamper = False
        self._delay = 0.0
        self._lock = threading.Lock()
        self._closing = threading.Event()  # wakes stalled answers at close()
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="registry-proxy"
        )
        self._thread.start()

    # --- the same surface as Registry, so tests can hand either to a client -------------
    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def username(self) -> str | None:
        return self.target.username

    @property
    def password(self) -> str | None:
        return self.target.password

    @property
    def auth(self) -> tuple[str, str] | None:
        return self.target.auth

    @property
    def token_requests(self) -> int:
        return self.target.token_requests

    @property
    def pushed(self) -> dict[str, str]:
        return self.target.pushed

    @property
    def images(self) -> dict[str, Pushable]:
        return self.target.images

    def ref(self, repo: str, tag: str) -> str:
        return f"{self.host}/{repo}:{tag}"

    def client(self) -> RegistryClient:
        return RegistryClient(self.url, self.auth)

    def push(self, repo: str, tag: str, image: Pushable) -> str:
        client = self.client()
        try:
            digest = client.push(repo, tag, image)
        finally:
            client.close()
        self.target.pushed[f"{repo}:{tag}"] = digest
        self.target.images[f"{repo}:{tag}"] = image
        return digest

    # --- fault switches ------------------------------------------------------------------
    def fail_next(
        self,
        n: int,
        status: int = 503,
        retry_after: int | float | str | None = None,
        kinds: set[str] | None = None,
        match: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next `n` requests (of `kinds`, whose path contains `match`, of `method`, if given) with
        `status` (+ Retry-After) without forwarding."""
        with self._lock:
            kind_set = frozenset(kinds) if kinds else None
            self._faults.append(_Fault(n, _mode_name(status), retry_after, kind_set, match=match, method=method))

    def break_next(
        self,
        n: int,
        mode: str,
        kinds: set[str] | None = None,
        stall_seconds: float | None = None,
        match: str | None = None,
        method: str | None = None,
    ) -> None:
        """Forward the next `n` requests (of `kinds`, of `method` if given) and break the registry's answer
        on the wire as `mode`.

        `mode`: "reset" | "truncate" | "stall" (headers with the full Content-Length and half the body,
        then a TCP reset | a normal close | `stall_seconds` of silence and a close) | "reset_before"
        (a reset before any byte). HEAD answers and empty bodies get "reset_before" instead.
        """
        if mode not in BODY_MODES:
            raise ValueError(f"break_next mode must be one of {BODY_MODES}, not {mode!r}")
        with self._lock:
            kind_set = frozenset(kinds) if kinds else None
            self._faults.append(_Fault(n, mode, None, kind_set, stall_seconds, match, method))

    def chaos(self, rate: float, modes: Iterable[int | str], seed: int, kinds: set[str] | None = None) -> None:
        """From now on, fault each request (of `kinds`) with probability `rate`, the mode drawn from `modes`.

        `modes`: HTTP statuses (429 and 503 answered with `Retry-After: 0`, never forwarded) and
        `BODY_MODES`. Deterministic from `seed` for a given sequence of requests; queued faults go first.
        """
        names = tuple(_mode_name(m) for m in modes)
        if not names or not 0.0 <= rate <= 1.0:
            raise ValueError("chaos needs at least one mode and 0 <= rate <= 1")
        with self._lock:
            self._chaos = _Chaos(rate, names, frozenset(kinds) if kinds else None, random.Random(seed))

    def tamper_manifests(self, on: bool = True) -> None:
        """Serve manifest GET bodies with one byte changed, Docker-Content-Digest left as the registry sent it."""
        self._tamper = on

    def delay(self, seconds: float) -> None:
        """Sleep this long before forwarding each request (0 to stop)."""
        self._delay = seconds

    def clear_faults(self) -> None:
        """Every switch off: queued faults, chaos, tampering, delay (the log and the fault counts stay)."""
        with self._lock:
            self._faults.clear()
            self._chaos = None
        self._tamper, self._delay = False, 0.0

    # --- what was asked ------------------------------------------------------------------
    def count(self, kind: str, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for e in self.log if e.kind == kind and (method is None or e.method == method))

    @property
    def fault_counts(self) -> Counter[tuple[str, str, str]]:
        """Faults met by clients so far, by (fault, kind, method), e.g. ("reset", "blob", "GET")."""
        with self._lock:
            return Counter(self._fault_counts)

    def faults(self, mode: int | str | None = None, kind: str | None = None, method: str | None = None) -> int:
        """How many faults were injected, narrowed by mode (503 or "503", "reset", ...), kind and method."""
        want = None if mode is None else str(mode)
        return sum(
            n
            for (m, k, verb), n in self.fault_counts.items()
            if (want is None or m == want) and (kind is None or k == kind) and (method is None or verb == method)
        )

    @property
    def catalog_requests(self) -> int:
        return self.count("catalog", "GET")

    @property
    def tags_requests(self) -> int:
        return self.count("tags", "GET")

    @property
    def manifest_heads(self) -> int:
        return self.count("manifest", "HEAD")

    @property
    def manifest_gets(self) -> int:
        return self.count("manifest", "GET")

    @property
    def blob_gets(self) -> int:
        return self.count("blob", "GET")

    def reset(self) -> None:
        """Forget recorded requests and fault counts (fault switches stay)."""
        with self._lock:
            self.requests.clear()
            self.log.clear()
            self._fault_counts.clear()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    # --- used by the handler -------------------------------------------------------------
    def _take_fault(self, kind: str, path: str = "", method: str = "") -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if (
                    fault.remaining > 0
                    and (fault.kinds is None or kind in fault.kinds)
                    and (fault.match is None or fault.match in path)
                    and (fault.method is None or fault.method == method)
                ):
                    fault.remaining -= 1
                    return fault
            self._faults = [f for f in self._faults if f.remaining > 0]
            chaos = self._chaos
            if chaos is None or (chaos.kinds is not None and kind not in chaos.kinds):
                return None
            # Two draws per request whatever happens: which requests are hit depends on seed and rate only.
            hit, pick = chaos.rng.random() < chaos.rate, chaos.rng.randrange(len(chaos.modes))
            if not hit:
                return None
            mode = chaos.modes[pick]
            retry_after = 0 if mode.isdigit() and int(mode) in RETRY_AFTER_ZERO else None
            return _Fault(1, mode, retry_after, None)

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self.requests.append((entry.method, entry.path))
            self.log.append(entry)
            if entry.fault is not None:
                self._fault_counts[(entry.fault, entry.kind, entry.method)] += 1


class _Handler(http.server.BaseHTTPRequestHandler):
    proxy: RegistryProxy
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        proxy, kind = self.proxy, kind_of(self.path)
        body = self._body()
        fault = proxy._take_fault(kind, self.path, self.command)
        if fault is not None and fault.status is not None:
            proxy._record(Logged(self.command, self.path, kind, fault.status, True, fault.mode))
            err = {"errors": [{"code": "UNAVAILABLE", "message": "injected by the test proxy", "detail": None}]}
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            self._reply(
                fault.status, "Injected", {"Content-Type": "application/json", **extra}, json.dumps(err).encode()
            )
            return
        if proxy._delay:
            time.sleep(proxy._delay)
        upstream = proxy.target.host
        conn = http.client.HTTPConnection(upstream, timeout=60)
        try:
            # Repeated headers (Go clients send one `Accept:` line per media type) must all go through.
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", upstream)
            for k, v in self.headers.items():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    conn.putheader(k, v)
            if body or self.command in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
            out: dict[str, Any] = {}
            for k, v in resp.getheaders():
                if k.lower() in HOP_BY_HOP or k.lower() in ("date", "server"):
                    continue
                if k.lower() in ("location", "link"):
                    v = v.replace(f"//{upstream}", f"//{proxy.host}")
                out.setdefault(k, []).append(v)
            if proxy._tamper and kind == "manifest" and self.command == "GET" and resp.status == 200:
                data = tamper(data)
        finally:
            conn.close()
        if fault is None:
            proxy._record(Logged(self.command, self.path, kind, resp.status, False))
            self._reply(resp.status, resp.reason, out, data)
            return
        mode = fault.mode if data and self.command != "HEAD" else "reset_before"  # no middle to break in
        proxy._record(Logged(self.command, self.path, kind, resp.status, True, mode))
        self.close_connection = True
        if mode == "reset_before":
            self._reset()
            return
        self._send_headers(resp.status, resp.reason, out, data)
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        if mode == "reset":
            self._reset()
        elif mode == "stall":
            proxy._closing.wait(proxy.stall_seconds if fault.stall_seconds is None else fault.stall_seconds)
        # truncate, and a stall once over: return; the server closes the socket normally (FIN).

    def _reset(self) -> None:
        """Abort the connection with a TCP RST once what was written has reached the client."""
        sock, outq = self.connection, getattr(termios, "TIOCOUTQ", None)  # Linux: bytes not yet ACKed
        deadline = time.monotonic() + 2.0
        with contextlib.suppress(OSError):  # wait for the peer to ACK it all, or an RST could overtake it
            while outq is not None and time.monotonic() < deadline:
                if struct.unpack("i", fcntl.ioctl(sock, outq, b"\0\0\0\0"))[0] == 0:
                    break
                time.sleep(0.005)
            if outq is None:
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            self.rfile.close()  # the last reference to the descriptor: the RST goes out now

    def _send_headers(self, status: int, reason: str, headers: dict[str, Any], data: bytes) -> None:
        self.send_response_only(status, reason)
        length_sent = False
        for k, values in headers.items():
            for v in values if isinstance(values, list) else [values]:
                self.send_header(k, v)
            length_sent = length_sent or k.lower() == "content-length"
        if not length_sent:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()

    def _reply(self, status: int, reason: str, headers: dict[str, Any], data: bytes) -> None:
        self._send_headers(status, reason, headers, data)
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass
