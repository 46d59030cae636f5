"""A tmp organization for the audit's tests: real git repositories, a config around them, queries.

`Org` writes repositories under `root/repos` (`hullcheck.demo.gitbuild`), a hullcheck.yaml
whose git sources are those repositories, and reads the audit database back. Commit dates
are relative to `NOW` (`days_ago(n)`), fixed once per process.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import yaml

from hullcheck.config import Config, load_config
from hullcheck.demo.gitbuild import Commit, write_repo

NOW = datetime.now(UTC).replace(microsecond=0)


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


class Org:
    """A tmp organization: repositories under `repos/`, a config, helpers to audit and query."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repos = root / "repos"
        self.sources: list[dict[str, object]] = []
        self.extra: dict[str, object] = {}

    def repo(self, name: str, commits: list[Commit], branch: str = "main", add: bool = True, **src: object) -> Path:
        path = write_repo(self.repos / name, commits, branch=branch)
        if add:
            self.sources.append({"url": str(path), **src})
        return path

    def write_config(self) -> Path:
        data = {
            "database": "audit.duckdb",
            "cache_dir": "cache",
            "sources": {"git": self.sources},
            "teams": [{"name": "everyone", "profile": "microservice", "repos": ["*"]}],
            **self.extra,
        }
        path = self.root / "hullcheck.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def config(self) -> Config:
        return load_config(self.write_config())

    def query(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        con = duckdb.connect(str(self.root / "audit.duckdb"), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, params: list[object] | None = None) -> object:
        return self.query(sql, params)[0][0]
