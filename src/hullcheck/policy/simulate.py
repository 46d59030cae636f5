"""What-if over history: the stored runs judged again by a changed config or catalog, nothing written.

"If we lowered the microservice image budget to 200 MB, who would fail, and since when?" Every run's
facts are kept, so a change is replayed over past runs without a crawl: each run is evaluated exactly as
`hullcheck evaluate` would evaluate it under the changed config (the same `prepare`, policies and
fingerprints), but in the evaluation's scratch database only, on a connection to the published
snapshot attached read-only (`Store.open_analysis`): the database file is never written.

Both sides are evaluated today, so that what differs is the change's doing: "before" with the current
config and catalog, "after" with the changed ones (and the stored evaluation's counts beside them).
Only what can change is evaluated: when the change names policies only (their parameters in a team or a
profile, or a drafted policy) and a run's stored evaluation was made with the current catalog and
config, only those policies run, twice on one preparation that copies only what they read, and the
other policies' stored findings stand in on both sides; otherwise the whole catalog runs, twice.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from hullcheck.config import Config, parse_config
from hullcheck.errors import ConfigError
from hullcheck.policy.catalog import Catalog, load_policy
from hullcheck.policy.evaluate import WORKERS, _evaluation_memory, finish_findings, run_catalog
from hullcheck.policy.prepare import prepare, reparametrize
from hullcheck.policy.situations import resolve_situations
from hullcheck.store import Store

FINDING = ("fingerprint", "policy_id", "severity", "team", "subject", "message", "waived")
# A key that changes only some policies' parameters: teams.<team>.policies.<policy>.<key> or
# profiles.<profile>[.policies].<policy>.<key>; anything else (a team's profile, its globs) can move
# every subject to another situation.
_POLICY_KEY = re.compile(r"^(teams\.[^.]+\.policies|profiles\.[^.]+(\.policies)?)\.(?P<policy>[a-z][a-z0-9-]*)\.")


@dataclass
class Change:
    run_id: int
    week: str
    team: str
    change: str  # fires | stops
    policy_id: str
    subject: str
    severity: str
    message: str
    fingerprint: str


@dataclass
class RunResult:
    run_id: int
    effective_at: datetime
    week: str
    before: dict[str, int]  # team -> open findings evaluated today with the current config and catalog
    after: dict[str, int]  # team -> open findings evaluated today with the changed ones
    stored: dict[str, int]  # team -> open findings of the stored evaluation (what the reports showed)
    reevaluated: str  # "changed policies" or "all policies"


@dataclass
class Simulation:
    runs: list[RunResult] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # policy -> DuckDB's words (a draft that fails)
    affected: list[str] | None = None  # the policies evaluated again where stored findings could be reused
    seconds: float = 0.0


# -- the changed config and catalog ---------------------------------------------------------------
def apply_settings(text: str, pairs: list[str], source: str) -> tuple[str, set[str] | None]:
    """The config text with `KEY=VALUE` settings applied (keys are the config's own paths; a value is
    read as YAML: `200MB`, `true`, `[a, b]`), and the policies they touch (None: possibly every one)."""
    data = yaml.safe_load(text) or {}
    touched: set[str] | None = set()
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"--set {pair!r}: expected KEY=VALUE, e.g. profiles.microservice.image-size-budget.max_bytes=200MB"
            )
        value = yaml.safe_load(raw) if raw.strip() else raw
        _set(data, key.split("."), value, key)
        m = _POLICY_KEY.match(key)
        if m is None:
            touched = None
        elif touched is not None:
            touched.add(m.group("policy"))
    return yaml.safe_dump(data, sort_keys=False), touched


def _set(data: dict[str, Any], parts: list[str], value: Any, key: str) -> None:
    if parts[0] == "teams":
        if len(parts) < 3:
            raise ConfigError(f"--set {key}: name a team and a key, e.g. teams.payments.profile=monolith")
        teams = data.get("teams") or []
        team = next((t for t in teams if isinstance(t, dict) and t.get("name") == parts[1]), None)
        if team is None:
            known = ", ".join(str(t.get("name")) for t in teams if isinstance(t, dict))
            raise ConfigError(f"--set {key}: the config has no team '{parts[1]}' (it has: {known or 'none'})")
        _nested(team, parts[2:], value)
    elif parts[0] == "profiles":
        if len(parts) < 3:
            raise ConfigError(f"--set {key}: name a profile, a policy and a key, e.g. "
                              "profiles.microservice.image-size-budget.max_bytes=200MB")  # fmt: skip
        rest = parts[2:] if parts[2] in ("policies", "extends", "description") else ["policies", *parts[2:]]
        profile = data.setdefault("profiles", {}).setdefault(parts[1], {})
        _nested(profile, rest, value)
    else:
        _nested(data, parts, value)


def _nested(node: dict[str, Any], parts: list[str], value: Any) -> None:
    for p in parts[:-1]:
        child = node.get(p)
        if not isinstance(child, dict):
            child = node[p] = {}
        node = child
    node[parts[-1]] = value


def changed_config(cfg: Config, pairs: list[str]) -> tuple[Config, set[str] | None]:
    """The config as it would be with the settings, validated like the file (errors name the key)."""
    if cfg.source_path is None:
        raise ConfigError("--set needs the config file (pass --config)")
    text = Path(cfg.source_path).read_text(encoding="utf-8")
    changed, touched = apply_settings(text, pairs, str(cfg.source_path))
    return parse_config(changed, f"{cfg.source_path} with --set", Path(cfg.source_path)), touched


def with_draft(catalog: Catalog, yaml_path: Path, sql_path: Path) -> tuple[Catalog, str]:
    """The catalog with a drafted policy added (or replacing the one of the same id)."""
    draft = load_policy(yaml_path, sql_path, None, "draft")
    policies = {**catalog.policies, draft.id: draft}
    return Catalog(policies, catalog.profiles, f"{catalog.version}+draft-{draft.id}"), draft.id


# -- the simulation -------------------------------------------------------------------------------
def simulate(
    store: Store,
    now: tuple[Config, Catalog],
    changed: tuple[Config, Catalog],
    affected: set[str] | None,
    since: datetime | None,
    every_run: bool = False,
    team: str | None = None,
    today: date | None = None,
) -> Simulation:
    """Each evaluated run since `since` (the last of each ISO week unless `every_run`) evaluated as it would
    be today with the current config and catalog (`now`) and with the `changed` ones, compared per team:
    what differs is the change's doing, not what the org learnt since (an evaluation also reads what is
    known now, e.g. the audited base images). `affected`: the only policies the change can alter (None:
    any); then only those run, twice, on one preparation, and the others' stored findings stand in for
    both sides when the stored evaluation was made with the current catalog and config."""
    started = time.monotonic()
    cfg_now, catalog_now = now
    cfg, catalog = changed
    day = today or date.today()
    sim = Simulation(affected=sorted(affected) if affected is not None else None)
    for run_id, effective_at, week, catalog_version, config_hash in store.query("simulate_runs", [since, every_run]):
        stored = [dict(zip(FINDING, r, strict=True)) for r in store.query("simulate_stored", [run_id])]
        fresh = catalog_version == catalog_now.version and config_hash == cfg_now.source_hash
        if affected is not None and fresh:
            before_aff, after_aff, errors = _evaluate_changed(store, now, changed, int(run_id), affected, day)
            kept = [f for f in stored if f["policy_id"] not in affected]
            before, after = kept + before_aff, kept + after_aff
        else:
            before, _ = _evaluate(store, cfg_now, catalog_now, int(run_id), day)
            after, errors = _evaluate(store, cfg, catalog, int(run_id), day)
        sim.errors.update(errors)
        before_open, after_open = _open(before, team), _open(after, team)
        result = RunResult(int(run_id), effective_at, str(week), _count(before_open), _count(after_open),
                           _count(_open(stored, team)), "changed policies" if affected is not None and fresh
                           else "all policies")  # fmt: skip
        sim.runs.append(result)
        for key in sorted(set(after_open) - set(before_open)):
            sim.changes.append(_change(result, "fires", after_open[key]))
        for key in sorted(set(before_open) - set(after_open)):
            sim.changes.append(_change(result, "stops", before_open[key]))
    sim.seconds = time.monotonic() - started
    return sim


def _evaluate(store: Store, cfg: Config, catalog: Catalog, run_id: int,
              today: date) -> tuple[list[dict[str, Any]], dict[str, str]]:  # fmt: skip
    """The whole catalog over one run, as `hullcheck evaluate` would compute it, read back from the scratch."""
    situations = resolve_situations(catalog, cfg)
    with store.at_least_memory(_evaluation_memory(store, run_id)), store.scratch(WORKERS) as scratch:
        work = prepare(scratch, cfg, run_id, catalog, situations)
        failed = run_catalog(store, scratch, work.runnable)
        finish_findings(scratch, cfg, catalog, work, today)
        rows = scratch.workers[0].query("simulate_findings")
    return [dict(zip(FINDING, r, strict=True)) for r in rows], failed


def _evaluate_changed(store: Store, now: tuple[Config, Catalog], changed: tuple[Config, Catalog], run_id: int,
                      affected: set[str], today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                 dict[str, str]]:  # fmt: skip
    """The `affected` policies over one run, with the changed config and catalog and then with the current
    ones, on one preparation (the change leaves every subject's owner and situation as they were)."""
    (cfg_now, catalog_now), (cfg, catalog) = now, changed
    situations = resolve_situations(catalog, cfg)
    with store.at_least_memory(_evaluation_memory(store, run_id)), store.scratch(WORKERS) as scratch:
        work = prepare(scratch, cfg, run_id, catalog, situations, only=affected)
        failed = run_catalog(store, scratch, work.runnable, affected)
        finish_findings(scratch, cfg, catalog, work, today)
        after = [dict(zip(FINDING, r, strict=True)) for r in scratch.workers[0].query("simulate_findings")]
        existing = {p for p in affected if p in catalog_now.policies}  # a drafted new policy was not there
        runnable = reparametrize(scratch, work, resolve_situations(catalog_now, cfg_now), catalog_now, existing)
        run_catalog(store, scratch, runnable, existing)
        finish_findings(scratch, cfg_now, catalog_now, work, today)
        before = [dict(zip(FINDING, r, strict=True)) for r in scratch.workers[0].query("simulate_findings")]
    return before, after, failed


def _open(findings: list[dict[str, Any]], team: str | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Open findings by team, fingerprint and severity: a finding whose owner or severity changes stops
    for the old team or severity and fires for the new one."""
    return {(f["team"], f["fingerprint"], f["severity"]): f for f in findings
            if not f["waived"] and (team is None or f["team"] == team)}  # fmt: skip


def _count(findings: dict[tuple[str, str, str], dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings.values():
        out[f["team"]] = out.get(f["team"], 0) + 1
    return out


def _change(run: RunResult, change: str, f: dict[str, Any]) -> Change:
    return Change(run.run_id, run.week, f["team"], change, f["policy_id"], f["subject"], f["severity"],
                  f["message"], f["fingerprint"])  # fmt: skip
