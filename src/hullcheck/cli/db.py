"""`hullcheck db stats` and `hullcheck db prune`: what the database holds, and dropping old runs."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from hullcheck.cli.common import ConfigOpt, DatabaseOpt, database_path, fail

app = typer.Typer(help="The database itself: what it holds, and retention.", no_args_is_help=True)


def _mib(n: int | None) -> str:
    return "—" if n is None else f"{n / 1024**2:,.1f} MiB"


@app.command()
def stats(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """File size, rows per table, runs kept and the oldest run (read from the published snapshot)."""
    from hullcheck.retention import stats as db_stats
    from hullcheck.store import Store

    if fmt not in ("table", "json"):
        raise fail(f"unknown format {fmt!r}: use table or json")
    with Store.open(database_path(config, database), read_only=True) as store:
        s = db_stats(store)
    if fmt == "json":
        out = {"database": str(s.path), "published_bytes": s.published_bytes, "working_file_bytes": s.work_bytes,
               "runs": s.runs, "oldest_effective_at": s.oldest.isoformat() if s.oldest else None,
               "newest_effective_at": s.newest.isoformat() if s.newest else None, "rows": s.rows}  # fmt: skip
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    runs = ", ".join(f"{n} {status}" for status, n in s.runs.items()) or "none"
    typer.echo(f"database      {s.path}  {_mib(s.published_bytes)}  (what readers open)")
    typer.echo(f"working file  {s.path}.work  {_mib(s.work_bytes)}  (the writer's; it becomes the next snapshot)")
    typer.echo(f"runs          {sum(s.runs.values())} kept: {runs}")
    if s.oldest is not None and s.newest is not None:
        typer.echo(f"committed     {s.oldest:%Y-%m-%d} .. {s.newest:%Y-%m-%d} (effective_at)")
    typer.echo("rows per table:")
    width = max((len(t) for t in s.rows), default=0)
    for table, n in sorted(s.rows.items(), key=lambda kv: (-kv[1], kv[0])):
        typer.echo(f"  {table:<{width}}  {n:>12,}")


@app.command()
def prune(
    keep: Annotated[str, typer.Option(help="Keep runs whose effective_at is within this much of now: 400d, 12w.")],
    apply: Annotated[
        bool, typer.Option("--apply", help="Remove for real (default: a dry run that only says).")
    ] = False,
    config: ConfigOpt = Path("hullcheck.yaml"),
) -> None:
    """Drop runs older than --keep, their observations and evaluations, and the facts no kept run references;
    then rewrite the file so it shrinks. Never drops the newest committed run. A dry run unless --apply."""
    from hullcheck.audit import open_writer
    from hullcheck.config import load_config
    from hullcheck.policy.units import parse_duration
    from hullcheck.retention import prune as prune_runs

    try:
        seconds = parse_duration(keep)
    except ValueError as e:
        raise fail(f"--keep {keep!r}: {e}") from None
    if seconds <= 0:
        raise fail("--keep must be more than 0 (the newest run is always kept)")
    cfg = load_config(config)
    with open_writer(cfg, "hullcheck db prune") as store:
        report = prune_runs(store, timedelta(seconds=seconds), apply=apply)
    verb = "removed" if apply else "would remove"
    if not report.runs:
        typer.echo(f"nothing to prune: no run before {report.cutoff:%Y-%m-%d %H:%M} UTC can go")
    else:
        ids = ", ".join(map(str, report.runs[:20])) + (" …" if len(report.runs) > 20 else "")
        typer.echo(f"{verb} {len(report.runs)} run(s) before {report.cutoff:%Y-%m-%d %H:%M} UTC: {ids}")
        for table, n in sorted(report.rows.items(), key=lambda kv: -kv[1]):
            typer.echo(f"  {table}: {n:,} rows")
    if report.kept_old:
        typer.echo(f"kept although older: run(s) {', '.join(map(str, report.kept_old))} (newest committed, or a "
                   "latest_* view rests on them)")  # fmt: skip
    if apply and report.bytes_after is not None:
        typer.echo(f"file: {_mib(report.bytes_before)} -> {_mib(report.bytes_after)}")
    elif report.runs:
        typer.echo("dry run: nothing was changed; add --apply to remove")


@app.command()
def upgrade(config: ConfigOpt = Path("hullcheck.yaml")) -> None:
    """Bring the database up to this version now (the next audit would do it anyway): schema migrations, a
    file written by an older hullcheck rewritten in the storage format DuckDB 1.4 reads, a snapshot published."""
    from hullcheck.audit import open_writer
    from hullcheck.config import load_config
    from hullcheck.store_files import STORAGE_VERSION

    cfg = load_config(config)
    with open_writer(cfg, "hullcheck db upgrade") as store:
        version = store.schema_version()
        rewrote = store.rewrote_storage
    note = f"rewritten in DuckDB {STORAGE_VERSION}'s storage format" if rewrote else "storage format already current"
    typer.echo(f"{cfg.database_path}: schema version {version}, {note}; snapshot published")
