"""Shared fixtures: real git repositories written to tmp dirs, an org config around them, git servers.

Only fixtures live here; the helpers they use are in the `support` package (tests/support/).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.git_servers import dumb_http_server, smart_http_server, start_git_daemon
from support.org import Org

pytest_plugins = ["support.registry_fixtures"]  # real OCI registries, token issuer, fault proxy


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config leaks into tests (credential helpers, url rewrites…)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))


@pytest.fixture
def org(tmp_path: Path) -> Org:
    return Org(tmp_path)


@pytest.fixture
def git_daemon(org: Org) -> Iterator[str]:
    """A real `git daemon` serving the org's repositories over git:// on a free loopback port."""
    proc, url = start_git_daemon(org.repos)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def smart_http(org: Org) -> Iterator[str]:
    """Git's own smart HTTP server (`git http-backend`) serving the org's repositories."""
    with smart_http_server(org.repos) as url:
        yield url


@pytest.fixture
def dumb_http(org: Org) -> Iterator[str]:
    """A plain file server over the repositories: git's "dumb" HTTP protocol."""
    with dumb_http_server(org.repos) as url:
        yield url


@pytest.fixture
def hullcheck_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `hullcheck` command as a user would."""

    exe = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[1] / ".venv")) / "bin" / "hullcheck"

    def run(*args: str, cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)

    return run
