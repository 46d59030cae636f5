"""What every command shares: the common options and the one way to fail.

A command fails by raising a `HullcheckError` (or `fail(...)` for a usage problem): `main`
prints `error: <message>` on stderr and exits 2, so every command reports errors the same way
and no traceback reaches a user for a problem they can fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Org config file.", envvar="HULLCHECK_CONFIG", show_default=True)
]
DatabaseOpt = Annotated[
    Path | None,
    typer.Option("--database", "-d", help="DuckDB file; default: the one named in the config.", show_default=False),
]
EXIT_ERROR = 2  # config, usage or fatal error (0: ok, 1: partial)


def error(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Print the error; the caller raises what this returns (`raise fail(...)`)."""
    error(message)
    return typer.Exit(code)


def database_path(config: Path, database: Path | None) -> Path:
    """--database, else the database the config names (a config error propagates to `main`)."""
    if database is not None:
        return database
    from hullcheck.config import load_config

    return load_config(config).database_path
