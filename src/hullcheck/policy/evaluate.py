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
copies in the evaluation's scratch database holding only the facts in effect for the evaluated
run, under the same names and columns: each is computed once, and each policy plans and scans
small flat tables. The subjects are numbered and their facts gathered in SQL from those copies;
Python decides owners (globs, CODEOWNERS, lineage) and sends back one decision id per subject.

One policy that fails (a SQL error) is recorded in `policy_errors` and the others still run.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from hullcheck import __version__
from hullcheck.assets import read_sql
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
from hullcheck.policy.waivers import Pragma, parse_pragma
from hullcheck.store import Store
from hullcheck.store_scratch import Scratch, Worker


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


Publish = Callable[["Evaluation"], None]


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
    written in one transaction with `publish(evaluation)` (which makes the run visible): the run and its
    findings appear together. Never inside a caller's transaction.

    Two worker cursors do the work side by side, in a scratch database, before that transaction begins
    (store_scratch.py says why and how): the scoped copies of the fact views, the subjects and their
    owners, then the policies, five to a statement. A statement that fails is run again one policy at a
    time; a policy whose SQL fails is that policy's error row and the others still run. Out of memory,
    the limit is raised and the step runs again."""
    started = time.monotonic()
    catalog = catalog or load_catalog(cfg.policies_path)
    situations = resolve_situations(catalog, cfg)
    # The findings wait in the log for the checkpoint the writer's publish makes anyway (Store docs).
    with (
        store.at_least_memory(_evaluation_memory(store, run_id)),
        store.checkpoint_at_publish(),
        store.scratch(WORKERS) as scratch,
    ):
        work = _more_memory_on_failure(store, lambda: prepare(scratch, cfg, run_id, catalog, situations))
        failed = run_catalog(store, scratch, work.runnable)
        day = today or date.today()
        _more_memory_on_failure(store, lambda: finish_findings(scratch, cfg, catalog, work, day))
        ev = _more_memory_on_failure(store, lambda: _write(store, cfg, run_id, catalog, work, failed, trigger,
                                                           day, publish, started))  # fmt: skip
    ev.seconds = time.monotonic() - started
    return ev


# Cursors working side by side: DuckDB runs each small statement on one thread (store_scratch.py).
WORKERS = min(4, max(2, os.cpu_count() or 2))


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


R = TypeVar("R")


def _more_memory_on_failure(store: Store, step: Callable[[], R]) -> R:
    """`step()`, run again with twice the memory limit while it runs out of memory (up to the ceiling)."""
    while True:
        try:
            return step()
        except Exception as e:
            if Store.out_of_memory(e) and store.raise_memory_limit():
                continue
            raise


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


def finish_findings(scratch: Scratch, cfg: Config, catalog: Catalog, work: Work, today: date) -> None:
    """The findings as they are stored, in scratch table `final_findings`: fingerprints and the waiver
    that applies on `today` (config waivers, then `# hadolint ignore=` pragmas). Before the writer's
    transaction, so that it only copies; `policies simulate` reads the table instead."""
    _tables(scratch, cfg, catalog, work)
    scratch.workers[0].execute("eval_final_findings", [today])


def _tables(scratch: Scratch, cfg: Config, catalog: Catalog, work: Work) -> None:
    """The small tables the findings join: policy equivalents, parameters shown, waivers, pragmas."""
    w = scratch.workers[0]
    meta = [[p.id, list(p.meta.equivalents.hadolint)] for p in sorted(catalog.policies.values(), key=lambda p: p.id)]
    w.table("policy_meta", [("policy_id", "VARCHAR"), ("hadolint", "VARCHAR[]")], meta)
    w.table("params_json", [("policy_id", "VARCHAR"), ("situation", "VARCHAR"), ("params", "VARCHAR")], work.shown)
    waivers = [[i, v.policy, v.subject, v.team, v.reason, v.author, v.expires] for i, v in enumerate(cfg.waivers)]
    w.table("config_waivers", WAIVER_COLUMNS, waivers)
    w.table("pragmas", PRAGMA_COLUMNS, [[p.repo, p.path, p.line, sorted(p.codes)] for p in work.pragmas])


def _write(store: Store, cfg: Config, run_id: int, catalog: Catalog, work: Work, failed: dict[str, str],
           trigger: str, today: date, publish: Publish | None, started: float) -> Evaluation:  # fmt: skip
    ev = Evaluation(0, run_id, [ErrorRow(p, e) for p, e in sorted(failed.items())])
    ev.subjects, ev.policies = work.subjects, len(work.runnable) - len(failed)
    with store.transaction():
        if publish is not None:
            publish(ev)
        params = [run_id, trigger, catalog.version, cfg.source_hash, __version__]
        ev.evaluation_id = eid = int(store.query("next_evaluation", params)[0][0])
        teams = [TeamRow(t.name, t.profile, t.email, t.repos, t.images, t.codeowners) for t in cfg.teams]
        store.insert("eval_teams", teams, evaluation_id=eid)
        store.execute("eval_write_subjects", [eid])
        store.insert("eval_params", work.param_rows, evaluation_id=eid)
        store.execute("eval_write_findings", [eid])
        store.execute("eval_write_policy_params", [eid])
        store.insert("eval_errors", ev.errors, evaluation_id=eid)
        store.execute("eval_write_waivers", [eid, today])
        for severity, open_, waived in store.query("eval_counts", [eid]):
            ev.by_severity[severity] = int(open_)
            ev.findings += int(open_) + int(waived)
            ev.waived += int(waived)
        done = [ev.policies, ev.subjects, ev.findings, len(ev.errors), int((time.monotonic() - started) * 1000), eid]
        store.execute("finish_evaluation", done)
    return ev


WAIVER_COLUMNS = [("waiver_index", "INTEGER"), ("policy_id", "VARCHAR"), ("subject", "VARCHAR"), ("team", "VARCHAR"),
                  ("reason", "VARCHAR"), ("author", "VARCHAR"), ("expires", "DATE")]  # fmt: skip
PRAGMA_COLUMNS = [("repo", "VARCHAR"), ("path", "VARCHAR"), ("line", "INTEGER"), ("codes", "VARCHAR[]")]


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


# Policies per statement: planned together, and DuckDB runs the branches side by side; the workers run one
# statement each at a time. Ten per statement held every branch's working set together (past 300 MB at
# 100,000 instructions for all 30); five on two cursors is as fast, and each failure reruns fewer.
_BATCH = 5


def run_catalog(store: Store, scratch: Scratch, policies: list[tuple[Policy, dict[str, Effective]]],
                only: set[str] | None = None) -> dict[str, str]:  # fmt: skip
    """The policies' SELECTs (those in `only`, when given) as `INSERT … UNION ALL` statements of `_BATCH`
    each, each branch reading its own parameters as `params`, taken by the workers from one queue. Values
    are bound, never formatted in. Returns the policies that failed, with DuckDB's words: a statement that
    fails (a policy's SQL, or memory) runs again one policy at a time, on the same worker, which finds which."""
    indexed = [(k, p) for k, p in enumerate(policies) if only is None or p[0].id in only]
    batches = [indexed[k : k + _BATCH] for k in range(0, len(indexed), _BATCH)]
    failed: dict[str, str] = {}
    for errors in scratch.run([_batch(store, b) for b in batches]):
        failed.update(errors)
    return failed


def _batch(
    store: Store, batch: list[tuple[int, tuple[Policy, dict[str, Effective]]]]
) -> Callable[[Worker], dict[str, str]]:
    def run(w: Worker) -> dict[str, str]:
        try:
            w.select(*_statement([(k, p) for k, (p, _) in batch]))
            return {}
        except Exception:  # which policy failed, if one did: one at a time, each with what memory it needs
            pass
        errors = {}
        for k, (policy, _) in batch:
            try:  # (the writer's connection raises the limit: its thread waits for the workers meanwhile)
                _more_memory_on_failure(store, lambda k=k, policy=policy: w.select(*_statement([(k, policy)])))
            except Exception as e:  # a policy's SQL failing is that policy's error, not the audit's
                errors[policy.id] = _words(e)
        return errors

    return run


def _statement(policies: list[tuple[int, Policy]]) -> tuple[str, list[Any]]:
    parts, values = [], []
    for k, policy in policies:
        n = len(values)
        select = _FINDING.format(pid=n + 1, severity=n + 2, sql=policy.sql.rstrip().rstrip(";"))
        parts.append(f"(WITH params AS (SELECT * FROM params_{k}) {select})")
        values += [policy.id, policy.meta.severity]
    return "INSERT INTO policy_findings\n" + "\nUNION ALL\n".join(parts), values


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
