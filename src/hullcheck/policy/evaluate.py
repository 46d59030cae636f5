"""Evaluate the catalog over one run: subjects and owners, effective parameters, one SELECT per
policy for every team at once, fingerprints, waivers; everything stored as one evaluation.

The contract of a policy's SQL (`sql/policies/<id>.sql`): it reads the public views and two
tables made for it, `subjects` (this evaluation's subjects: subject_id, subject_kind, subject,
repo, path, service, registry, repository, tag, digest, run_id of their facts, commit_sha, team,
profile, situation) and `params` (one row per situation in which the policy is enabled: situation,
severity, and one typed column per parameter), and returns one row per finding with the columns
subject_id, severity, message, evidence (a struct or JSON), line, stage and key (what tells two
findings on one subject apart; part of the fingerprint): NULL where one does not apply. Values
are never formatted into the SQL: thresholds come from `params` by join.

While the catalog runs, the fact views it reads (`GIT_SCOPED`, `IMAGE_SCOPED`, `DERIVED`) are
connection-local copies holding only the facts in effect for the evaluated run, under the same
names and columns: each is computed once, and each policy plans and scans small flat tables. The
subjects are numbered and their facts gathered in SQL from those copies; Python decides owners
(globs, CODEOWNERS, lineage) and sends back one decision id per subject.

One policy that fails (a SQL error) is recorded in `policy_errors` and the others still run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hullcheck import __version__
from hullcheck.config import Config
from hullcheck.policy.catalog import Catalog, Policy, load_catalog
from hullcheck.policy.ownership import (
    CodeownersRule,
    Owners,
    Subject,
    effective_codeowners,
    parse_codeowners_rule,
)
from hullcheck.policy.situations import Effective, Situation, Situations, resolve_situations
from hullcheck.policy.units import SQL_TYPES, show_value
from hullcheck.policy.waivers import parse_pragma
from hullcheck.store import Store


@dataclass(slots=True)
class TeamRow:
    team: str
    profile: str
    email: str | None
    repos: list[str]
    images: list[str]
    codeowners: list[str]


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


@dataclass(slots=True)
class ErrorRow:
    policy_id: str
    error: str


@dataclass
class Evaluation:
    evaluation_id: int
    run_id: int
    errors: list[ErrorRow] = field(default_factory=list)
    findings: int = 0
    waived: int = 0
    subjects: int = 0
    policies: int = 0
    seconds: float = 0.0
    by_severity: dict[str, int] = field(default_factory=dict)  # open (not waived) findings


class CatalogFailed(Exception):
    """The policies' combined statements failed: a policy's SQL, or memory; run one by one to know."""


class PolicyFailed(Exception):
    def __init__(self, policy_id: str, error: str, out_of_memory: bool = False) -> None:
        super().__init__(policy_id)
        self.policy_id, self.error, self.out_of_memory = policy_id, error, out_of_memory


Publish = Callable[["Evaluation | None"], None]


def evaluate_run(
    store: Store,
    cfg: Config,
    run_id: int,
    catalog: Catalog | None = None,
    trigger: str = "audit",
    today: date | None = None,
    publish: Publish | None = None,
) -> Evaluation:
    """Evaluate the catalog over run `run_id` (its facts as in effect at that run) as a new evaluation,
    in one transaction with `publish(evaluation)` (which makes the run visible): the run and its
    findings appear together. Never inside a caller's transaction.

    The policies run ten to a statement (planned together; DuckDB runs the branches side by side). When
    one fails, the evaluation starts over with one statement per policy (DuckDB has no savepoints: a failed
    statement aborts the transaction), and a policy whose SQL fails is recorded as that policy's error
    and the evaluation starts over without it: one broken policy costs two retries, not the audit."""
    started = time.monotonic()
    catalog = catalog or load_catalog(cfg.policies_path)
    situations = resolve_situations(catalog, cfg)
    failed: dict[str, str] = {}
    one_by_one = False
    # The findings wait in the log for the checkpoint the writer's publish makes anyway (Store docs).
    with store.at_least_memory(_evaluation_memory(store, run_id)), store.checkpoint_at_publish():
        return _evaluate_with_retries(store, cfg, run_id, catalog, situations, trigger, today, publish, failed,
                                      started, one_by_one)  # fmt: skip


# The memory a large org's evaluation is given for itself: at 100,000 instructions (5,400 repositories) a
# policy's joins hold ~200 MB beside the scoped copies, and under the lean default DuckDB evicted the copies
# to disk and read them back for every policy (the first evaluation of a process 1.5-2x slower). Small
# orgs (and hostile corpora of a few hundred repositories with huge files) keep the default, which
# bounds the audit's RSS (tests/test_hostile_inputs.py holds it to 1.5x a plain org's).
LARGE_ORG_REPOS = 2_000
LARGE_ORG_MEMORY = 512 * 1024**2


def _evaluation_memory(store: Store, run_id: int) -> int:
    repos = int(store.query("eval_repo_count", [run_id])[0][0] or 0)
    return LARGE_ORG_MEMORY if repos >= LARGE_ORG_REPOS else 0


def _evaluate_with_retries(store: Store, cfg: Config, run_id: int, catalog: Catalog, situations: Situations,
                           trigger: str, today: date | None, publish: Publish | None, failed: dict[str, str],
                           started: float, one_by_one: bool) -> Evaluation:  # fmt: skip
    while True:
        try:
            with store.transaction():
                ev = _evaluate(store, cfg, run_id, catalog, situations, trigger, today or date.today(), publish,
                               failed, started, one_by_one)  # fmt: skip
        except CatalogFailed:
            # Some policy's SQL fails, or ten side by side need more memory than the limit: one at a
            # time finds which policy, and needs less memory (before any more is asked for).
            one_by_one = True
            continue
        except PolicyFailed as e:
            if e.out_of_memory and store.raise_memory_limit():
                continue  # the data needs more than the lean default: the same policy again, with more
            failed[e.policy_id] = e.error
            continue
        except Exception as e:
            if Store.out_of_memory(e) and store.raise_memory_limit():
                continue  # the scoped copies or the writes need more memory than the default
            raise
        ev.seconds = time.monotonic() - started
        return ev


def _evaluate(store: Store, cfg: Config, run_id: int, catalog: Catalog, situations: Situations, trigger: str,
              today: date, publish: Publish | None, failed: dict[str, str], started: float,
              one_by_one: bool) -> Evaluation:  # fmt: skip
    ev = Evaluation(0, run_id, [ErrorRow(p, e) for p, e in sorted(failed.items())])
    if publish is not None:
        publish(None)  # the run visible inside this transaction, so that the views show its facts
    scope_views(store, run_id)
    store.execute("eval_subject_facts")
    used, ev.subjects = decide_owners(store, cfg, set(situations.profiles))
    pragmas = [parse_pragma(*row) for row in store.query("eval_pragmas")]
    store.execute("eval_tables")
    param_rows: list[ParamRow] = []
    meta, shown = [], []
    runnable: list[tuple[Policy, dict[str, Effective]]] = []
    for policy in sorted(catalog.policies.values(), key=lambda p: p.id):
        effective = {s.key: situations.effective(policy, s) for s in used}
        for s in used:
            param_rows += _param_rows(policy, s, effective[s.key])
            shown.append([policy.id, s.key, _params_json(policy, s, effective[s.key])])
        meta.append([policy.id, list(policy.meta.equivalents.hadolint)])
        if policy.id not in failed:
            runnable.append((policy, effective))
    if one_by_one:
        for policy, effective in runnable:
            try:
                run_policy(store, policy, effective)
            except Exception as e:  # a policy's SQL failing is that policy's error, not the audit's
                raise PolicyFailed(policy.id, _words(e), Store.out_of_memory(e)) from None
    else:
        try:
            run_catalog(store, runnable)
        except Exception:
            raise CatalogFailed from None
    ev.policies = len(runnable)
    store.temp_table("policy_meta", [("policy_id", "VARCHAR"), ("hadolint", "VARCHAR[]")], meta)
    store.temp_table("params_json", [("policy_id", "VARCHAR"), ("situation", "VARCHAR"), ("params", "VARCHAR")], shown)
    waivers = [[i, w.policy, w.subject, w.team, w.reason, w.author, w.expires] for i, w in enumerate(cfg.waivers)]
    store.temp_table("config_waivers", WAIVER_COLUMNS, waivers)
    store.temp_table("pragmas", PRAGMA_COLUMNS, [[p.repo, p.path, p.line, sorted(p.codes)] for p in pragmas])
    if publish is not None:
        publish(ev)
    params = [run_id, trigger, catalog.version, cfg.source_hash, __version__]
    ev.evaluation_id = eid = int(store.query("next_evaluation", params)[0][0])
    teams = [TeamRow(t.name, t.profile, t.email, t.repos, t.images, t.codeowners) for t in cfg.teams]
    store.insert("eval_teams", teams, evaluation_id=eid)
    store.execute("eval_write_subjects", [eid])
    store.insert("eval_params", param_rows, evaluation_id=eid)
    store.execute("eval_write_findings", [eid, today])
    store.execute("eval_write_policy_params", [eid])
    store.insert("eval_errors", ev.errors, evaluation_id=eid)
    store.execute("eval_write_waivers", [eid, today])
    for severity, open_, waived in store.query("eval_counts", [eid]):
        ev.by_severity[severity] = int(open_)
        ev.findings += int(open_) + int(waived)
        ev.waived += int(waived)
    done = [ev.policies, ev.subjects, ev.findings, len(ev.errors), int((time.monotonic() - started) * 1000), eid]
    store.execute("finish_evaluation", done)
    # The connection sees the public views again (an audit queries on after this).
    store.drop_scoped([*SCOPED, *(f"params_{k}" for k in range(len(runnable)))])
    return ev


WAIVER_COLUMNS = [("waiver_index", "INTEGER"), ("policy_id", "VARCHAR"), ("subject", "VARCHAR"), ("team", "VARCHAR"),
                  ("reason", "VARCHAR"), ("author", "VARCHAR"), ("expires", "DATE")]  # fmt: skip
PRAGMA_COLUMNS = [("repo", "VARCHAR"), ("path", "VARCHAR"), ("line", "INTEGER"), ("codes", "VARCHAR[]")]


# The fact views a policy reads, copied once per evaluation with only the rows of the subjects in effect
# (same names, same columns), in dependency order: `DERIVED` views are built on the copy of `dockerfile_stages`.
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
SCOPED = (*GIT_SCOPED, *IMAGE_SCOPED, *DERIVED, *WHOLE)


def scope_views(store: Store, run_id: int) -> None:
    """Each policy's SQL then plans and runs against small flat tables instead of the views over every run:
    the catalog costs one pass over the history, not one per policy."""
    store.execute("eval_scope_git", [run_id])
    store.execute("eval_scope_images", [run_id])
    copies = [(v, "scope_git", ("run_id", "repo")) for v in GIT_SCOPED]
    copies += [(v, "scope_images", ("run_id", "registry", "repository", "tag")) for v in IMAGE_SCOPED]
    copies += [(v, "scope_git", ("run_id", "repo")) for v in DERIVED]
    for view, scope, keys in copies:
        store.scoped_copy(view, scope, keys)
    for view in WHOLE:
        store.scoped_copy(view)


def _words(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:500]


def _params_table(policy: Policy, effective: dict[str, Effective]) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    """The typed `params` a policy's SQL joins: one row per situation in which it is enabled."""
    specs = policy.meta.params
    columns = [("situation", "VARCHAR"), ("severity", "VARCHAR")]
    columns += [(k, SQL_TYPES[spec.type]) for k, spec in specs.items()]
    rows = [
        [key, e.severity.value, *(e.params[k].value for k in specs)] for key, e in effective.items() if e.enabled.value
    ]
    return columns, rows


# What a policy's rows become in `policy_findings`. By name, so a policy's column order is free; a column it
# lacks is that policy's error, in DuckDB's words. The severity a row gives must be one of the four.
_FINDING = (
    "SELECT ${pid} AS policy_id, CASE WHEN severity IN ('info', 'warning', 'error', 'critical') THEN severity "
    "ELSE ${severity} END AS severity, subject_id, line, stage, message, to_json(evidence)::VARCHAR AS evidence, "
    "key FROM (\n{sql}\n)"
)


# Policies per statement: all 30 at once hold every branch's working set together (past 300 MB at
# 100,000 instructions); ten at a time run as fast within the default memory limit.
_BATCH = 10


def run_catalog(store: Store, policies: list[tuple[Policy, dict[str, Effective]]]) -> None:
    """The policies' SELECTs as a few `INSERT … UNION ALL` statements, each branch reading its own
    parameters as `params`: planned together, and DuckDB runs the branches side by side (30 policies
    at 100,000 instructions, 2 cores: median 1.04 s one statement per policy, 0.83 s ten per statement).
    Values are bound, never formatted in."""
    for k, (policy, effective) in enumerate(policies):
        store.temp_table(f"params_{k}", *_params_table(policy, effective))
    for start in range(0, len(policies), _BATCH):
        parts, values = [], []
        for k in range(start, min(start + _BATCH, len(policies))):
            policy = policies[k][0]
            n = len(values)
            select = _FINDING.format(pid=n + 1, severity=n + 2, sql=policy.sql.rstrip().rstrip(";"))
            parts.append(f"(WITH params AS (SELECT * FROM params_{k}) {select})")
            values += [policy.id, policy.meta.severity]
        store.select("INSERT INTO policy_findings\n" + "\nUNION ALL\n".join(parts), values)


def run_policy(store: Store, policy: Policy, effective: dict[str, Effective]) -> None:
    """One policy's SELECT over every enabled situation at once, its rows added to `policy_findings`
    (they never leave DuckDB: fingerprints, parameters and waivers are joined there too)."""
    store.temp_table("params", *_params_table(policy, effective))
    select = _FINDING.format(pid=1, severity=2, sql=policy.sql.rstrip().rstrip(";"))
    store.select("INSERT INTO policy_findings " + select, [policy.id, policy.meta.severity])


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


def decide_owners(store: Store, cfg: Config, profiles: set[str]) -> tuple[list[Situation], int]:
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
    store.temp_table("subject_decisions", [("subject_id", "INTEGER"), ("decision_id", "INTEGER")],
                     by_column=[[r[0] for r in rows], ids])  # fmt: skip
    table = [[i, team, profile, Situation(team, profile, override).key, by, profile_by]
             for (team, profile, override, by, profile_by), i in decisions.items()]  # fmt: skip
    store.temp_table("decisions", DECISION_COLUMNS, table)
    store.execute("eval_subjects")
    return sorted({Situation(team, profile, override) for team, profile, override, _, _ in decisions}), len(rows)


DECISION_COLUMNS = [("decision_id", "INTEGER"), ("team", "VARCHAR"), ("profile", "VARCHAR"), ("situation", "VARCHAR"),
                    ("decided_by", "VARCHAR"), ("profile_by", "VARCHAR")]  # fmt: skip
