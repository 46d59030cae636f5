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
