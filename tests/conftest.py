"""Shared fixtures: real git repositories written to tmp dirs, an org config around them."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from git_servers import start_git_daemon

from hullcheck.config import Config, load_config
from hullcheck.demo.gitbuild import Commit, write_repo

pytest_plugins = ["registry_fixtures"]  # real OCI registries, token issuer, fault proxy (tests/registry_fixtures.py)

NOW = datetime.now(UTC).replace(microsecond=0)


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config leaks into tests (credential helpers, url rewrites…)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))


class Org:
    """A tmp organization: repositories under `repos/`, a config, helpers to audit and query."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repos = root / "repos"
        self.sources: list[dict[str, object]] = []
        self.extra: dict[str, object] = {}

    def repo(self, name: str, commits: list[Commit], branch: str = "main", add: bool = True, **src: object) -> Path:
        path = write_repo(self.repos / name, commits, branch=branch)
        if add:
            self.sources.append({"url": str(path), **src})
        return path

    def write_config(self) -> Path:
        data = {
            "database": "audit.duckdb",
            "cache_dir": "cache",
            "sources": {"git": self.sources},
            "teams": [{"name": "everyone", "profile": "microservice", "repos": ["*"]}],
            **self.extra,
        }
        path = self.root / "hullcheck.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def config(self) -> Config:
        return load_config(self.write_config())

    def query(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        con = duckdb.connect(str(self.root / "audit.duckdb"), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, params: list[object] | None = None) -> object:
        return self.query(sql, params)[0][0]


@pytest.fixture
def org(tmp_path: Path) -> Org:
    return Org(tmp_path)


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_daemon(org: Org) -> Iterator[str]:
    """A real `git daemon` serving the org's repositories over git:// on a free loopback port."""
    proc, url = start_git_daemon(org.repos)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _serve(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    bound = handler
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), bound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _GitHttpBackend(http.server.BaseHTTPRequestHandler):
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


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def smart_http(org: Org) -> Iterator[str]:
    """Git's own smart HTTP server (`git http-backend`) serving the org's repositories."""
    handler = type("Backend", (_GitHttpBackend,), {"project_root": str(org.repos)})
    for base in _serve(handler):
        yield f"{base}{_GitHttpBackend.prefix}"


@pytest.fixture
def dumb_http(org: Org) -> Iterator[str]:
    """A plain file server over the repositories: git's "dumb" HTTP protocol."""
    for repo in org.repos.iterdir():
        git(repo, "update-server-info")
    yield from _serve(functools.partial(_QuietFiles, directory=str(org.repos)))


@pytest.fixture
def hullcheck_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `hullcheck` command as a user would."""

    exe = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[1] / ".venv")) / "bin" / "hullcheck"

    def run(*args: str, cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)

    return run
