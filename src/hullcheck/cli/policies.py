"""`hullcheck policies list | show ID | validate [DIR]`: the catalog, as the index of what is audited."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hullcheck.cli.common import ConfigOpt, FormatOpt, check_format, fail, shown

if TYPE_CHECKING:
    from hullcheck.policy.catalog import Catalog

app = typer.Typer(help="The policy catalog: list, show one, validate an org's policies.", no_args_is_help=True,
                  add_completion=False)  # fmt: skip


def _catalog(org_dir: Path | None = None) -> Catalog:
    from hullcheck.policy.catalog import load_catalog

    return load_catalog(org_dir)


@app.command("list")
def list_policies(
    policies_dir: Annotated[Path | None, typer.Option(help="Also the org's policies in this folder.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Every policy: id, category, subjects, default severity, parameters, equivalents in other tools."""
    from hullcheck.cli.sql import print_result
    from hullcheck.store import Result

    check_format(fmt)
    catalog = _catalog(policies_dir)
    rows = []
    for p in sorted(catalog.policies.values(), key=lambda p: (p.meta.category, p.id)):
        eq = p.meta.equivalents
        others = ", ".join(eq.hadolint + eq.dockle + eq.trivy + eq.checkov)
        params = ", ".join(f"{k}={p.show(k, v)}" for k, v in p.defaults.items())
        rows.append((p.id, p.meta.category, "+".join(p.meta.subject), p.meta.severity, params, others, p.meta.title))
    columns = ["id", "category", "subject", "severity", "parameters (defaults)", "equivalents", "title"]
    print_result(Result(columns, rows), fmt)


@app.command()
def show(policy_id: Annotated[str, typer.Argument(help="A policy id, e.g. image-size-budget.")]) -> None:
    """One policy: why, what to do instead, parameters with their default and per-profile values."""
    catalog = _catalog()
    p = catalog.get(policy_id)
    m = p.meta
    out = [f"{m.id}: {m.title}", f"  category {m.category}; subject {', '.join(m.subject)}; severity {m.severity}", ""]
    out += ["Why:", f"  {m.rationale.strip()}", "", "Instead:", f"  {m.instead.strip()}", ""]
    if m.params:
        out.append("Parameters (default; per profile):")
        for key, spec in m.params.items():
            per = [f"{name}={p.show(key, prof.values[p.id][key])}" for name, prof in catalog.profiles.items()
                   if key in prof.values.get(p.id, {})]  # fmt: skip
            suffix = f"; {', '.join(per)}" if per else ""
            out.append(f"  {key} ({spec.type}) = {p.show(key, p.defaults[key])}{suffix}: {spec.description.strip()}")
        out.append("")
    eq = m.equivalents.model_dump()
    named = [f"{tool} {', '.join(ids)}" for tool, ids in eq.items() if ids]
    if named:
        out += ["Equivalents: " + "; ".join(named), ""]
    if m.references:
        out += ["References:", *(f"  {r}" for r in m.references), ""]
    out.append(f"Files: {p.yaml_path}, {p.sql_path}, {p.cases_path}")
    typer.echo(shown("\n".join(out)))


@app.command()
def docs(
    output: Annotated[Path | None, typer.Option(help="Write here (e.g. docs/policies.md); default: stdout.")] = None,
) -> None:
    """The catalog as Markdown, generated from the policy files (docs/policies.md is this output)."""
    from hullcheck.policy.docs import render

    text = render(_catalog())
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


@app.command()
def validate(
    directory: Annotated[
        Path | None, typer.Argument(help="An org's policies_dir; default: the shipped catalog.")
    ] = None,
    config: ConfigOpt = Path("hullcheck.yaml"),
    run_cases: Annotated[bool, typer.Option("--cases/--no-cases", help="Also run every policy's cases.")] = True,
) -> None:
    """Load the catalog (and an org's policies), check the config against it, and run the cases.

    Exit 0 when everything holds, 1 when a case fails, 2 when a file is invalid."""
    from hullcheck.config import load_config
    from hullcheck.policy.situations import resolve_situations
    from hullcheck.policy_cases import load_cases, run_case_file

    catalog = _catalog(directory)
    if config.exists():
        resolve_situations(catalog, load_config(config))
        typer.echo(f"{config}: profiles, team policies, overrides and waivers are valid")
    chosen = [p for p in catalog.policies.values() if directory is None or p.origin != "catalog"]
    typer.echo(f"{len(chosen)} policies load (catalog version {catalog.version})")
    if not run_cases:
        return
    failed = 0
    with tempfile.TemporaryDirectory(prefix="hullcheck-cases-") as tmp:
        for p in sorted(chosen, key=lambda p: p.id):
            problems = run_case_file(load_cases(p.cases_path), p, catalog, Path(tmp))
            typer.echo(f"  {'ok  ' if not problems else 'FAIL'} {p.id}")
            for problem in problems:
                typer.echo(shown(f"       {problem.case} [{problem.situation}]: {problem.problem}"))
            failed += bool(problems)
    if failed:
        raise fail(f"{failed} of {len(chosen)} policies fail their cases", code=1)


@app.command()
def simulate(
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="A config change, by the config's own "
            "path: teams.payments.policies.image-size-budget.max_bytes=200MB, "
            "profiles.microservice.image-size-budget.max_bytes=200MB (repeatable).",
        ),
    ] = None,
    policy_file: Annotated[Path | None, typer.Option(metavar="FILE.yaml", help="A drafted policy's YAML.")] = None,
    policy_sql: Annotated[Path | None, typer.Option(metavar="FILE.sql", help="The drafted policy's SQL.")] = None,
    since: Annotated[str, typer.Option(help="How far back: 12w, 90d, or all.")] = "12w",
    every_run: Annotated[
        bool, typer.Option("--every-run", help="Every run, not only the last of each ISO week.")
    ] = False,
    team: Annotated[str | None, typer.Option(help="Only this team's findings.")] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table or json.")] = "table",
    show: Annotated[int, typer.Option(help="How many changed subjects to list.", min=0)] = 20,
    config: ConfigOpt = Path("hullcheck.yaml"),
    database: Annotated[
        Path | None,
        typer.Option(
            "--database",
            "-d",
            metavar="FILE",
            show_default=False,
            help="DuckDB file; default: the one named in the config.",
        ),
    ] = None,
) -> None:
    """What if: the stored runs judged again by a changed config (--set) or a drafted policy, per team and
    ISO week (stored → simulated) and the subjects that would newly fire or stop firing. Nothing is
    written: the database file is only read.

    Exit status: 0 done, 1 when a policy could not be evaluated, 2 on an error."""
    from hullcheck.cli.simulate import run_simulate

    raise typer.Exit(run_simulate(config, database, settings or [], policy_file, policy_sql, since, every_run, team,
                                  fmt, show))  # fmt: skip
