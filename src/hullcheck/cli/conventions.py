"""What makes every command behave like crane, trivy or dbt: help that shows names, not Python types,
`-h`, `--version`, and one line (never a traceback) when hullcheck itself has a bug.

Typer shows each option's Python type (`--quiet <bool>`, `--only <list[str]>`) unless the option names a
metavar. Rather than repeat one in every signature, `apply_metavars` gives each option that has none a
metavar from its name once the command tree is built: flags get none, `--only` gets `GLOB`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path

from typer import _click  # typer ships its own copy of click: its classes, not the click package's
from typer.core import TyperArgument, TyperGroup, TyperOption

# Option names whose value has a better name than the option's own (`--as-of DATE`, not `--as-of AS-OF`).
_METAVARS = {
    "config": "FILE", "database": "FILE", "file": "FILE", "output": "FILE", "out": "DIR", "directory": "DIR",
    "policies_dir": "DIR", "as_of": "DATE", "only": "GLOB", "team": "TEAM", "repo": "REPO", "policy": "POLICY",
    "severity": "SEVERITY", "run": "RUN", "limit": "N", "weeks": "N", "every": "PERIOD", "week": "YYYY-Www",
    "keep": "AGE", "fmt": "FORMAT", "param": "NAME=VALUE",
}  # fmt: skip


def apply_metavars(command: _click.core.Command) -> None:
    """Every option of `command` and its subcommands: a flag shows no value, any other option a metavar;
    an argument shows its name only."""
    for param in command.params:
        if isinstance(param, TyperOption):
            if param.is_flag or param.count:
                param.metavar = ""  # typer prints the metavar as given: nothing after a flag
            elif param.metavar is None:
                name = param.name or "value"
                param.metavar = _METAVARS.get(name, name.upper().replace("_", "-"))
        elif isinstance(param, TyperArgument):
            # An argument's help line is its name and then its type (`REPOSITORY <str>`), with no metavar to
            # replace the type: the name says it all, so this argument shows no type.
            param.display_type_rich = _no_type  # type: ignore[method-assign]
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            apply_metavars(sub)


def _no_type(ctx: object) -> None:
    return None


def log_dir() -> Path:
    """Where crash logs go: $XDG_STATE_HOME/hullcheck (~/.local/state/hullcheck), else the temp folder."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "hullcheck"


def report_internal_error(exc: BaseException) -> str:
    """Write the traceback (credentials redacted) to a log file; the one line to show the user."""
    from hullcheck import __version__
    from hullcheck.redact import redact_text

    text = "".join(traceback.format_exception(exc))
    header = f"hullcheck {__version__}, {datetime.now().astimezone().isoformat(timespec='seconds')}\n"
    header += f"argv: {redact_text(' '.join(sys.argv))}\n\n"
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(header + redact_text(text), encoding="utf-8")
            break
        except OSError:
            continue
    else:
        return f"internal error: {type(exc).__name__} (and the crash log could not be written)"
    first = redact_text(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
    what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return f"internal error: {what}\n  this is a bug in hullcheck; the traceback is in {path} (please report it)"
