"""Where the project's non-Python assets live: sql/, policies/, reports/ and the catalog's cases.

The repository keeps them at its top level (the layout is fixed), next to `src/`, and every place
they are read from is laid out the same way, so one root answers every question. In order:

1. `HULLCHECK_HOME`, when set: a folder laid out like the repository (a worktree, a copy elsewhere).
2. `hullcheck/_assets/` inside the installed package: the wheel maps the top-level folders there at
   build time (pyproject.toml), so `pip install .`, pipx and a container image carry them.
3. The repository around `src/hullcheck/`: the editable development install, where the wheel's
   mapping does not exist and an edit to sql/ is live without reinstalling.

Plain paths rather than `importlib.resources` traversables: the store globs `sql/schema/`, Jinja2's
loader and `shutil` want folders on disk, and a wheel installs as files.
"""

from __future__ import annotations

import os
from pathlib import Path

from hullcheck.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent
BUNDLED = _PACKAGE / "_assets"
REPOSITORY = _PACKAGE.parents[1]


def project_root() -> Path:
    """The folder holding sql/, policies/, reports/ and tests/cases/policies/."""
    env = os.environ.get("HULLCHECK_HOME")
    if env:
        root = Path(env)
        if not (root / "sql").is_dir():
            raise ConfigError(
                f"HULLCHECK_HOME={env}: no sql/ folder there; point it at a folder laid out like the repository"
                " (sql/, policies/, reports/), or unset it to use the installed package's own"
            )
        return root
    return BUNDLED if BUNDLED.is_dir() else REPOSITORY


def sql_dir() -> Path:
    return project_root() / "sql"


def read_sql(relative: str) -> str:
    """Text of one file under sql/, e.g. ``read_sql("queries/known_commit.sql")``."""
    return (sql_dir() / relative).read_text(encoding="utf-8")


def policies_dir() -> Path:
    """The shipped catalog: `policies/<id>.yaml` and `policies/profiles.yaml`."""
    return project_root() / "policies"


def policy_cases_dir() -> Path:
    """The shipped catalog's cases, `<id>.yaml` per policy (a policy is three files with one id)."""
    return project_root() / "tests" / "cases" / "policies"


def templates_dir() -> Path:
    """The report's Jinja2 templates and stylesheet: `reports/templates/`."""
    return project_root() / "reports" / "templates"
