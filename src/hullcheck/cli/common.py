"""What every command shares: the common options and the one way to fail.

A command fails by raising a `HullcheckError` (or `fail(...)` for a usage problem): `main`
prints `error: <message>` on stderr and exits 2, so every command reports errors the same way
and no traceback reaches a user for a problem they can fix.
"""

from __future__ import annotations

import re
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
# Control characters (ESC, CR, BEL, C1…) in names that come from repositories and registries would
# drive the terminal: they are shown escaped (`\x1b`), never sent raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(text: object) -> str:
    """`text` safe to print on a terminal: control and bidi-override characters escaped."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(text))


def error(message: str) -> None:
    typer.secho(f"error: {shown(message)}", err=True, fg=typer.colors.RED)


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
