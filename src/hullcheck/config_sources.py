"""The sources part of the org config: git sources, registries, layouts, and the checks on their globs.

Split from `hullcheck.config` (which re-exports every name) to keep each module small; `StrictModel`
is the base of every config section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class StrictModel(BaseModel):
    # Unknown keys are almost always typos ("repo:" for "repos:"): refuse them.
    model_config = ConfigDict(extra="forbid")


GLOB_CHARS = "*?["
NAME_FROM_WORDS = ("basename", "parent")


def glob_problem(pattern: str, any_depth: bool = False) -> str | None:
    """Why a glob is malformed, or None. Python's glob and fnmatch take an unclosed `[` literally and a `**`
    for one `*`, so such a glob silently matches nothing: it is refused instead, with how to write it."""
    if not pattern.strip():
        return "an empty glob matches nothing"
    if any(c in pattern for c in "\n\r\0"):
        return "a glob cannot hold a line break or a NUL"
    if not any_depth and "**" in pattern:
        return "'**' (any depth) is not supported here: write one '*' per folder level (e.g. /srv/*/*.git)"
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":  # `[]]` and `[!]]`: a `]` first is part of the set
                j += 1
            end = pattern.find("]", j)
            if end == -1 or "/" in pattern[j:end]:
                return f"unclosed '[' at character {i + 1} (a literal '[' is written '[[]')"
            i = end
        i += 1
    return None


class GitSource(StrictModel):
    url: str | None = Field(None, description="clone URL, local path or file:// URL")
    path_glob: str | None = Field(None, description="every git repository matching this glob")
    ref: str | None = Field(None, description="branch to audit; default: the remote's HEAD")
    name: str | None = Field(None, description="repository name in reports; default: from the URL")
    name_from: str | None = Field(
        None,
        description="path_glob only: how each repository is named — basename (default: the folder's name without "
        ".git), parent (its parent folder's name), or a regular expression with one group, searched in the path",
    )

    @field_validator("path_glob")
    @classmethod
    def _glob(cls, v: str | None) -> str | None:
        problem = None if v is None else glob_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("name_from")
    @classmethod
    def _name_from(cls, v: str | None) -> str | None:
        if v is None or v in NAME_FROM_WORDS:
            return v
        try:
            groups = re.compile(v).groups
        except re.error as e:
            raise ValueError(f"neither basename, parent nor a regular expression ({e})") from None
        if groups != 1:
            raise ValueError(f"a regular expression names a repository with exactly one group (…); {v!r} has {groups}")
        return v

    @model_validator(mode="after")
    def _one_of(self) -> GitSource:
        if self.url is not None and (self.url.startswith("-") or any(c in self.url for c in "\n\r\0")):
            raise ValueError("not a repository URL or path (it starts with '-' or holds a line break)")
        if (self.url is None) == (self.path_glob is None):
            raise ValueError("give exactly one of 'url' or 'path_glob'")
        if self.name is not None and self.path_glob is not None:
            raise ValueError("'name' is for one 'url'; a 'path_glob' takes 'name_from' (basename, parent, regex)")
        if self.name_from is not None and self.url is not None:
            raise ValueError("'name_from' applies to a 'path_glob'; a single 'url' takes 'name'")
        return self


class Sources(StrictModel):
    git: list[GitSource] = Field(default_factory=list)


class RegistryCredentials(StrictModel):
    """Where the credentials are, never the credentials: names of environment variables."""

    username_env: str
    password_env: str


class RegistrySource(StrictModel):
    url: str = Field(description="registry host[:port] (docker.io means Docker Hub)")
    insecure: bool | None = Field(None, description="plain HTTP; default: only for loopback hosts")
    credentials: RegistryCredentials | None = Field(
        None, description="default: the Docker config (DOCKER_CONFIG, credHelpers, credsStore), else anonymous"
    )
    repositories: list[str] = Field(default_factory=list, description="names or globs; default: the registry's catalog")
    tags: list[str] = Field(default_factory=lambda: ["*"], description="tag globs to audit")
    exclude_tags: list[str] = Field(default_factory=list)
    concurrency: int = Field(8, ge=1, le=64)
    timeout_seconds: float = Field(30.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    layer_scan: bool = Field(False, description="read layers (opt-in): files, wasted bytes, toolchains, data sets")
    layer_scan_budget_bytes: int = Field(10 * 1024**3, ge=0, description="compressed bytes scanned per night")
    layer_scan_max_bytes: int = Field(16 * 1024**3, gt=0, description="uncompressed bytes of one layer, at most")
    layer_scan_max_ratio: int = Field(200, ge=2, description="uncompressed / compressed past which a layer is a bomb")

    @field_validator("url")
    @classmethod
    def _host_only(cls, v: str) -> str:
        v = v.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        if "@" in v:
            raise ValueError("credentials do not belong in the URL: use credentials: {username_env, password_env}")
        if not v or "/" in v:
            raise ValueError("give the registry host[:port] only (repositories go in `repositories`)")
        return v

    @property
    def host(self) -> str:
        return self.url


class LayoutSource(StrictModel):
    path: str = Field(description="an OCI layout directory, an OCI archive or a `docker save` tarball; globs allowed")
    layer_scan: bool = Field(False, description="read layers (opt-in), as for registries")
    layer_scan_budget_bytes: int = Field(10 * 1024**3, ge=0, description="compressed bytes scanned per night")
    layer_scan_max_bytes: int = Field(16 * 1024**3, gt=0, description="uncompressed bytes of one layer, at most")
    layer_scan_max_ratio: int = Field(200, ge=2, description="uncompressed / compressed past which a layer is a bomb")

    @field_validator("path")
    @classmethod
    def _glob(cls, v: str) -> str:
        problem = glob_problem(v)
        if problem:
            raise ValueError(problem)
        return v


@dataclass(frozen=True)
class LayoutSpec:
    """One layout or archive on disk, with the settings of the `layouts:` entry that named it."""

    path: Path
    settings: LayoutSource
    problem: str | None = None  # set when its glob matched nothing: the crawl records this as its failure
