"""What to read, as the config resolves it (light: no git, no HTTP stack imported)."""

from __future__ import annotations

from dataclasses import dataclass

from hullcheck.redact import redact_text


@dataclass(frozen=True, slots=True)
class RepoSpec:
    name: str  # the repository's name in reports
    url: str  # as configured; may carry credentials, so never store or print it
    ref: str | None
    # Why this configured source cannot be audited (a glob that matched no directory, a folder that is no
    # repository): known when the config is loaded, recorded by the crawl as the failure of its row.
    problem: str | None = None

    @property
    def display_url(self) -> str:
        """The URL as it may be shown or stored: passwords, token users and `?private_token=…` removed."""
        return redact_text(self.url)


def repo_name(url_or_path: str) -> str:
    """The default report name of a repository: the last path segment without `.git`."""
    tail = url_or_path.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removesuffix(".git") or url_or_path
