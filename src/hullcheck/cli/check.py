"""`hullcheck check`: the CI gate. Exit 1 only when the selection got worse than its baseline."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import typer

from hullcheck.cli.common import EXIT_OK, EXIT_PARTIAL, fail, shown
from hullcheck.store import Store


def run_check(config_path: Path, database: Path | None, baseline: str, run: int | None, fail_on: str,
              min_severity: str, team: str | None, repo: str | None, path: Path | None) -> int:  # fmt: skip
    from hullcheck.config import load_config
    from hullcheck.policy.gate import SEVERITY_ORDER, as_dicts, judge

    if min_severity not in SEVERITY_ORDER:
        raise fail(f"unknown severity {min_severity!r}: use {', '.join(SEVERITY_ORDER)}")
    if fail_on not in ("new", "any"):
        raise fail(f"unknown --fail-on {fail_on!r}: use new or any")
    if path is not None and repo is None:
        raise fail("--path needs --repo NAME: the repository the working tree is a checkout of")
    if path is not None and run is not None:
        raise fail("--path audits the working tree: --run does not apply")
    cfg = load_config(config_path) if path is not None or database is None else None
    db = database if database is not None else cfg.database_path  # type: ignore[union-attr]
    if path is None and not db.exists():
        raise fail(f"no database at {db}: run `hullcheck audit` first")
    with Store.open(db, read_only=True) if db.exists() else contextlib.nullcontext() as store:
        runs = [int(r[0]) for r in store.query("gate_runs")] if store else []
        if path is None:
            if not runs:
                raise fail("no evaluated run yet (run `hullcheck audit` first)")
            current_id = run if run is not None else runs[0]
            if current_id not in runs:
                raise fail(f"run {current_id} has no evaluation (see `hullcheck runs`)")
            earlier = runs[runs.index(current_id) + 1 :]
        else:
            current_id, earlier = None, runs
        base_id = _baseline(baseline, earlier, runs)
        base = as_dicts(store.query("gate_findings", [base_id, team, repo])) if store and base_id else []
        current = as_dicts(store.query("gate_findings", [current_id, team, repo])) if current_id else []
    if path is not None:
        from hullcheck.worktree import audit_worktree

        assert cfg is not None and repo is not None
        done = audit_worktree(cfg, path, repo)
        current = [f for f in as_dicts(done.findings) if team is None or f["team"] == team]
        label = f"the working tree {path} (as {repo}, {done.files} files)"
    else:
        label = f"run {current_id}"
    verdict = judge(current, base, min_severity, fail_on)
    against = f"run {base_id}" if base_id else "no baseline (nothing to compare with: every finding is new)"
    scope = ", ".join(x for x in (f"team {team}" if team else "", f"repository {repo}" if repo else "") if x)
    typer.echo(shown(f"{label} against {against}{' — ' + scope if scope else ''}; findings at or above "
                     f"{min_severity}: {len(verdict.new)} new, {len(verdict.resolved)} resolved, "
                     f"{verdict.unchanged} unchanged"))  # fmt: skip
    if verdict.failed:
        what = "new" if fail_on == "new" else "open"
        typer.echo(f"FAILED: {len(verdict.failing)} {what} finding(s) at or above {min_severity}:")
        for f in verdict.failing:
            typer.echo(_line(f))
        return EXIT_PARTIAL
    for f in verdict.resolved:
        typer.echo(_line(f, "resolved"))
    typer.echo("passed: nothing got worse" if fail_on == "new" else f"passed: no open finding at {min_severity}+")
    return EXIT_OK


def _baseline(baseline: str, earlier: list[int], runs: list[int]) -> int | None:
    """`latest`: the newest evaluated run before the one checked (with --path: the newest); else a run id."""
    if baseline == "latest":
        return earlier[0] if earlier else None
    try:
        chosen = int(baseline)
    except ValueError:
        raise fail(f"--baseline {baseline!r}: use latest or a run id (see `hullcheck runs`)") from None
    if chosen not in runs:
        raise fail(f"baseline run {chosen} has no evaluation (see `hullcheck runs`)")
    return chosen


def _line(f: dict[str, Any], state: str | None = None) -> str:
    from hullcheck.policy.gate import where

    tag = f"{state}: " if state else ""
    return shown(f"  {tag}{f['severity'].upper()} {f['policy_id']} {where(f)} (team {f['team']}): {f['message']}")
