"""Real git servers on free loopback ports, over a directory of repositories (tests and bench/audit_bench.py).

- `start_git_daemon(repos)`: `git daemon` (git://); returns the process and the base URL.
- `smart_http_server(repos)`: git's own smart HTTP server (`git http-backend` run per request, as CGI).
- `dumb_http_server(repos)`: a plain file server over the repositories: git's "dumb" HTTP protocol.

The HTTP servers are context managers yielding the base URL; they stop on exit.
"""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def start_git_daemon(repos: Path, timeout: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    """Serve every repository under `repos` over git://; returns (process, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repos.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["git", "daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}",
         f"--base-path={repos}", "--enable=upload-pack", "--max-connections=64", str(repos)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"git://127.0.0.1:{port}"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("git daemon did not start")


@contextmanager
def http_server(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port; yields its base URL, shuts down on exit."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class GitHttpBackend(http.server.BaseHTTPRequestHandler):
    """Runs `git http-backend` per request with the CGI variables it reads (a smart HTTP server)."""

    project_root = ""
    prefix = "/git"

    def do_GET(self) -> None:
        self._cgi(b"")

    def do_POST(self) -> None:
        self._cgi(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _cgi(self, body: bytes) -> None:
        path, _, query = self.path.partition("?")
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": self.project_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path.removeprefix(self.prefix),
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
        self.send_response(status)
        for k, v in headers:
            if k.lower() != "status":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log every request to stderr."""

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def smart_http_server(repos: Path) -> Iterator[str]:
    """Git's own smart HTTP server (`git http-backend`) over `repos`; yields the base URL (ending in /git)."""
    handler = type("Backend", (GitHttpBackend,), {"project_root": str(repos)})
    with http_server(handler) as base:
        yield f"{base}{GitHttpBackend.prefix}"


@contextmanager
def dumb_http_server(repos: Path) -> Iterator[str]:
    """A plain file server over `repos` (git's "dumb" HTTP protocol), after `git update-server-info` in each."""
    for repo in repos.iterdir():
        subprocess.run(["git", "-C", str(repo), "update-server-info"], check=True, capture_output=True, text=True)
    with http_server(functools.partial(QuietFiles, directory=str(repos))) as base:
        yield base
