"""Where the project's non-Python assets (sql/, policies/, reports/) live.

They sit at the top of the repository (the design card fixes that layout), so the
package finds them relative to its source tree; `HULLCHECK_HOME` overrides this
for installs that copy them elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    env = os.environ.get("HULLCHECK_HOME")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2]


def sql_dir() -> Path:
    return project_root() / "sql"


def read_sql(relative: str) -> str:
    """Text of one file under sql/, e.g. ``read_sql("queries/known_commit.sql")``."""
    return (sql_dir() / relative).read_text(encoding="utf-8")


def policies_dir() -> Path:
    """The shipped catalog: `policies/<id>.yaml` and `policies/profiles.yaml`."""
    return project_root() / "policies"


def templates_dir() -> Path:
    """The report's Jinja2 templates and stylesheet: `reports/templates/`."""
    return project_root() / "reports" / "templates"
