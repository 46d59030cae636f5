"""`hullcheck findings | explain | evaluate | waivers`: what the policies found, and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from hullcheck.cli.common import fail, shown
from hullcheck.errors import NotFound
from hullcheck.store import Result, Store

SEVERITIES = ("info", "warning", "error", "critical")


def list_findings(database: Path, run: int | None, team: str | None, policy: str | None, severity: str | None,
                  new: bool, waived: bool, fmt: str) -> int:  # fmt: skip
    from hullcheck.cli.sql import print_result

    if severity is not None and severity not in SEVERITIES:
        raise fail(f"unknown severity {severity!r}: use {', '.join(SEVERITIES)}")
    with Store.open(database, read_only=True) as store:
        params = [run, team, team, policy, policy, severity, new, waived]
        rows = store.query("findings_list", params)
    columns = ["fingerprint", "severity", "policy", "team", "profile", "subject", "line", "message", "waived",
               "waiver", "run"]  # fmt: skip
    if fmt == "table":
        rows = [(r[0][:12], *r[1:]) for r in rows]  # a prefix is enough for `hullcheck explain`
    print_result(Result(columns, rows), fmt)
    return 0


def explain(database: Path, fingerprint: str) -> str:
    """The finding, its evidence, its owner and how that was decided, each parameter and its source, what to do."""
    from hullcheck.policy.catalog import load_catalog

    with Store.open(database, read_only=True) as store:
        rows = store.query("explain_finding", [fingerprint.strip().lower()])
        if not rows:
            raise NotFoundFinding(
                f"no finding has a fingerprint starting with '{fingerprint}' (see `hullcheck findings`)"
            )
        if len({r[0] for r in rows}) > 1:
            raise NotFoundFinding(f"'{fingerprint}' is the start of several fingerprints: give more characters")
        f = dict(zip(_EXPLAIN, rows[0], strict=True))
        first, nights = store.query("first_seen", [f["fingerprint"]])[0]
    params: dict[str, Any] = json.loads(f["params"] or "{}")
    evidence: dict[str, Any] = json.loads(f["evidence"] or "{}")
    where = f["image"] or f"{f['repo']}/{f['path']}" + (f":{f['line']}" if f["line"] else "")
    if f["service"]:
        where += f" (service {f['service']})"
    out = [
        f"{f['severity'].upper()} {f['policy_id']}: {f['message']}",
        f"  where:    {where}" + (f", stage {f['stage']}" if f["stage"] else ""),
        f"  run:      {f['run_id']} ({f['effective_at']:%Y-%m-%d}); open since {first:%Y-%m-%d} ({nights} run(s))"
        if first
        else f"  run:      {f['run_id']}",
        f"  owner:    team {f['team']} — decided by {f['decided_by']}",
        f"  profile:  {f['profile']} — from {f['profile_by']} (situation {f['situation']})",
    ]
    if f["waived"]:
        until = f" until {f['waiver_expires']}" if f["waiver_expires"] else ""
        out.append(f"  waived:   {f['waiver_reason']}{until} ({f['waived_by']})")
    if evidence:
        out.append("Evidence:")
        out += [f"  {k}: {_value(v)}" for k, v in evidence.items() if v is not None]
    values = params.get("values") or {}
    if values:
        out.append("Parameters that applied:")
        out += [f"  {k} = {v['value']}  ({v['source']}: {v['set_by']})" for k, v in values.items()]
    try:
        policy = load_catalog().get(f["policy_id"])
        out += ["Why it matters:", f"  {policy.meta.rationale.strip()}", "What to do instead:",
                f"  {policy.meta.instead.strip()}"]  # fmt: skip
    except Exception:  # an org policy no longer in the catalog: the stored finding still explains itself
        pass
    out.append(f"Fingerprint {f['fingerprint']} (catalog {f['catalog_version']}, config {f['config_hash']})")
    return shown("\n".join(out))


class NotFoundFinding(NotFound):
    pass


def _value(v: Any) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


_EXPLAIN = ["fingerprint", "run_id", "effective_at", "policy_id", "severity", "team", "profile", "subject_kind",
            "subject", "repo", "path", "line", "stage", "service", "image", "digest", "message", "evidence", "params",
            "waived", "waiver_reason", "waiver_expires", "waived_by", "catalog_version", "config_hash", "decided_by",
            "profile_by", "situation"]  # fmt: skip


def evaluate(config_path: Path, run: int | None) -> int:
    """Re-evaluate a stored run with the current catalog and config, as a new evaluation (the old one is kept)."""
    from hullcheck.audit import load_policies, open_writer
    from hullcheck.config import load_config
    from hullcheck.policy.evaluate import evaluate_run

    cfg = load_config(config_path)
    catalog = load_policies(cfg)
    with open_writer(cfg, "hullcheck evaluate") as store:
        if run is None:
            latest = store.query("latest_committed_run")
            if not latest:
                raise fail("no committed run to evaluate yet (run `hullcheck audit` first)")
            run = int(latest[0][0])
        elif not store.query("run_is_committed", [run])[0][0]:
            raise fail(f"run {run} is not a committed run (see `hullcheck runs`)")
        ev = evaluate_run(store, cfg, run, catalog, trigger="evaluate")
    counts = ", ".join(f"{ev.by_severity.get(s, 0)} {s}" for s in reversed(SEVERITIES))
    typer.echo(f"run {run}: evaluation {ev.evaluation_id} (catalog {catalog.version}) — {ev.findings} findings "
               f"({counts}; waived not counted) over {ev.subjects} subjects, {ev.policies} policies, "
               f"{ev.seconds:.2f}s")  # fmt: skip
    for e in ev.errors:
        typer.echo(shown(f"  policy {e.policy_id} could not be evaluated: {e.error}"), err=True)
    return 1 if ev.errors else 0


def list_waivers(database: Path, fmt: str) -> int:
    from hullcheck.cli.sql import print_result

    with Store.open(database, read_only=True) as store:
        rows = store.query("waivers_list")
    columns = ["#", "status", "policy", "subject", "team", "expires", "matched", "author", "reason"]
    print_result(Result(columns, rows), fmt)
    return 0
