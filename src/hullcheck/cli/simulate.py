"""`hullcheck policies simulate`: a changed config or catalog replayed over the stored runs, nothing written."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from hullcheck.cli.common import fail, shown


def run_simulate(config_path: Path, database: Path | None, settings: list[str], policy_file: Path | None,
                 policy_sql: Path | None, since: str, every_run: bool, team: str | None, fmt: str,
                 show: int) -> int:  # fmt: skip
    from hullcheck.config import load_config
    from hullcheck.policy.catalog import load_catalog
    from hullcheck.policy.simulate import changed_config, simulate, with_draft
    from hullcheck.policy.units import parse_duration
    from hullcheck.store import Store

    if fmt not in ("table", "json"):
        raise fail(f"unknown format {fmt!r}: use table or json")
    if (policy_file is None) != (policy_sql is None):
        raise fail("a drafted policy is two files: give both --policy-file FILE.yaml and --policy-sql FILE.sql")
    if not settings and policy_file is None:
        raise fail("nothing to simulate: give --set KEY=VALUE (the config's own paths) or a drafted policy")
    try:
        cutoff = None if since == "all" else datetime.now(UTC) - timedelta(seconds=parse_duration(since))
    except ValueError as e:
        raise fail(f"--since {since!r}: {e} (or `all`)") from None
    cfg = load_config(config_path)
    catalog = load_catalog(cfg.policies_path)
    new_cfg, affected = changed_config(cfg, settings) if settings else (cfg, set())
    new_catalog = catalog
    if policy_file is not None and policy_sql is not None:
        new_catalog, draft = with_draft(catalog, policy_file, policy_sql)
        affected = None if affected is None else {*affected, draft}
    with Store.open_analysis(database or cfg.database_path) as store:
        sim = simulate(store, (cfg, catalog), (new_cfg, new_catalog), affected, cutoff, every_run, team)
    if not sim.runs:
        raise fail(f"no evaluated run since {since} (see `hullcheck runs`)")
    if fmt == "json":
        doc = {
            "version": 1,
            "settings": settings,
            "draft": str(policy_file) if policy_file else None,
            "affected_policies": sim.affected,
            "runs": [asdict(r) | {"effective_at": r.effective_at.isoformat()} for r in sim.runs],
            "changes": [asdict(c) for c in sim.changes],
            "policy_errors": sim.errors,
            "seconds": round(sim.seconds, 3),
        }
        json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _table(sim, show)
    for pid, err in sim.errors.items():
        typer.echo(shown(f"policy {pid} could not be evaluated: {err}"), err=True)
    return 1 if sim.errors else 0


def _table(sim, show: int) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    table = Table(title="open findings per team and ISO week: today's config → changed (stored: as last evaluated)")
    for name in ("week", "run", "team", "stored", "before", "after", "change", "new", "gone"):
        table.add_column(name, justify="left" if name in ("week", "team") else "right")
    for r in sim.runs:
        for team in sorted(set(r.before) | set(r.after)):
            b, a = r.before.get(team, 0), r.after.get(team, 0)
            fires = sum(1 for c in sim.changes if c.run_id == r.run_id and c.team == team and c.change == "fires")
            stops = sum(1 for c in sim.changes if c.run_id == r.run_id and c.team == team and c.change == "stops")
            table.add_row(r.week, str(r.run_id), shown(team), str(r.stored.get(team, 0)), str(b), str(a), f"{a - b:+d}",
                          str(fires), str(stops))  # fmt: skip
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    # Since when each subject would newly fire (or stop): its first run in the window.
    first: dict[tuple[str, str], object] = {}
    for c in sim.changes:
        first.setdefault((c.change, c.fingerprint), c)
    listed = list(first.values())
    for change in ("fires", "stops"):
        items = [c for c in listed if c.change == change]  # type: ignore[attr-defined]
        if not items:
            continue
        typer.echo(
            f"\nwould {'newly fire' if change == 'fires' else 'stop firing'} ({len(items)}), since the week shown:"
        )
        for c in items[:show]:
            typer.echo(shown(f"  {c.week} {c.severity.upper()} {c.policy_id} {c.subject} (team {c.team}): {c.message}"))  # type: ignore[attr-defined]
        if len(items) > show:
            typer.echo(f"  … and {len(items) - show} more (--show N, or --format json for all)")
    how = (
        "only the changed policies"
        if all(r.reevaluated == "changed policies" for r in sim.runs)
        else "the whole catalog"
    )
    typer.echo(f"\n{len(sim.runs)} run(s) re-evaluated ({how}) in {sim.seconds:.1f}s; nothing was written",
               err=True)  # fmt: skip
