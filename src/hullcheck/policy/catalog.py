"""The policy catalog: one policy is three files with one id (`policies/<id>.yaml`,
`sql/policies/<id>.sql`, `tests/cases/policies/<id>.yaml`), plus `policies/profiles.yaml`.

Loaded and validated as a whole: a policy missing its SQL or its cases, an unknown parameter
type, a default that does not parse, a profile naming an unknown policy or parameter are all
refused with the file, line and key. An org adds its own policies in `policies_dir` (same format,
cases beside them in `<policies_dir>/cases/`); an org policy cannot silently replace a shipped one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hullcheck.assets import policies_dir, policy_cases_dir, sql_dir
from hullcheck.errors import ConfigError
from hullcheck.policy.units import PARAM_TYPES, SEVERITIES, parse_value, show_value

SubjectKind = Literal["repo", "dockerfile", "compose_service", "image"]
SUBJECT_KINDS: tuple[str, ...] = ("repo", "dockerfile", "compose_service", "image")
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
CATEGORIES = ("fat-images", "light-images", "long-builds", "complex-builds", "compose-habits", "tooling", "security")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParamSpec(_Strict):
    type: str
    default: Any
    description: str
    unit: str | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {v!r} (one of {', '.join(PARAM_TYPES)})")
        return v


class Equivalents(_Strict):
    hadolint: list[str] = Field(default_factory=list)
    dockle: list[str] = Field(default_factory=list)
    trivy: list[str] = Field(default_factory=list)
    kics: list[str] = Field(default_factory=list)
    checkov: list[str] = Field(default_factory=list)


class PolicyFile(_Strict):
    id: str
    title: str
    category: str
    subject: list[SubjectKind]
    severity: str
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    rationale: str
    instead: str
    references: list[str] = Field(default_factory=list)
    equivalents: Equivalents = Field(default_factory=Equivalents)
    enabled: bool = True

    @field_validator("subject", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("id")
    @classmethod
    def _id_form(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("a policy id is lower-case words joined by '-' (e.g. image-size-budget)")
        return v

    @field_validator("severity")
    @classmethod
    def _severity(cls, v: str) -> str:
        if v not in SEVERITIES:
            raise ValueError(f"not a severity ({', '.join(SEVERITIES)})")
        return v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in CATEGORIES:
            raise ValueError(f"unknown category (one of {', '.join(CATEGORIES)})")
        return v


@dataclass(frozen=True)
class Policy:
    """One policy, its three files read and checked."""

    meta: PolicyFile
    defaults: dict[str, Any]  # parameter -> parsed default
    sql: str
    yaml_path: Path
    sql_path: Path
    cases_path: Path | None  # None for a draft (load_policy)
    origin: str  # "catalog", the org's policies_dir, or "draft"

    @property
    def id(self) -> str:
        return self.meta.id

    def show(self, key: str, value: Any) -> str:
        return show_value(self.meta.params[key].type, value)


@dataclass
class Profile:
    name: str
    description: str
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # policy -> param -> parsed value
    origin: str = "catalog"


@dataclass
class Catalog:
    policies: dict[str, Policy]
    profiles: dict[str, Profile]
    version: str  # hash of every file the catalog was read from: findings record it

    def get(self, policy_id: str) -> Policy:
        try:
            return self.policies[policy_id]
        except KeyError:
            raise ConfigError(f"unknown policy '{policy_id}' (see `hullcheck policies list`)") from None


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML: {getattr(e, 'problem', e)}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None


def _key_line(path: Path, key: str) -> str:
    """`file:line` of a top-level or nested key, for errors (best effort: the first line naming it)."""
    try:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(rf"^\s*{re.escape(key)}\s*:", line):
                return f"{path}:{n}"
    except OSError:
        pass
    return str(path)


def load_policy(yaml_path: Path, sql_path: Path, cases_path: Path | None, origin: str = "catalog") -> Policy:
    """One policy from its files. `cases_path=None` is a draft (`policies simulate --policy-file`): tried
    over stored runs, never part of a catalog, so it needs no cases yet."""
    data = _yaml(yaml_path)
    if not isinstance(data, dict):
        raise ConfigError(f"{yaml_path}:1: a policy file is a mapping (id, title, category, subject, …)")
    try:
        meta = PolicyFile.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = _key_line(yaml_path, str(err["loc"][-1])) if err["loc"] else str(yaml_path)
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{where}: {loc}: {msg}") from None
    if meta.id != yaml_path.stem:
        raise ConfigError(f"{_key_line(yaml_path, 'id')}: id '{meta.id}' differs from the file name '{yaml_path.stem}'")
    missing = [str(p) for p in (sql_path, cases_path) if p is not None and not p.is_file()]
    if missing:
        raise ConfigError(
            f"policy '{meta.id}' is incomplete: a policy is three files with one id; missing {', '.join(missing)}"
        )
    defaults = {}
    for key, spec in meta.params.items():
        try:
            defaults[key] = parse_value(spec.type, spec.default)
        except ValueError as e:
            raise ConfigError(f"{_key_line(yaml_path, key)}: params.{key}.default: {e}") from None
    return Policy(meta, defaults, sql_path.read_text(encoding="utf-8"), yaml_path, sql_path, cases_path, origin)


def policy_values(policy: Policy, values: Any, where: str) -> dict[str, Any]:
    """A mapping of parameter values (also `severity` and `enabled`) for one policy, parsed and checked."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: the values for policy '{policy.id}' must be a mapping of parameter: value")
    out: dict[str, Any] = {}
    for key, raw in values.items():
        if key == "enabled":
            kind = "bool"
        elif key == "severity":
            kind = "severity"
        elif key in policy.meta.params:
            kind = policy.meta.params[key].type
        else:
            known = ", ".join([*policy.meta.params, "severity", "enabled"])
            raise ConfigError(f"{where}: policy '{policy.id}' has no parameter '{key}' (it has: {known})")
        try:
            out[key] = parse_value(kind, raw)
        except ValueError as e:
            raise ConfigError(f"{where}: {policy.id}.{key}: {e}") from None
    return out


def _load_profiles(path: Path, policies: dict[str, Policy]) -> dict[str, Profile]:
    data = _yaml(path) or {}
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
        raise ConfigError(f"{path}:1: expected a top-level `profiles:` mapping")
    out: dict[str, Profile] = {}
    for name, body in data["profiles"].items():
        body = body or {}
        if not isinstance(body, dict) or set(body) - {"description", "policies"}:
            raise ConfigError(f"{_key_line(path, str(name))}: profile '{name}' takes `description` and `policies`")
        profile = Profile(str(name), str(body.get("description", "")))
        for pid, values in (body.get("policies") or {}).items():
            if pid not in policies:
                raise ConfigError(
                    f"{_key_line(path, str(pid))}: profile '{name}' sets values for unknown policy '{pid}'"
                )
            profile.values[pid] = policy_values(policies[pid], values, _key_line(path, str(pid)))
        out[profile.name] = profile
    return out


def _merge_profile_parts(base: Path, profiles: dict[str, Profile], policies: dict[str, Policy]) -> list[Path]:
    """`policies/profiles.d/<id>.yaml`: one policy's values per profile (`{microservice: {param: value}}`)."""
    parts = sorted((base / "profiles.d").glob("*.yaml"))
    for path in parts:
        pid = path.stem
        if pid not in policies:
            raise ConfigError(f"{path}: names no policy of the catalog (the file is named after the policy id)")
        for name, values in (_yaml(path) or {}).items():
            if name not in profiles:
                raise ConfigError(f"{_key_line(path, str(name))}: unknown profile '{name}'")
            parsed = policy_values(policies[pid], values, _key_line(path, str(name)))
            profiles[name].values.setdefault(pid, {}).update(parsed)
    return parts


def _policy_files(base: Path, sql_base: Path, cases_base: Path, origin: str) -> list[Policy]:
    found = []
    for path in sorted(base.glob("*.yaml")):
        if path.name == "profiles.yaml":
            continue
        found.append(load_policy(path, sql_base / f"{path.stem}.sql", cases_base / f"{path.stem}.yaml", origin))
    return found


def load_catalog(org_dir: Path | None = None) -> Catalog:
    """The shipped catalog, plus an org's policies (`policies_dir`: `<id>.yaml`, `<id>.sql`, `cases/<id>.yaml`)."""
    base = policies_dir()
    policies = {p.id: p for p in _policy_files(base, sql_dir() / "policies", policy_cases_dir(), "catalog")}
    if org_dir is not None:
        if not org_dir.is_dir():
            raise ConfigError(f"{org_dir}: policies_dir is not a directory")
        for p in _policy_files(org_dir, org_dir, org_dir / "cases", str(org_dir)):
            if p.id in policies:
                raise ConfigError(
                    f"{p.yaml_path}: policy '{p.id}' already exists in the shipped catalog; pick another id"
                )
            policies[p.id] = p
    profiles = _load_profiles(base / "profiles.yaml", policies)
    parts = _merge_profile_parts(base, profiles, policies)
    digest = hashlib.sha256()
    for p in sorted(policies.values(), key=lambda p: p.id):
        for f in (p.yaml_path, p.sql_path):
            digest.update(f.read_bytes())
    for f in [base / "profiles.yaml", *parts]:
        digest.update(f.read_bytes())
    return Catalog(policies, profiles, digest.hexdigest()[:12])
