"""docs/schema.md and sql/examples/ against a real database audited from the demo org.

The doc's column tables must equal `DESCRIBE <view>` (names and types, in order), and every
example must run on public views only and return its documented columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from hullcheck.audit import run_audit
from hullcheck.config import load_config
from hullcheck.demo.org import create_demo_org

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "schema.md"
EXAMPLES = sorted((ROOT / "sql" / "examples").glob("*.sql"))
PRIVATE = re.compile(r"\b(?:df_\w+|git_\w+|audit_runs|schema_migrations|hullcheck_meta)\b")

EXPECTED_COLUMNS = {
    "base_images_by_count": ["base_image", "stages", "dockerfiles", "repos", "tags"],
    "single_stage_repos": ["repo", "dockerfiles", "paths"],
    "runs_leaving_package_caches": ["repo", "path", "line", "manager", "package_count", "packages"],
    "unpinned_bases": [
        "repo",
        "path",
        "final_stage_index",
        "base_as_written",
        "base_image",
        "base_tag",
        "via_stage",
    ],
    "root_final_stage": ["repo", "path", "stage_index", "base_as_written", "final_user", "reason"],
    "dockerfile_parse_errors": ["repo", "path", "problem", "reason", "commit_sha"],
    "repo_failures_latest": ["repo", "run_id", "failed_at", "error", "last_success_at", "url"],
    "compose_reaches_service_without_depends_on": ["repo", "project_dir", "service", "reaches", "via_variables"],
    "compose_privileged_and_docker_socket": [
        "repo",
        "project_dir",
        "service",
        "privileged",
        "mounts_docker_socket",
        "host_network",
        "host_pid",
    ],
    "compose_build_without_image": ["repo", "project_dir", "service", "build_context", "build_dockerfile"],
    "dockerfiles_changed_between_runs": [
        "repo",
        "path",
        "change",
        "old_blob_sha",
        "new_blob_sha",
        "old_commit_sha",
        "new_commit_sha",
        "old_run_id",
        "new_run_id",
    ],
}
# (column, value) pairs that must appear / must not appear in an example's result on the demo org.
MUST_CONTAIN = {
    "base_images_by_count": [("base_image", "docker.io/library/python")],
    "single_stage_repos": [("repo", "ml-notebooks"), ("repo", "infra-tools")],
    "runs_leaving_package_caches": [("repo", "infra-tools")],
    "unpinned_bases": [("repo", "ml-notebooks")],
    "root_final_stage": [("repo", "web-frontend")],
    "dockerfiles_changed_between_runs": [("repo", "payments-api"), ("change", "changed")],
    "compose_reaches_service_without_depends_on": [("repo", "billing-monolith"), ("reaches", "db")],
    "compose_privileged_and_docker_socket": [("repo", "infra-tools"), ("service", "runner")],
    "compose_build_without_image": [("repo", "billing-monolith"), ("repo", "ml-notebooks")],
}
MUST_NOT_CONTAIN = {
    "single_stage_repos": [("repo", "web-frontend"), ("repo", "payments-api"), ("repo", "billing-monolith")],
    "root_final_stage": [("repo", "payments-api"), ("repo", "ml-notebooks")],
    "compose_reaches_service_without_depends_on": [("service", "adminer")],
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """The demo org audited now, plus a full backfill 10 days ago (before payments-api's rewrite)."""
    root = tmp_path_factory.mktemp("schema_docs")
    with pytest.MonkeyPatch.context() as mp:  # no user git config leaks in (see conftest._isolated_git)
        mp.setenv("HOME", str(root / "home"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        cfg = load_config(create_demo_org(root / "demo"))
        assert run_audit(cfg).status == "ok"
        assert run_audit(cfg, as_of=datetime.now(UTC) - timedelta(days=10)).status == "ok"
    connection = duckdb.connect(str(cfg.database_path), read_only=True)
    yield connection
    connection.close()


def _doc_tables() -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """(view -> [(column, type)] from each `### `view`` section, latest view -> its base view)."""
    columns: dict[str, list[tuple[str, str]]] = {}
    latest: dict[str, str] = {}
    view: str | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            m = re.fullmatch(r"#+ `(\w+)`", line.strip())
            view = m.group(1) if m else None
            if view:
                columns[view] = []
        elif m := re.match(r"\| `(latest_\w+)` \| `(\w+)` \|", line):
            latest[m.group(1)] = m.group(2)
        elif view and (m := re.match(r"\| `(\w+)` \| ([A-Z][^|]*?) \|", line)):
            columns[view].append((m.group(1), m.group(2).strip()))
    return columns, latest


DOC_COLUMNS, DOC_LATEST = _doc_tables()


def _describe(con: duckdb.DuckDBPyConnection, view: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {view}").fetchall()]


def test_every_view_is_documented(con: duckdb.DuckDBPyConnection) -> None:
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert all(DOC_COLUMNS.values()), "a view section without a column table"
    assert set(DOC_COLUMNS) | set(DOC_LATEST) == views


@pytest.mark.parametrize("view", sorted(DOC_COLUMNS))
def test_doc_columns_match_describe(con: duckdb.DuckDBPyConnection, view: str) -> None:
    assert DOC_COLUMNS[view] == _describe(con, view)


@pytest.mark.parametrize("view", sorted(DOC_LATEST))
def test_latest_views_have_their_base_columns(con: duckdb.DuckDBPyConnection, view: str) -> None:
    assert DOC_LATEST[view] in DOC_COLUMNS
    assert _describe(con, view) == DOC_COLUMNS[DOC_LATEST[view]]


def test_every_example_has_expectations() -> None:
    assert {p.stem for p in EXAMPLES} == set(EXPECTED_COLUMNS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    sql = path.read_text(encoding="utf-8")
    assert sql.startswith("--") and "hullcheck sql" in sql, "start with a comment: the question and how to run it"
    assert not PRIVATE.search(sql), "examples query public views only"
    cur = con.execute(sql)
    columns = [d[0] for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    assert columns == EXPECTED_COLUMNS[path.stem]
    for col, value in MUST_CONTAIN.get(path.stem, []):
        assert any(r[col] == value for r in rows), f"{col} = {value!r} missing"
    for col, value in MUST_NOT_CONTAIN.get(path.stem, []):
        assert not any(r[col] == value for r in rows), f"{col} = {value!r} unexpected"
