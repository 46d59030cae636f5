"""A repository URL is data, never a command: option-looking URLs and command transports are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.org import Org

from hullcheck.audit import run_audit
from hullcheck.config import parse_config
from hullcheck.errors import ConfigError, GitSourceError
from hullcheck.sources.git import GitMirrors
from hullcheck.sources.specs import RepoSpec


def test_a_url_that_looks_like_an_option_is_refused_by_the_config() -> None:
    with pytest.raises(ConfigError, match="not a repository URL"):
        parse_config("sources:\n  git:\n    - url: '--upload-pack=touch /tmp/x;true ://x'\n")


@pytest.mark.parametrize(
    "url",
    ["--upload-pack=touch {marker};true ://x", "ext::sh -c touch% {marker}", "-oProxyCommand=touch% {marker} x:y"],
    ids=["upload-pack", "ext-transport", "ssh-option"],
)
def test_git_never_runs_a_command_from_a_url(tmp_path: Path, url: str) -> None:
    marker = tmp_path / "pwned"
    mirrors = GitMirrors(tmp_path / "cache")
    spec = RepoSpec("evil", url.format(marker=marker), None)
    with pytest.raises(GitSourceError):
        tip = mirrors.remote_tip(spec)
        assert tip is not None
        mirrors.ensure_commit(spec, tip)
    assert not marker.exists()


def test_a_command_transport_in_the_config_is_a_failed_row(org: Org, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    org.sources.append({"url": f"ext::sh -c touch% {marker}", "name": "evil"})
    summary = run_audit(org.config())
    assert summary.status == "partial" and not marker.exists()
    error = org.scalar("SELECT error FROM latest_repo_snapshots WHERE repo = 'evil'")
    assert isinstance(error, str) and "ext::" in error, error  # read as a (missing) path, never run


def test_the_askpass_script_is_written_safely_by_many_crawl_threads_at_once(tmp_path: Path) -> None:
    # Credentialed URLs crawled in parallel all need the script; a shared temporary name made the
    # second writer fail (FileNotFoundError) and its repository an "internal error".
    import threading

    def write(mirrors: GitMirrors, start: threading.Barrier, errors: list[BaseException]) -> None:
        start.wait()
        try:
            mirrors._askpass()
        except BaseException as e:
            errors.append(e)

    for attempt in range(20):
        mirrors, start, errors = GitMirrors(tmp_path / f"cache{attempt}"), threading.Barrier(8), []
        threads = [threading.Thread(target=write, args=(mirrors, start, errors)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        script = tmp_path / f"cache{attempt}" / "git" / "askpass.sh"
        assert script.read_text().startswith("#!/bin/sh") and script.stat().st_mode & 0o700 == 0o700
        assert [p.name for p in script.parent.iterdir()] == ["askpass.sh"]  # no temporary left behind
