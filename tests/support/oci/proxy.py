"""A recording, fault-injecting reverse proxy in front of a real test registry.

Why: a crawler's economy (how many catalog/tags/manifest/blob requests it makes, whether
it HEADs before GETting) and its resilience (503 + Retry-After, slow answers, a manifest
whose bytes do not match its digest) must be observable against the real registry, which
cannot be asked to misbehave. Everything is forwarded as is (headers included:
WWW-Authenticate, Link, Docker-Content-Digest); Location and Link headers naming the
registry's host are rewritten to the proxy's, so follow-up requests come back through it.
"""

from __future__ import annotations

import http.client
import http.server
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from support.oci.push import Pushable, RegistryClient
from support.oci.registry import Registry

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailers", "transfer-encoding", "upgrade", "host"}
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
    status: int
    injected: bool  # answered by a fault switch, never reached the registry


@dataclass
class _Fault:
    remaining: int
    status: int
    retry_after: int | float | None
    kinds: frozenset[str] | None


class RegistryProxy:
    """Loopback proxy to `target`: `.host`, `.url`, `.requests` [(method, path)], counters, fault switches."""

    def __init__(self, target: Registry) -> None:
        self.target = target
        self.requests: list[tuple[str, str]] = []
        self.log: list[Logged] = []
        self._faults: list[_Fault] = []
        self._tamper = False
        self._delay = 0.0
        self._lock = threading.Lock()
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
        self, n: int, status: int = 503, retry_after: int | float | None = None, kinds: set[str] | None = None
    ) -> None:
        """Answer the next `n` requests (of `kinds` only, if given) with `status` (+ Retry-After) without forwarding."""
        with self._lock:
            self._faults.append(_Fault(n, status, retry_after, frozenset(kinds) if kinds else None))

    def tamper_manifests(self, on: bool = True) -> None:
        """Serve manifest GET bodies with one byte changed, Docker-Content-Digest left as the registry sent it."""
        self._tamper = on

    def delay(self, seconds: float) -> None:
        """Sleep this long before forwarding each request (0 to stop)."""
        self._delay = seconds

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self._tamper, self._delay = False, 0.0

    # --- what was asked ------------------------------------------------------------------
    def count(self, kind: str, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for e in self.log if e.kind == kind and (method is None or e.method == method))

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
        """Forget recorded requests (fault switches stay)."""
        with self._lock:
            self.requests.clear()
            self.log.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- used by the handler -------------------------------------------------------------
    def _take_fault(self, kind: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and (fault.kinds is None or kind in fault.kinds):
                    fault.remaining -= 1
                    return fault
            self._faults = [f for f in self._faults if f.remaining > 0]
            return None

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self.requests.append((entry.method, entry.path))
            self.log.append(entry)


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
        fault = proxy._take_fault(kind)
        if fault is not None:
            proxy._record(Logged(self.command, self.path, kind, fault.status, True))
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
        proxy._record(Logged(self.command, self.path, kind, resp.status, False))
        self._reply(resp.status, resp.reason, out, data)

    def _reply(self, status: int, reason: str, headers: dict[str, Any], data: bytes) -> None:
        self.send_response_only(status, reason)
        length_sent = False
        for k, values in headers.items():
            for v in values if isinstance(values, list) else [values]:
                self.send_header(k, v)
            length_sent = length_sent or k.lower() == "content-length"
        if not length_sent:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass
