"""The org config (`hullcheck.yaml`): a pydantic model, and errors that name file, line and key.

Resolved once, at load time: relative paths against the config file's directory, globs of git
sources and layouts into ready specs (`Config.git_repos`, `Config.layout_specs`), duplicate
repository names refused. The rest of hullcheck never looks at a glob or a relative path.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from hullcheck.errors import ConfigError, ConfigNotFound
from hullcheck.extract.files import DEFAULT_MAX_FILE_BYTES
from hullcheck.sources.specs import RepoSpec, repo_name
from hullcheck.store_values import clean_text


class _Model(BaseModel):
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


class GitSource(_Model):
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


class Sources(_Model):
    git: list[GitSource] = Field(default_factory=list)


class RegistryCredentials(_Model):
    """Where the credentials are, never the credentials: names of environment variables."""

    username_env: str
    password_env: str


class RegistrySource(_Model):
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


class LayoutSource(_Model):
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


def _address(v: str) -> str:
    """One mail address, checked so that it can only ever be an address in a header (no CR/LF, one @)."""
    from email.utils import parseaddr

    if any(c in v for c in "\r\n\0"):
        raise ValueError("a mail address cannot contain a line break")
    _, addr = parseaddr(v)
    if not addr or addr.count("@") != 1 or addr.startswith("@") or addr.endswith("@") or " " in addr:
        raise ValueError(f"{v!r} is not a mail address (name@example.org)")
    return v


class SmtpSettings(_Model):
    host: str = Field(description="the mail relay")
    port: int | None = Field(None, ge=1, le=65535, description="default: 587 for starttls, 465 for tls, 25 for none")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (upgrade a plain connection), tls (implicit TLS) or none (loopback relays)"
    )
    username: str | None = Field(None, description="log in as this user (AUTH); needs password_env")
    password_env: str | None = Field(None, description="the environment variable holding the password")
    ca_file: Path | None = Field(None, description="trust this CA bundle (a private relay); default: the system's")
    timeout_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _login(self) -> SmtpSettings:
        if self.username and not self.password_env:
            raise ValueError("username needs password_env: the name of the variable holding the password")
        return self

    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


class EmailSettings(_Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sender: str = Field(alias="from", description="the From: address")
    org_to: list[str] = Field(default_factory=list, description="who gets the org digest (the platform team)")
    reply_to: str | None = None
    smtp: SmtpSettings | None = Field(None, description="how to send; without it only --dry-run works")

    @field_validator("sender", "reply_to")
    @classmethod
    def _one(cls, v: str | None) -> str | None:
        return None if v is None else _address(v)

    @field_validator("org_to", mode="before")
    @classmethod
    def _many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("org_to")
    @classmethod
    def _all(cls, v: list[str]) -> list[str]:
        return [_address(a) for a in v]


class ReportSettings(_Model):
    out_dir: Path | None = Field(None, description="where the site is written; default: report/ beside the database")
    base_url: str | None = Field(None, description="where the site is served: mails link to its pages")
    top: int = Field(10, ge=1, le=1000, description="how many offenders each table lists")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith("https://") or v.startswith("http://")):
            raise ValueError("base_url must start with https:// (or http://)")
        return v if v is None or v.endswith("/") else v + "/"


class Team(_Model):
    name: str
    profile: str = "microservice"
    email: str | None = None
    repos: list[str] = Field(default_factory=list, description="fnmatch globs on repository names")
    images: list[str] = Field(default_factory=list, description="fnmatch globs on registry/repository")
    codeowners: list[str] = Field(default_factory=list, description="CODEOWNERS handles of the team (@org/team)")
    policies: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per policy: parameter values, severity, enabled"
    )

    @field_validator("repos", "images")
    @classmethod
    def _globs(cls, v: list[str]) -> list[str]:
        for g in v:  # fnmatch: `*` crosses `/`, so `**` is only a longer `*` here
            problem = glob_problem(g, any_depth=True)
            if problem:
                raise ValueError(f"{g!r}: {problem}" if g.strip() else problem)
        return v

    @field_validator("codeowners", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v is None else _address(v)

    @field_validator("name")
    @classmethod
    def _reserved(cls, v: str) -> str:
        if v == "unowned":
            raise ValueError("'unowned' is the team of subjects no team owns; pick another name")
        if not v.strip():
            raise ValueError("a team needs a name")
        return v


class Override(_Model):
    """Another owner, profile or parameter values for some subjects (the first matching entry applies)."""

    repos: list[str] = Field(default_factory=list, description="globs on repository names")
    paths: list[str] = Field(default_factory=list, description="globs on paths inside those repositories")
    images: list[str] = Field(default_factory=list, description="globs on registry/repository[:tag]")
    team: str | None = None
    profile: str | None = None
    policies: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _says_something(self) -> Override:
        if not (self.repos or self.images):
            raise ValueError("an override names `repos` (optionally with `paths`) or `images`")
        if self.paths and not self.repos:
            raise ValueError("`paths` applies inside `repos`: give both")
        if self.team is None and self.profile is None and not self.policies:
            raise ValueError("an override sets `team`, `profile` or `policies`")
        return self


class ProfileDef(_Model):
    description: str = ""
    extends: str | None = Field(None, description="a profile whose values this one starts from")
    policies: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Waiver(_Model):
    policy: str
    subject: str = Field(description="glob on the subject: repo, repo/path, repo/path#service, registry/repo:tag")
    team: str | None = None
    reason: str
    author: str
    expires: date

    @field_validator("reason", "author")
    @classmethod
    def _said(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("required: say who decided and why")
        return v


class Config(_Model):
    database: Path = Path("hullcheck.duckdb")
    cache_dir: Path | None = Field(None, description="git mirror cache; default: ~/.cache/hullcheck")
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, gt=0)
    concurrency: int = Field(4, ge=1, le=64)
    git_timeout_seconds: int = Field(600, ge=1)
    write_batch_repos: int = Field(50, ge=1, description="repositories written per database transaction")
    database_wait_seconds: float = Field(
        600, ge=0, description="how long a writer waits for another audit to finish before it gives up"
    )
    database_memory_limit: str = Field(
        "128MB", pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$", description="DuckDB's memory before it spills to disk"
    )
    sources: Sources = Field(default_factory=Sources)
    teams: list[Team] = Field(default_factory=list)
    registries: list[RegistrySource] = Field(default_factory=list)
    layouts: list[LayoutSource] = Field(default_factory=list, description="images exported to disk")
    profiles: dict[str, ProfileDef] = Field(default_factory=dict, description="profiles added or overridden")
    overrides: list[Override] = Field(default_factory=list)
    waivers: list[Waiver] = Field(default_factory=list)
    max_waiver_days: int = Field(180, ge=1, description="a waiver may not expire later than this from today")
    policies_dir: Path | None = Field(None, description="the org's own policies (same format as policies/)")
    email: EmailSettings | None = Field(None, description="the weekly mails: sender, org digest, SMTP relay")
    report: ReportSettings = Field(default_factory=ReportSettings)

    # Not part of the file: where it came from, to resolve relative paths and to stamp runs.
    source_path: Path | None = Field(None, exclude=True)
    source_hash: str = Field("", exclude=True)
    _git_repos: list[RepoSpec] = PrivateAttr(default_factory=list)
    _layouts: list[LayoutSpec] = PrivateAttr(default_factory=list)
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)
    _source: str = PrivateAttr("<config>")

    @model_validator(mode="after")
    def _waivers_bounded(self) -> Config:
        latest = date.today() + timedelta(days=self.max_waiver_days)
        for i, w in enumerate(self.waivers):
            if w.expires > latest:
                raise ValueError(
                    f"waivers[{i}] ({w.policy} on {w.subject}) expires {w.expires}, later than the maximum "
                    f"waiver length allows ({self.max_waiver_days} days: {latest}); waivers are decisions to revisit"
                )
        return self

    def where(self, *loc: Any) -> str:
        """`file:line: key.path` of a config key, for errors found after loading (unknown profile, policy …)."""
        line = _nearest_line(self._lines, loc)
        source = self._source
        return f"{source}:{line}: {_format_loc(loc)}" if line else f"{source}: {_format_loc(loc)}"

    @property
    def policies_path(self) -> Path | None:
        return self.resolve(self.policies_dir) if self.policies_dir is not None else None

    def resolve(self, p: Path) -> Path:
        p = Path(os.path.expanduser(str(p)))
        if p.is_absolute() or self.source_path is None:
            return p
        return self.source_path.parent / p

    def resolve_sources(self) -> None:
        """Expand globs and relative paths into ready specs; refuse two repositories with one name.

        What a glob finds that cannot be audited (no directory at all, a folder that is no repository)
        becomes a spec with a `problem`: the audit records it as a failed row and ends partial."""
        specs: list[RepoSpec] = []
        for i, src in enumerate(self.sources.git):
            if src.url is not None:
                url = src.url
                if "://" not in url and not url.startswith("git@"):
                    url = str(self.resolve(Path(url)))
                specs.append(RepoSpec(clean_text(src.name or repo_name(url)), url, src.ref))
            else:
                specs += self._expand_git_glob(i, src)
        seen: dict[str, RepoSpec] = {}
        for s in specs:
            first = seen.get(s.name)
            if first is not None and first != s:
                if first.problem is None and s.problem is None:
                    raise ConfigError(
                        f"two sources are both named '{s.name}' ({first.display_url} ref {first.ref or 'HEAD'} and "
                        f"{s.display_url} ref {s.ref or 'HEAD'}); give one of them a `name:` (a url) or the glob "
                        f"a `name_from:` (parent, or a regex) in sources.git"
                    )
                # A failure row gives the name up to the repository and is named by its path instead.
                if first.problem is not None:
                    del seen[s.name]
                    seen[first.url] = replace(first, name=clean_text(first.url))
                else:
                    s = replace(s, name=clean_text(s.url))
            seen[s.name] = s
        self._git_repos = list(seen.values())
        layouts: list[LayoutSpec] = []
        for i, layout in enumerate(self.layouts):
            pattern = str(self.resolve(Path(layout.path)))
            if not any(c in pattern for c in GLOB_CHARS):
                layouts.append(LayoutSpec(Path(pattern), layout))  # a missing path fails as a row, saying so
                continue
            paths = [Path(p) for p in sorted(glob.glob(pattern))]
            problem = f"layout {pattern}: the glob matched no file or directory ({self.where('layouts', i, 'path')})"
            layouts += [LayoutSpec(p, layout) for p in paths] or [LayoutSpec(Path(pattern), layout, problem)]
        self._layouts = layouts

    def _expand_git_glob(self, i: int, src: GitSource) -> list[RepoSpec]:
        """The repositories of one `path_glob`, named as its `name_from` says; failure specs for what is not."""
        pattern = str(self.resolve(Path(src.path_glob or "")))
        matched = sorted(glob.glob(pattern))
        folders = [p for p in matched if os.path.isdir(p)]
        if not folders:
            files = f" (only {len(matched)} file{'s' if len(matched) != 1 else ''})" if matched else ""
            where = self.where("sources", "git", i, "path_glob")
            return [RepoSpec(f"path_glob:{src.path_glob}", pattern, src.ref,
                             f"path_glob {pattern} matched no directory{files} ({where})")]  # fmt: skip
        specs = []
        for path in folders:
            # A directory name that is not UTF-8 names the repository in valid text (U+FFFD).
            name = clean_text(self._name_from(i, src, path))
            if _is_git_repository(path):
                specs.append(RepoSpec(name, path, src.ref))
            else:
                problem = f"{path}: not a git repository (no .git in it, not a bare repository), matched by path_glob"
                specs.append(RepoSpec(name, path, src.ref, problem))
        return specs

    def _name_from(self, i: int, src: GitSource, path: str) -> str:
        how = src.name_from or "basename"
        if how == "basename":
            return repo_name(path)
        if how == "parent":
            return repo_name(os.path.dirname(path.rstrip("/"))) or repo_name(path)
        found = re.search(how, path)
        if found is None or not found.group(1):
            what = "does not match" if found is None else "matches with an empty group in"
            raise ConfigError(
                f"{self.where('sources', 'git', i, 'name_from')}: the regular expression {how!r} {what} {path}, "
                f"one of the folders path_glob {src.path_glob} matches: it cannot name that repository"
            )
        return found.group(1)

    def require_sources(self) -> None:
        """A config that names no source would audit nothing and stay green: refused before a run is recorded."""
        if not (self._git_repos or self.registries or self._layouts):
            raise ConfigError(f"{self.where('sources')}: nothing to audit: the config names no git source "
                              "(sources.git), registry (registries) or image layout (layouts)")  # fmt: skip

    @property
    def git_repos(self) -> list[RepoSpec]:
        """Every git repository the config names, with its report name."""
        return self._git_repos

    def select_repos(self, only: list[str] | None) -> list[RepoSpec]:
        """The repositories to audit: all of them, or those whose name matches one of the `only` globs."""
        if not only:
            return self._git_repos
        chosen = [s for s in self._git_repos if any(fnmatch.fnmatch(s.name, g) for g in only)]
        if not chosen:
            raise ConfigError(f"no configured repository matches --only {' '.join(only)}")
        return chosen

    @property
    def layout_specs(self) -> list[LayoutSpec]:
        """Image layouts and archives on disk, globs expanded (a glob matching nothing stays, with its `problem`)."""
        return self._layouts

    @property
    def database_path(self) -> Path:
        return self.resolve(self.database)

    @property
    def report_path(self) -> Path:
        """Where `hullcheck report` writes the site (and `--dry-run` the mails, under `mail/`)."""
        if self.report.out_dir is not None:
            return self.resolve(self.report.out_dir)
        return self.database_path.parent / "report"

    @property
    def cache_path(self) -> Path:
        if self.cache_dir is not None:
            return self.resolve(self.cache_dir)
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        return Path(base) / "hullcheck"


def _is_git_repository(path: str) -> bool:
    """A work tree (a `.git` folder, or a `.git` file of a linked work tree or submodule) or a bare repository."""
    return os.path.exists(os.path.join(path, ".git")) or os.path.isfile(os.path.join(path, "HEAD"))


def _line_index(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    """Map each key path (as pydantic reports it in `loc`) to its 1-based line."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[(*path, key)] = k.start_mark.line + 1
            _line_index(v, (*path, key), out)
            out[(*path, key)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), out)


def _nearest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_config(text: str, source: str = "<config>", path: Path | None = None) -> Config:
    """Validate config text and resolve its sources; every problem is reported as `file:line: key: message`.

    Relative paths are resolved against `path`'s directory (the config file), else the current one.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if data is None or data == {}:
        raise ConfigError(
            f"{source}:1: the config is empty: it names nothing to audit (sources.git, registries or layouts); "
            "start from the commented hullcheck.yaml of the hullcheck repository, or run `hullcheck demo`"
        )
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the config must be a mapping of keys (database, sources, teams, …)")
    lines: dict[tuple[Any, ...], int] = {}
    if root is not None:
        _line_index(root, (), lines)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            line = _nearest_line(lines, loc)
            where = f"{source}:{line}" if line else source
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check its spelling and indentation)"
            problems.append(f"{where}: {_format_loc(loc)}: {msg}")
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems)) from None
    cfg._lines, cfg._source = lines, source
    _unique_team_names(cfg)
    cfg.source_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
    cfg.source_path = path.resolve() if path is not None else None
    cfg.resolve_sources()
    return cfg


def _unique_team_names(cfg: Config) -> None:
    """Checked after validation, when lines are known: the error names the duplicate's line, and the first's."""
    first: dict[str, int] = {}
    for i, t in enumerate(cfg.teams):
        if t.name in first:
            line = _nearest_line(cfg._lines, ("teams", first[t.name], "name"))
            before = f" (first at line {line})" if line else ""
            raise ConfigError(f"{cfg.where('teams', i, 'name')}: team '{t.name}' is defined twice{before}")
        first[t.name] = i


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigNotFound(f"{path}: no such config file (pass --config, or run `hullcheck demo`)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config: {e}") from None
    return parse_config(text, str(path), path)
