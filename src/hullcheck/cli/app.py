"""The `hullcheck` command. Heavy modules are imported inside each command: start-up stays light
(`hullcheck sql` never loads git, the HTTP stack or Prefect)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hullcheck.cli import db, policies, registry
from hullcheck.cli.common import EXIT_ERROR, ConfigOpt, DatabaseOpt, database_path, error, fail
from hullcheck.errors import HullcheckError

app = typer.Typer(
    help="Audit how an organization builds and ships its containers: git + registries -> DuckDB -> reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(registry.app, name="registry")
app.add_typer(policies.app, name="policies")
app.add_typer(db.app, name="db")


def _parse_date(value: str) -> datetime:
    from hullcheck.dates import parse_as_of

    try:
        return parse_as_of(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO timestamp") from None


@app.command()
def audit(
    config: ConfigOpt = Path("hullcheck.yaml"),
    as_of: Annotated[
        str | None,
        typer.Option(help="Audit each repo as of this date (YYYY-MM-DD, UTC end of day): backfills history."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Audit only git repositories whose name matches this glob (repeatable); skips registries."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, only the summary.")] = False,
) -> None:
    """Crawl every configured repository, extract its build files into the database, and record a run.

    Exit status: 0 when every repository was audited, 1 when some failed (the run is
    'partial' and says which), 2 on a config or fatal error.
    """
    from hullcheck.cli.audit import run_audit_command

    when = _parse_date(as_of) if as_of else None
    raise typer.Exit(run_audit_command(config, when, only, quiet))


@app.command()
def backfill(
    weeks: Annotated[int, typer.Option(help="How far back: the last N weeks of git history.", min=1, max=520)] = 12,
    every: Annotated[
        str, typer.Option(help="One as-of audit per period of this length: 7d (ISO weeks), 1d, 2w.")
    ] = "7d",
    config: ConfigOpt = Path("hullcheck.yaml"),
) -> None:
    """Audit git history as of the end of each past period, oldest first, and evaluate each: the first
    report then has a trend. Idempotent: moments already audited are skipped.

    Registries and image layouts are not read (they cannot be read as they were in the past).
    Exit status: 0 when every audit was ok, 1 when one was partial, 2 on an error."""
    from hullcheck.cli.audit import run_backfill_command

    raise typer.Exit(run_backfill_command(config, weeks, every))


@app.command()
def sql(
    query: Annotated[str | None, typer.Argument(help="SQL to run; see docs/schema.md for the views.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the SQL from this file.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """Run ad-hoc SQL on the audit database (read-only). Examples live in sql/examples/.

    With no query and no --file, opens the DuckDB shell on the database, read-only (`.help` inside)."""
    if query is None and file is None:
        from hullcheck.cli.sql import open_shell

        raise typer.Exit(open_shell(database_path(config, database)))
    if query is not None and file is not None:
        raise fail("give either a query or --file FILE.sql, not both")
    if fmt not in ("table", "csv", "json"):
        raise fail(f"unknown format {fmt!r}: use table, csv or json")
    text = query if query is not None else _read_text(file)
    from hullcheck.cli.sql import run_sql

    raise typer.Exit(run_sql(database_path(config, database), text, fmt))


def _read_text(path: Path | None) -> str:
    assert path is not None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise fail(f"{path}: {e.strerror}") from None


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="How many of the newest runs to show.")] = 20,
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """List audit runs, newest first, with their status and counts."""
    from hullcheck.cli.sql import list_runs

    raise typer.Exit(list_runs(database_path(config, database), limit))


FormatOpt = Annotated[str, typer.Option("--format", help="table, csv or json.")]


@app.command()
def findings(
    team: Annotated[str | None, typer.Option(help="Only this team's findings.")] = None,
    policy: Annotated[str | None, typer.Option(help="Only this policy's findings.")] = None,
    severity: Annotated[
        str | None, typer.Option(help="At least this severity: info, warning, error, critical.")
    ] = None,
    new: Annotated[bool, typer.Option("--new", help="Only findings new (or reopened) in that run.")] = False,
    waived: Annotated[bool, typer.Option("--waived/--no-waived", help="Include waived findings.")] = False,
    run: Annotated[int | None, typer.Option(help="A run id; default: the newest evaluated run.")] = None,
    fmt: FormatOpt = "table",
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """The findings of a run, most severe first, with the fingerprint prefix `explain` takes."""
    from hullcheck.cli.findings import list_findings

    _check_format(fmt)
    raise typer.Exit(list_findings(database_path(config, database), run, team, policy, severity, new, waived, fmt))


@app.command()
def explain(
    fingerprint: Annotated[str, typer.Argument(help="A finding's fingerprint, or its first characters.")],
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """Why a finding fired: evidence, owner and how ownership was decided, each parameter and its source."""
    from hullcheck.cli.findings import explain as explain_finding

    typer.echo(explain_finding(database_path(config, database), fingerprint))


@app.command()
def evaluate(
    run: Annotated[int | None, typer.Option(help="The run to evaluate; default: the newest committed run.")] = None,
    config: ConfigOpt = Path("hullcheck.yaml"),
) -> None:
    """Evaluate a stored run again with the current catalog and config (recorded as a new evaluation).

    Exit status: 0 when every policy ran, 1 when some could not be evaluated, 2 on an error."""
    from hullcheck.cli.findings import evaluate as evaluate_stored

    raise typer.Exit(evaluate_stored(config, run))


@app.command()
def waivers(
    fmt: FormatOpt = "table",
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """Waivers as of the newest evaluation: expired, expiring within 14 days, stale (matching nothing), active."""
    from hullcheck.cli.findings import list_waivers

    _check_format(fmt)
    raise typer.Exit(list_waivers(database_path(config, database), fmt))


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "csv", "json"):
        raise fail(f"unknown format {fmt!r}: use table, csv or json")


@app.command()
def report(
    week: Annotated[
        str | None, typer.Option(help="The ISO week to report, e.g. 2026-W48; default: the newest.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the site; default: report/ beside the database.")
    ] = None,
    weeks: Annotated[int, typer.Option(help="How many weeks of trend to show.", min=1, max=260)] = 12,
    email: Annotated[
        bool, typer.Option("--email", help="Send the weekly mails (SMTP settings in the config).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --email: write .eml files instead of sending.")
    ] = False,
    config: ConfigOpt = Path("hullcheck.yaml"),
) -> None:
    """Render the static report site (org, team, policy and finding pages, charts, Markdown, CSV) and,
    with --email, the weekly mails: one per team and the org digest.

    Exit status: 0 when done, 1 when some mail could not be delivered, 2 on an error."""
    from hullcheck.cli.report import run_report_command

    raise typer.Exit(run_report_command(config, week, out, weeks, email, dry_run))


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to create the demo org.")] = Path("demo"),
) -> None:
    """The whole job on a demo organization, no server needed: creates it (git repos with ten weeks of
    history, exported images), backfills ten weekly audits, audits it now, renders the report site and
    writes the weekly mails as .eml files. Run it again: nothing is audited twice."""
    from hullcheck.cli.demo import run_demo

    raise typer.Exit(run_demo(directory))


def main() -> None:
    try:
        app()
    except HullcheckError as e:
        error(str(e))
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
