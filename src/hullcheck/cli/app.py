"""The `hullcheck` command. Heavy modules are imported inside each command: start-up stays light
(`hullcheck sql` never loads git, the HTTP stack or Prefect)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hullcheck.cli import config_check, db, policies, registry
from hullcheck.cli.common import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    ConfigOpt,
    DatabaseOpt,
    FormatOpt,
    check_format,
    database_path,
    error,
    fail,
)
from hullcheck.errors import HullcheckError

app = typer.Typer(
    help="Audit how an organization builds and ships its containers: git + registries -> DuckDB -> reports.\n\n"
    "Exit codes (every command): 0 done; 1 done but partial (a failed source, gate or mail); 2 usage, config "
    "or database error; 3 internal error (see the log it names). Docs: docs/cli.md.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every subcommand
    rich_markup_mode=None,  # plain help, as crane and git print it: copy-pasteable, no box drawing
)
app.add_typer(registry.app, name="registry")
app.add_typer(policies.app, name="policies")
app.add_typer(db.app, name="db")
app.add_typer(config_check.app, name="config")
flow_app = typer.Typer(help="The Prefect flows, run in this process (`hullcheck serve` schedules them).",
                       no_args_is_help=True, add_completion=False)  # fmt: skip
app.add_typer(flow_app, name="flow")


def _version(value: bool) -> None:
    if value:
        from hullcheck import __version__

        typer.echo(f"hullcheck {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log lines on stderr (-v info, -vv debug).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only results and errors: no progress.")] = False,
) -> None:
    import logging

    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"quiet": quiet, "verbose": verbose}


def _parse_date(value: str) -> datetime:
    from hullcheck.dates import parse_as_of

    try:
        return parse_as_of(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO timestamp") from None


@app.command()
def audit(
    ctx: typer.Context,
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
    fmt: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text, or json: the summary as one JSON object.")
    ] = "text",
) -> None:
    """Crawl every configured repository and registry, extract their build files and image metadata into
    the database, evaluate the policies, and record a run.

    Exit status: 0 when every source was audited, 1 when some failed (the run is 'partial' and says
    which), 2 on a config or database error; 143 when stopped (the run is recorded as failed)."""
    from hullcheck.cli.audit import run_audit_command

    if fmt not in ("text", "json"):
        raise fail(f"unknown format {fmt!r}: use text or json")
    when = _parse_date(as_of) if as_of else None
    quiet = quiet or bool(ctx.obj and ctx.obj.get("quiet"))
    raise typer.Exit(run_audit_command(config, when, only, quiet, fmt))


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
    query: Annotated[
        str | None, typer.Argument(metavar="SQL", help="SQL to run; `hullcheck schema` lists the views.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", metavar="FILE", help="Read the SQL from this file; - for stdin.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="NAME=VALUE",
            help="Bind $NAME in the query to VALUE, as text (cast in SQL: CAST($days AS INTEGER)); repeatable.",
        ),
    ] = None,
    fmt: FormatOpt = "table",
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """Run ad-hoc SQL on the audit database (read-only). Examples live in sql/examples/.

    Values given with --param are bound, never pasted into the SQL; a $name without a value, or a
    value the query does not use, is an error (exit 2). Tables show NULL as a dim ∅; csv writes lists
    and structs as JSON; json keeps numbers, booleans and nested values as they are.

    With no query and no --file, opens the DuckDB shell on the database, read-only (`.help` inside)."""
    from hullcheck.cli.sql import parse_params

    try:
        params = parse_params(param or [])
    except ValueError as e:
        raise fail(str(e)) from None
    if query is None and file is None:
        if params:
            raise fail("--param needs a query or --file FILE.sql")
        from hullcheck.cli.sql import open_shell

        raise typer.Exit(open_shell(database_path(config, database)))
    if query is not None and file is not None:
        raise fail("give either a query or --file FILE.sql, not both")
    check_format(fmt)
    text = query if query is not None else _read_text(file)
    if not text.strip():
        raise fail("the query is empty")
    from hullcheck.cli.sql import run_sql

    raise typer.Exit(run_sql(database_path(config, database), text, fmt, params))


def _read_text(path: Path | None) -> str:
    assert path is not None
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise fail(f"{path}: {e.strerror}") from None


@app.command()
def schema(
    view: Annotated[
        str | None, typer.Argument(metavar="VIEW", help="A view: its columns, types and descriptions.")
    ] = None,
    fmt: FormatOpt = "table",
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """The public views of the database with their descriptions, or one view's columns (docs/schema.md).

    Read from the database itself (the descriptions are stored in it as comments, which DBeaver and the
    DuckDB CLI show too); without a database yet, the schema this version of hullcheck creates."""
    from hullcheck.cli.schema import open_schema, show_schema

    check_format(fmt)
    raise typer.Exit(show_schema(open_schema(config, database), view, fmt))


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="How many of the newest runs to show.", min=1)] = 20,
    fmt: FormatOpt = "table",
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """List audit runs, newest first (by the moment audited): status, what each covered, how long it took.

    Columns: repositories (extracted, unchanged, failed), image sources and tags, the --only globs, the
    --as-of moment, the duration, the findings of its newest evaluation and the run's message."""
    from hullcheck.cli.runs import list_runs

    check_format(fmt)
    raise typer.Exit(list_runs(database_path(config, database), limit, fmt))


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

    check_format(fmt)
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

    check_format(fmt)
    raise typer.Exit(list_waivers(database_path(config, database), fmt))


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="sarif, json or csv.")] = "sarif",
    team: Annotated[str | None, typer.Option(help="Only this team's findings.")] = None,
    repo: Annotated[str | None, typer.Option(help="Only this repository's findings (as in `repos`).")] = None,
    run: Annotated[int | None, typer.Option(help="A run id; default: the newest evaluated run.")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="File to write (a directory with --split-by); default: standard output.",
        ),
    ] = None,
    split_by: Annotated[
        str | None, typer.Option("--split-by", metavar="repo", help="One file per repository, in --output DIR.")
    ] = None,
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """A run's findings, waived ones included, for code scanning (SARIF 2.1.0), scripts (JSON, shape in
    docs/findings.schema.json) or spreadsheets (CSV, the `findings` view's columns).

    Each finding carries its state against the evaluated run before it: new, unchanged, or absent
    (gone since). For a code-scanning upload, export one repository (--repo) or one file per
    repository (--split-by repo --output DIR)."""
    from hullcheck.cli.export import run_export

    raise typer.Exit(run_export(config, database, fmt, team, repo, run, output, split_by))


@app.command()
def check(
    baseline: Annotated[
        str,
        typer.Option(
            metavar="latest|RUN",
            help="What to compare with: `latest` (the newest evaluated run "
            "before the one checked; with --path, the newest) or a run id.",
        ),
    ] = "latest",
    fail_on: Annotated[
        str,
        typer.Option(
            metavar="new|any", help="new: fail only on findings not open in the baseline; any: on every open finding."
        ),
    ] = "new",
    min_severity: Annotated[
        str, typer.Option(help="Count findings at or above this severity: info, warning, error, critical.")
    ] = "warning",
    team: Annotated[str | None, typer.Option(help="Only this team's findings.")] = None,
    repo: Annotated[str | None, typer.Option(help="Only this repository's findings (with --path: its name).")] = None,
    run: Annotated[int | None, typer.Option(help="The run to check; default: the newest evaluated run.")] = None,
    path: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Audit this working tree (files on disk, no history) as "
            "repository --repo, and check it against the database's latest findings.",
        ),
    ] = None,
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """The CI gate: exit 1 only when the selection got worse than its baseline (a new, unwaived finding at
    or above --min-severity), 0 otherwise, printing what got worse.

    In a repository's own pipeline or a pre-commit hook: `hullcheck check --path . --repo NAME -c org.yaml`
    judges the checkout under its owning team's situation, so a pull request fails only on what it adds.
    Exit status: 0 passed, 1 got worse, 2 on an error."""
    from hullcheck.cli.check import run_check

    raise typer.Exit(run_check(config, database, baseline, run, fail_on, min_severity, team, repo, path))


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


@app.command("export-db")
def export_db(
    parquet: Annotated[Path, typer.Option(metavar="DIR", help="Write every public view here as Parquet.")],
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """Every public view as Parquet, for a warehouse or any engine: views with a run_id partitioned by run
    (DIR/VIEW/run_id=N/*.parquet), the others one file each, and DIR/_views.json describing them.

    Read from the published snapshot (a running audit is neither waited for nor seen half); DIR is
    replaced whole, never left half written."""
    from hullcheck.store import Store
    from hullcheck.store_export import export_parquet

    with Store.open(database_path(config, database), read_only=True) as store:
        views = export_parquet(store, parquet)
    rows = sum(v.rows for v in views)
    typer.echo(f"wrote {len(views)} views ({rows} rows, {sum(v.partitioned for v in views)} partitioned by run) "
               f"to {parquet}")  # fmt: skip


@flow_app.command("run")
def flow_run(
    name: Annotated[str, typer.Argument(metavar="FLOW", help="nightly-audit or weekly-report.")],
    as_of: Annotated[str | None, typer.Option(help="nightly-audit: audit git history as of this moment.")] = None,
    only: Annotated[list[str] | None, typer.Option(help="nightly-audit: only repositories matching this glob.")] = None,
    week: Annotated[str | None, typer.Option(help="weekly-report: the ISO week; default the newest.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="weekly-report: write .eml files, send nothing.")] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS|local",
            help="nightly-audit: crawl on a Dask cluster (its "
            "scheduler's address, or `local` for one on this machine).",
        ),
    ] = None,
    config: ConfigOpt = Path("hullcheck.yaml"),
) -> None:
    """Run a flow now, in this process, as its schedule would (Prefect's tasks, logs, artifact and alert):
    against the Prefect server of PREFECT_API_URL, else a temporary one this process starts.

    `hullcheck audit` stays the fast direct path (no Prefect) for CI and ad-hoc use. Exit status as the
    command's: 0 ok, 1 partial (or a mail not sent), 2 error."""
    from hullcheck.cli.flows import run_flow

    raise typer.Exit(run_flow(name, config, as_of, only, week, dry_run, dask))


@app.command()
def serve(
    timezone: Annotated[str, typer.Option(help="The schedules' time zone (IANA name).")] = "UTC",
    nightly_cron: Annotated[str, typer.Option(help="When the nightly audit runs.")] = "0 2 * * *",
    weekly_cron: Annotated[str, typer.Option(help="When the weekly report goes out.")] = "0 7 * * 1",
    config: ConfigOpt = Path("hullcheck.yaml"),
) -> None:
    """Serve the deployments `nightly-audit` and `weekly-report` on their cron schedules from this process,
    against the Prefect server of PREFECT_API_URL (`prefect server start`), until stopped.

    The flows run in this process when their schedule (or `prefect deployment run`) says so; for a work
    pool and worker instead, see prefect.yaml and the README."""
    from hullcheck.cli.flows import serve as serve_flows

    raise typer.Exit(serve_flows(config, timezone, nightly_cron, weekly_cron))


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
    from hullcheck.cli.conventions import apply_metavars, report_internal_error

    try:
        command = typer.main.get_command(app)
        apply_metavars(command)
        command(prog_name="hullcheck")
    except HullcheckError as e:
        error(str(e))
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # a bug: one line and a log file, never a traceback on the terminal
        error(report_internal_error(e))
        sys.exit(EXIT_INTERNAL)
