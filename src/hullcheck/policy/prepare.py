"""What an evaluation's policies read, made in its scratch database before they run: the fact views
copied with only the facts in effect for the run (`COPIES`, then the views built on them), the subjects
with their owners and situations (`decide_owners`: globs, CODEOWNERS, lineage, decided in Python, one
decision id per subject sent back), and each policy's typed `params` table.

`policies simulate` prepares for some policies only (`only`): then just the views those policies reach
(`needed_views`), and it runs them again under another config (`reparametrize`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hullcheck.assets import read_sql
from hullcheck.config import Config
from hullcheck.policy.catalog import Catalog, Policy
from hullcheck.policy.ownership import (
    CodeownersRule,
    Owners,
    Subject,
    effective_codeowners,
    parse_codeowners_rule,
)
from hullcheck.policy.situations import Effective, Situation, Situations
from hullcheck.policy.units import SQL_TYPES, show_value
from hullcheck.policy.waivers import Pragma, parse_pragma
from hullcheck.store_scratch import Scratch, Worker


@dataclass(slots=True)
class ParamRow:
    situation: str
    team: str
    profile: str
    override_index: int | None
    policy_id: str
    key: str
    value: str
    value_json: str
    source: str
    set_by: str


@dataclass
class Work:
    """What the policies read, made in the scratch database, and what the evaluation writes from it."""

    situations: list[Situation]
    subjects: int
    pragmas: list[Pragma]
    runnable: list[tuple[Policy, dict[str, Effective]]]
    param_rows: list[ParamRow]
    shown: list[list[str]]  # policy, situation, params JSON


def prepare(scratch: Scratch, cfg: Config, run_id: int, catalog: Catalog, situations: Situations,
            only: set[str] | None = None) -> Work:  # fmt: skip
    """The scoped copies of the fact views, the subjects with their owners, and each policy's `params`.
    With `only` (`policies simulate`), just what those policies read: the copies their SQL and the
    subjects' reach through the views (`needed_views`), and their parameters."""
    scratch.show_run(run_id)
    needs = None
    if only is not None:
        sqls = [p.sql for p in catalog.policies.values() if p.id in only]
        needs = needed_views(scratch.workers[0], sqls + [read_sql(f"queries/{q}.sql") for q in SUBJECT_SQL])
    copies = [c for c in COPIES if needs is None or c[0] in needs]
    derived = [v for v in (*DERIVED, *WHOLE) if needs is None or v in needs]
    scratch.run([lambda w: w.execute("eval_scope_git", [run_id]), lambda w: w.execute("eval_scope_images", [run_id])])
    scratch.run([_copy(view, scope, keys) for view, scope, keys in copies])
    scratch.each(lambda w: w.shadow(name for name, _, _ in copies))
    owners: list[tuple[list[Situation], int, list[Pragma]]] = []

    def subjects(w: Worker) -> None:
        w.execute("eval_subject_facts")
        used, count = decide_owners(w, cfg, set(situations.profiles))
        owners.append((used, count, [parse_pragma(*row) for row in w.query("eval_pragmas")]))

    # The views built on the copies (stage_bases walks every stage chain) beside the owners (Python).
    tasks: list[Callable[[Worker], None]] = [subjects]
    if "stage_bases" in derived:
        tasks.insert(0, _copy("stage_bases", "scope_git", GIT_KEYS))
    rest = [v for v in derived if v != "stage_bases"]
    if rest:
        tasks.append(lambda w: _derived_rest(w, rest))
    scratch.run(tasks)
    scratch.each(lambda w: w.shadow(derived))
    used, count, pragmas = owners[0]
    work = Work(used, count, pragmas, [], [], [])
    for policy in sorted(catalog.policies.values(), key=lambda p: p.id):
        effective = {s.key: situations.effective(policy, s) for s in used}
        if only is None:
            for s in used:
                work.param_rows += _param_rows(policy, s, effective[s.key])
                work.shown.append([policy.id, s.key, _params_json(policy, s, effective[s.key])])
        work.runnable.append((policy, effective))
    w = scratch.workers[0]
    w.execute("eval_tables")
    for k, (policy, effective) in enumerate(work.runnable):
        if only is None or policy.id in only:
            w.table(f"params_{k}", *_params_table(policy, effective))
    return work


# What the subjects and their owners are gathered from (prepare): always copied.
SUBJECT_SQL = ("eval_subject_facts", "eval_subject_inputs", "eval_codeowners", "eval_pragmas", "eval_subjects")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def needed_views(w: Worker, sqls: list[str]) -> set[str]:
    """Every name the statements `sqls` reach: the names they use and, through each public view they use,
    the names its definition uses (a view read by a policy reads the copies of what it is built on)."""
    views = dict(w.view_definitions())
    todo = {n for text in sqls for n in _NAME.findall(text.lower())}
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo |= set(_NAME.findall(views.get(name, "").lower())) - seen
    return seen


def reparametrize(scratch: Scratch, work: Work, situations: Situations, catalog: Catalog,
                  only: set[str]) -> list[tuple[Policy, dict[str, Effective]]]:  # fmt: skip
    """The runnable policies under other situations (another config): `only`'s `params` tables made again,
    its findings cleared, for `run_catalog(..., only)` to run them once more on the same copies."""
    runnable = []
    w = scratch.workers[0]
    for k, (policy, _) in enumerate(work.runnable):
        policy = catalog.policies.get(policy.id, policy)
        effective = {s.key: situations.effective(policy, s) for s in work.situations}
        runnable.append((policy, effective))
        if policy.id in only:
            w.table(f"params_{k}", *_params_table(policy, effective))
    w.select("DELETE FROM policy_findings")
    return runnable


def _copy(view: str, scope: str | None, keys: tuple[str, ...]) -> Callable[[Worker], None]:
    return lambda w: w.copy(view, scope, keys)


def _derived_rest(w: Worker, views: list[str]) -> None:
    if "dockerfile_shipped_stages" in views:
        w.copy("dockerfile_shipped_stages", "scope_git", GIT_KEYS)
    for view in WHOLE:  # after the image copies: it reads them, through this worker's shadows
        if view in views:
            w.copy(view)


# The fact views a policy reads, copied once per evaluation with only the rows of the subjects in effect
# (same names, same columns): each policy then plans and scans small flat tables, and the catalog costs one
# pass over the history, not one per policy. `DERIVED` views are built on the copy of `dockerfile_stages`.
GIT_SCOPED = (
    "repo_files",
    "dockerfiles",
    "dockerfile_stages",
    "dockerfile_instructions",
    "dockerfile_packages",
    "dockerfile_vars",
    "dockerfile_copies",
    "compose_projects",
    "compose_services",
    "repo_signals",
)
IMAGE_SCOPED = ("image_manifests", "image_layers", "image_history", "image_lineage", "image_files_summary")
DERIVED = ("stage_bases", "dockerfile_shipped_stages")  # views over the copies above, copied in turn
# Views read by several policies that no subject scopes (what the layer scans of the org's images found,
# which bases are judged by): computed once per evaluation, whole.
WHOLE = ("latest_image_files_summary",)
GIT_KEYS = ("run_id", "repo")
IMAGE_KEYS = ("run_id", "registry", "repository", "tag")
# The copies the workers take from one queue, the largest first (at 100,000 instructions, 140 ms for the
# instructions down to ~10 ms), so that neither waits long for the other at the end.
_LARGEST_FIRST = ("dockerfile_instructions", "compose_services", "dockerfile_stages", "repo_files",
                  "dockerfile_packages", "image_lineage", "dockerfile_copies", "dockerfiles")  # fmt: skip
COPIES = sorted(
    [(v, "scope_git", GIT_KEYS) for v in GIT_SCOPED] + [(v, "scope_images", IMAGE_KEYS) for v in IMAGE_SCOPED],
    key=lambda c: _LARGEST_FIRST.index(c[0]) if c[0] in _LARGEST_FIRST else len(_LARGEST_FIRST),
)


def _params_table(policy: Policy, effective: dict[str, Effective]) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    """The typed `params` a policy's SQL joins: one row per situation in which it is enabled."""
    specs = policy.meta.params
    columns = [("situation", "VARCHAR"), ("severity", "VARCHAR")]
    columns += [(k, SQL_TYPES[spec.type]) for k, spec in specs.items()]
    rows = [
        [key, e.severity.value, *(e.params[k].value for k in specs)] for key, e in effective.items() if e.enabled.value
    ]
    return columns, rows


def _param_rows(policy: Policy, s: Situation, e: Effective) -> list[ParamRow]:
    out = []
    for key, setting in e.all().items():
        kind = "bool" if key == "enabled" else "severity" if key == "severity" else policy.meta.params[key].type
        out.append(ParamRow(s.key, s.team, s.profile, s.override, policy.id, key, show_value(kind, setting.value),
                            json.dumps(setting.value), setting.source, setting.where))  # fmt: skip
    return out


def _params_json(policy: Policy, s: Situation, e: Effective) -> str:
    """The `params` of every finding of this policy in this situation: the values that applied and their sources."""
    values = {k: {"value": policy.show(k, v.value), "source": v.source, "set_by": v.where} for k, v in e.params.items()}
    return json.dumps({"situation": s.key, "team": s.team, "profile": s.profile, "values": values})


def decide_owners(store: Worker, cfg: Config, profiles: set[str]) -> tuple[list[Situation], int]:
    """Decide the owner and profile of every subject in `subject_facts` and make the `subjects` table.
    Python decides (globs, CODEOWNERS, lineage); DuckDB gets back one decision id per subject, since
    a few distinct decisions cover thousands of subjects. Returns the situations in use and the count."""
    owners = Owners(cfg, profiles)
    rules: dict[str, list[CodeownersRule]] = {}
    for repo, path, line, detail in store.query("eval_codeowners"):
        rule = parse_codeowners_rule(path, line, detail)
        if rule is not None:
            rules.setdefault(repo, []).append(rule)
    effective = {repo: effective_codeowners(r) for repo, r in rules.items()}
    decisions: dict[tuple[str, str, int | None, str, str], int] = {}
    ids: list[int] = []
    # A file of a repository without CODEOWNERS is decided like its repository when no override names
    # paths: one decision per repository, not per file (most of an org).
    by_repo: dict[str, int] = {}
    per_path = any(o.paths for o in cfg.overrides)
    rows = store.query("eval_subject_inputs")
    for sid, kind, repo, path, registry, repository, tag, label_team, label_profile, lineage in rows:
        same_as_repo = kind != "image" and not per_path and repo not in effective
        if same_as_repo and repo in by_repo:
            ids.append(by_repo[repo])
            continue
        s = Subject(sid, kind, "", repo=repo, path=path, registry=registry, repository=repository, tag=tag)
        owners.decide(s, effective.get(repo or "", []), label_team=label_team, label_profile=label_profile,
                      lineage_repo=lineage)  # fmt: skip
        ids.append(decisions.setdefault((s.team, s.profile, s.override, s.decided_by, s.profile_by), len(decisions)))
        if same_as_repo:
            by_repo[repo] = ids[-1]
    store.table("subject_decisions", [("subject_id", "INTEGER"), ("decision_id", "INTEGER")],
                     by_column=[[r[0] for r in rows], ids])  # fmt: skip
    table = [[i, team, profile, Situation(team, profile, override).key, by, profile_by]
             for (team, profile, override, by, profile_by), i in decisions.items()]  # fmt: skip
    store.table("decisions", DECISION_COLUMNS, table)
    store.execute("eval_subjects")
    return sorted({Situation(team, profile, override) for team, profile, override, _, _ in decisions}), len(rows)


DECISION_COLUMNS = [("decision_id", "INTEGER"), ("team", "VARCHAR"), ("profile", "VARCHAR"), ("situation", "VARCHAR"),
                    ("decided_by", "VARCHAR"), ("profile_by", "VARCHAR")]  # fmt: skip
