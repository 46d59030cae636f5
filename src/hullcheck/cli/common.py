"""What every command shares: the common options, the exit codes and the one way to fail.

A command fails by raising a `HullcheckError` (or `fail(...)` for a usage problem): `main`
prints `error: <message>` on stderr and exits 2, so every command reports errors the same way
and no traceback reaches a user for a problem they can fix. Anything else is a bug: `main`
writes the traceback to a log file and prints one line that points to it (exit 3).

Exit codes (every command; docs/cli.md):

| code | meaning |
| ---: | --- |
| 0 | done: the run is ok, the gate passed, every mail was delivered |
| 1 | done, but not all of it: a partial run, a gate that failed, a mail not delivered |
| 2 | nothing was done: a usage, config or SQL error, a database or server that cannot be used |
| 3 | an internal error (a bug): the traceback is in the log file the message names |
| 130, 143 | interrupted (Ctrl-C) or stopped (SIGTERM); an audit records the run as failed |
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

ConfigOpt = Annotated[
    Path,
    typer.Option("--config", "-c", metavar="FILE", help="Org config file.", envvar="HULLCHECK_CONFIG",
                 show_default=True),
]  # fmt: skip
DatabaseOpt = Annotated[
    Path | None,
    typer.Option("--database", "-d", metavar="FILE", help="DuckDB file; default: the one named in the config.",
                 show_default=False),
]  # fmt: skip
EXIT_OK = 0
EXIT_PARTIAL = 1  # done, not all of it: partial run, failed gate, undelivered mail
EXIT_ERROR = 2  # usage, config, SQL or store error: nothing was done
EXIT_INTERNAL = 3  # a bug: the traceback went to a log file
FORMATS = ("table", "csv", "json")
FormatOpt = Annotated[str, typer.Option("--format", metavar="FORMAT", help="table, csv or json.")]
# Control characters (ESC, CR, BEL, C1…) in names that come from repositories and registries would
# drive the terminal: they are shown escaped (`\x1b`), never sent raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(text: object) -> str:
    """`text` safe to print on a terminal: control and bidi-override characters escaped."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(text))


def color(stream: object = sys.stderr) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (no-color.org: any non-empty value)."""
    return not os.environ.get("NO_COLOR") and bool(getattr(stream, "isatty", lambda: False)())


def _say(text: str, fg: str) -> None:
    # secho appends a reset sequence even with no colour: plain echo when colour is off.
    if color():
        typer.secho(text, err=True, fg=fg)
    else:
        typer.echo(text, err=True)


def error(message: str) -> None:
    _say(f"error: {shown(message)}", typer.colors.RED)


def warn(message: str) -> None:
    _say(f"warning: {shown(message)}", typer.colors.YELLOW)


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}: use table, csv or json")


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


def human_duration(seconds: float | None) -> str:
    """`0.14s`, `12.3s`, `4m 05s`, `2h 03m`: what a person reads, not `0:00:00.143678`."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
