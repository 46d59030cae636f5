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


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One Prefect test server for the session (`prefect_test_harness`), with the settings a small machine
    needs set before Prefect is first imported: its own home, no telemetry, time to start. The repository
    root goes on the path (and to Dask workers' environment) so that `flows` imports as in a checkout."""
    import sys

    root = Path(__file__).resolve().parents[1]
    home = tmp_path_factory.mktemp("prefect-home")
    settings = {"PREFECT_HOME": str(home), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90", "PREFECT_LOGGING_LEVEL": "INFO",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}  # fmt: skip
    before = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    sys.path.insert(0, str(root))
    import logging

    from prefect.testing.utilities import prefect_test_harness

    # Prefect's console handlers hold the stream that was sys.stderr when it set logging up: under pytest's
    # capture that stream is closed after the first test ("Logging error … closed file"); the process's
    # real stderr stays open, and pytest still captures it at the file-descriptor level.
    for logger in [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict))]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and type(handler).__module__.startswith("prefect"):
                handler.setStream(sys.__stderr__)
    try:
        with prefect_test_harness(server_startup_timeout=90):
            yield home
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
