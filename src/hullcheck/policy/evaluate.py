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

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from hullcheck import __version__
from hullcheck.config import Config
from hullcheck.policy.catalog import Catalog, Policy, load_catalog
from hullcheck.policy.prepare import Work, prepare
from hullcheck.policy.situations import Effective, resolve_situations
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


def _words(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:500]


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
