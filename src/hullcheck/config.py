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
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from hullcheck.config_report import AlertSettings as AlertSettings
from hullcheck.config_report import EmailSettings as EmailSettings
from hullcheck.config_report import ReportSettings as ReportSettings
from hullcheck.config_report import SmtpSettings as SmtpSettings
from hullcheck.config_report import mail_address as _address
from hullcheck.config_sources import GLOB_CHARS as GLOB_CHARS
from hullcheck.config_sources import NAME_FROM_WORDS as NAME_FROM_WORDS
from hullcheck.config_sources import GitSource as GitSource
from hullcheck.config_sources import LayoutSource as LayoutSource
from hullcheck.config_sources import LayoutSpec as LayoutSpec
from hullcheck.config_sources import RegistryCredentials as RegistryCredentials
from hullcheck.config_sources import RegistrySource as RegistrySource
from hullcheck.config_sources import Sources as Sources
from hullcheck.config_sources import StrictModel as _Model
from hullcheck.config_sources import glob_problem as glob_problem
from hullcheck.errors import ConfigError, ConfigNotFound
from hullcheck.extract.files import DEFAULT_MAX_FILE_BYTES
from hullcheck.sources.specs import RepoSpec, repo_name
from hullcheck.store_values import clean_text


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
    write_batch_repos: int = Field(
        500, ge=1, description="repositories written per database transaction (at most 30 s of crawl apart)"
    )
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
    alerts: AlertSettings = Field(default_factory=AlertSettings)

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
