"""Situations and their effective parameters: which values each policy runs with, and why.

A situation is (team, profile, override): the owner of a subject, the workload profile that
applies to it, and the config `overrides:` entry that matched it, if any. Each parameter's
value is decided in layers, the last one that sets it winning, and its source recorded:
`default` (the policy file) < `profile` (policies/profiles.yaml, then the config's `profiles:`)
< `team` (`teams[].policies`) < `override` (`overrides[].policies`).

Everything the config says about policies is checked here against the catalog (an unknown
profile, policy or parameter is a config error naming file and line), once, before a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hullcheck.config import Config
from hullcheck.errors import ConfigError
from hullcheck.policy.catalog import Catalog, Policy, Profile, policy_values

UNOWNED = "unowned"
DEFAULT_PROFILE = "microservice"


@dataclass(frozen=True, order=True)
class Situation:
    team: str
    profile: str
    override: int | None = None  # index in config `overrides:`

    @property
    def key(self) -> str:
        return f"{self.team}/{self.profile}" + (f"/override[{self.override}]" if self.override is not None else "")


@dataclass
class Setting:
    value: Any
    source: str  # default | profile | team | override
    where: str  # the file or config key that set it, in words


@dataclass
class Effective:
    """One policy under one situation: enabled?, severity, each parameter with its source."""

    enabled: Setting
    severity: Setting
    params: dict[str, Setting] = field(default_factory=dict)

    def all(self) -> dict[str, Setting]:
        return {"enabled": self.enabled, "severity": self.severity, **self.params}


@dataclass
class Situations:
    """The catalog's profiles merged with the config's, the config checked, values resolved on demand."""

    catalog: Catalog
    cfg: Config
    profiles: dict[str, Profile]
    team_values: dict[str, dict[str, dict[str, Any]]]  # team -> policy -> values
    override_values: dict[int, dict[str, dict[str, Any]]]

    def effective(self, policy: Policy, s: Situation) -> Effective:
        meta = policy.meta
        src = f"policies/{policy.id}.yaml" if policy.origin == "catalog" else str(policy.yaml_path)
        eff = Effective(Setting(meta.enabled, "default", src), Setting(meta.severity, "default", src))
        for key, value in policy.defaults.items():
            eff.params[key] = Setting(value, "default", src)
        layers: list[tuple[str, str, dict[str, Any]]] = []
        profile = self.profiles[s.profile]
        layers.append(("profile", f"profile {s.profile} ({profile.origin})", profile.values.get(policy.id, {})))
        layers.append(
            ("team", f"team {s.team} (config teams[].policies)", self.team_values.get(s.team, {}).get(policy.id, {}))
        )
        if s.override is not None:
            values = self.override_values.get(s.override, {}).get(policy.id, {})
            layers.append(("override", f"config overrides[{s.override}]", values))
        for source, where, values in layers:
            for key, value in values.items():
                setting = Setting(value, source, where)
                if key == "enabled":
                    eff.enabled = setting
                elif key == "severity":
                    eff.severity = setting
                else:
                    eff.params[key] = setting
        return eff


def _merge_profiles(catalog: Catalog, cfg: Config) -> dict[str, Profile]:
    profiles = {
        n: Profile(p.name, p.description, {k: dict(v) for k, v in p.values.items()})
        for n, p in catalog.profiles.items()
    }
    pending = dict(cfg.profiles)
    while pending:  # `extends` may name a profile defined later in the file
        progressed = False
        for name, body in list(pending.items()):
            base_name = body.extends or (name if name in profiles else None)
            if body.extends is not None and body.extends not in profiles:
                if body.extends in pending:
                    continue
                raise ConfigError(f"{cfg.where('profiles', name, 'extends')}: unknown profile '{body.extends}'")
            base = profiles.get(base_name) if base_name else None
            merged = Profile(name, body.description or (base.description if base else ""), origin="config profiles")
            if base is not None:
                merged.values = {k: dict(v) for k, v in base.values.items()}
            for pid, values in body.policies.items():
                if pid not in catalog.policies:
                    raise ConfigError(f"{cfg.where('profiles', name, 'policies', pid)}: unknown policy '{pid}'")
                parsed = policy_values(catalog.policies[pid], values, cfg.where("profiles", name, "policies", pid))
                merged.values.setdefault(pid, {}).update(parsed)
            profiles[name] = merged
            del pending[name]
            progressed = True
        if not progressed:
            raise ConfigError(f"{cfg.where('profiles')}: profiles extend each other in a cycle: {', '.join(pending)}")
    return profiles


def _values(catalog: Catalog, cfg: Config, policies: dict[str, dict[str, Any]], *loc: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for pid, values in policies.items():
        if pid not in catalog.policies:
            raise ConfigError(f"{cfg.where(*loc, pid)}: unknown policy '{pid}' (see `hullcheck policies list`)")
        out[pid] = policy_values(catalog.policies[pid], values, cfg.where(*loc, pid))
    return out


def resolve_situations(catalog: Catalog, cfg: Config) -> Situations:
    """Check everything the config says about profiles, teams, overrides and waivers against the catalog."""
    profiles = _merge_profiles(catalog, cfg)
    known = ", ".join(sorted(profiles))
    team_names = {t.name for t in cfg.teams}
    team_values = {}
    for i, t in enumerate(cfg.teams):
        if t.profile not in profiles:
            raise ConfigError(f"{cfg.where('teams', i, 'profile')}: unknown profile '{t.profile}' (known: {known})")
        team_values[t.name] = _values(catalog, cfg, t.policies, "teams", i, "policies")
    override_values = {}
    for i, o in enumerate(cfg.overrides):
        if o.profile is not None and o.profile not in profiles:
            raise ConfigError(f"{cfg.where('overrides', i, 'profile')}: unknown profile '{o.profile}' (known: {known})")
        if o.team is not None and o.team not in team_names and o.team != UNOWNED:
            raise ConfigError(f"{cfg.where('overrides', i, 'team')}: unknown team '{o.team}'")
        override_values[i] = _values(catalog, cfg, o.policies, "overrides", i, "policies")
    for i, w in enumerate(cfg.waivers):
        if w.policy not in catalog.policies:
            raise ConfigError(f"{cfg.where('waivers', i, 'policy')}: unknown policy '{w.policy}'")
        if w.team is not None and w.team not in team_names and w.team != UNOWNED:
            raise ConfigError(f"{cfg.where('waivers', i, 'team')}: unknown team '{w.team}'")
    if DEFAULT_PROFILE not in profiles:
        raise ConfigError(f"the profile '{DEFAULT_PROFILE}' (of unowned subjects) is missing from the catalog")
    return Situations(catalog, cfg, profiles, team_values, override_values)
