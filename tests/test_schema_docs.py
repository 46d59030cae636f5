"""docs/schema.md and sql/examples/ against a real database audited from the demo org.

The doc's column tables must equal `DESCRIBE <view>` (names and types, in order); the descriptions the
database stores (COMMENT ON VIEW/COLUMN, generated from the doc) and `hullcheck schema` must say what the
doc says; every example must run on public views only, with the parameters its header prints, and return
its documented columns.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from hullcheck.audit import run_audit
from hullcheck.cli import schema_doc
from hullcheck.config import load_config
from hullcheck.demo.org import create_demo_org

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "schema.md"
EXAMPLES = sorted((ROOT / "sql" / "examples").glob("*.sql"))
COMMENTS = ROOT / "sql" / "views" / "900_comments.sql"
HULLCHECK = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "hullcheck"
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
    "image_sizes_against_budget": [
        "image",
        "profile",
        "compressed_bytes",
        "budget_bytes",
        "over_by_bytes",
        "within_budget",
        "size",
        "budget",
    ],
    "image_tags_not_rebuilt": ["team", "image", "platforms", "built_at", "age_days"],
    "images_without_source_label": ["team", "image", "platforms", "decided_by"],
    "registry_bytes_per_team": [
        "week",
        "team",
        "attributed_bytes",
        "share_of_org",
        "exclusive_bytes",
        "shared_bytes",
        "referenced_bytes",
        "attributed",
    ],
    "open_findings_of_team": ["policy_id", "severity", "findings", "subjects"],
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
    # With the parameters their headers print: team=payments, days=60.
    "image_sizes_against_budget": [("within_budget", False), ("budget_bytes", 20_000_000), ("budget", "20.0 MB")],
    "image_tags_not_rebuilt": [("team", "platform")],
    "images_without_source_label": [("team", "storefront"), ("decided_by", "label: org.hullcheck.team")],
    "registry_bytes_per_team": [("team", "payments"), ("team", "data"), ("team", "platform")],
    "open_findings_of_team": [("policy_id", "image-size-budget")],
}
MUST_NOT_CONTAIN = {
    "single_stage_repos": [("repo", "web-frontend"), ("repo", "payments-api"), ("repo", "billing-monolith")],
    "root_final_stage": [("repo", "payments-api"), ("repo", "ml-notebooks")],
    "compose_reaches_service_without_depends_on": [("service", "adminer")],
    "image_sizes_against_budget": [("profile", "datascience"), ("profile", "monolith")],
    "image_tags_not_rebuilt": [("team", "payments"), ("team", "data")],
    "images_without_source_label": [("team", "payments"), ("team", "data")],
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


def _printed_command(sql: str) -> list[str]:
    """The `-- Run: hullcheck sql …` line of an example's header, as argv."""
    lines = [ln.removeprefix("-- Run:").strip() for ln in sql.splitlines() if ln.startswith("-- Run: hullcheck sql")]
    assert len(lines) == 1, "one `-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/NAME.sql` line"
    return shlex.split(lines[0])


def _printed_params(argv: list[str]) -> dict[str, str]:
    values = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--param"]
    return dict(v.split("=", 1) for v in values)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    sql = path.read_text(encoding="utf-8")
    assert sql.startswith("--") and "hullcheck sql" in sql, "start with a comment: the question and how to run it"
    assert not PRIVATE.search(sql), "examples query public views only"
    argv = _printed_command(sql)
    assert argv[:2] == ["hullcheck", "sql"] and argv[argv.index("-f") + 1] == f"sql/examples/{path.name}"
    params = _printed_params(argv)
    used = set().union(*(s.named_parameters for s in duckdb.extract_statements(sql)))
    assert set(params) == used, "the printed command gives every $parameter the query uses, and no other"
    for name in used:  # the header says what each parameter is
        assert re.search(rf"^-- Parameters:.*\${name}\b", sql, re.M), f"document ${name} in a `-- Parameters:` line"
    cur = con.execute(sql, params) if params else con.execute(sql)
    columns = [d[0] for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    assert columns == EXPECTED_COLUMNS[path.stem]
    for col, value in MUST_CONTAIN.get(path.stem, []):
        assert any(r[col] == value for r in rows), f"{col} = {value!r} missing"
    for col, value in MUST_NOT_CONTAIN.get(path.stem, []):
        assert not any(r[col] == value for r in rows), f"{col} = {value!r} unexpected"


# -- the descriptions stored in the database, and `hullcheck schema` ------------------------------------
DOC_VIEWS = schema_doc.parse(DOC.read_text(encoding="utf-8"))


def _database_path(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    assert row is not None
    return str(row[0])


def test_the_parsed_doc_is_the_doc_the_drift_tests_read() -> None:
    assert set(DOC_VIEWS) == set(DOC_COLUMNS) | set(DOC_LATEST)
    for name, view in DOC_VIEWS.items():
        assert view.description, f"{name}: no description"
        assert all(c.description for c in view.columns), f"{name}: a column without a description"
        expected = DOC_COLUMNS.get(name) or DOC_COLUMNS[DOC_LATEST[name]]
        assert [(c.name, c.type) for c in view.columns] == expected


def test_the_comments_file_is_what_the_doc_generates() -> None:
    assert COMMENTS.read_text(encoding="utf-8") == schema_doc.comments_sql(DOC_VIEWS), (
        "docs/schema.md changed: run `python -m hullcheck.cli.schema_doc` to regenerate sql/views/900_comments.sql"
    )


def test_stored_comments_are_the_doc(con: duckdb.DuckDBPyConnection) -> None:
    views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
    assert views == {name: v.description for name, v in DOC_VIEWS.items()}
    rows = con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() "
        "WHERE table_name IN (SELECT view_name FROM duckdb_views() WHERE NOT internal) "
        "ORDER BY table_name, column_index"
    ).fetchall()
    stored: dict[str, list[tuple[str, str]]] = {}
    for view, column, comment in rows:
        stored.setdefault(view, []).append((column, comment))
    assert stored == {name: [(c.name, c.description) for c in v.columns] for name, v in DOC_VIEWS.items()}
    # Markup is gone, code spans stay: what a DBeaver tooltip shows.
    assert views["runs"].startswith("One row per audit run, whatever its status (")
    assert "`latest_audited_snapshots`" in views["latest_dockerfiles"]


def _schema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HULLCHECK), "schema", *args], capture_output=True, text=True, timeout=60)


def test_hullcheck_schema_lists_every_public_view_with_the_doc_summary(con: duckdb.DuckDBPyConnection) -> None:
    r = _schema("-d", _database_path(con), "--format", "json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert [v["view"] for v in listed] == sorted(DOC_VIEWS)  # views only: no storage table
    for v in listed:
        doc = DOC_VIEWS[v["view"]]
        assert v["description"] == schema_doc.summary(doc.description)
        assert v["columns"] == len(doc.columns)


@pytest.mark.parametrize("view", ["runs", "compose_services", "latest_image_manifests", "weekly_registry_bytes"])
def test_hullcheck_schema_view_shows_the_doc_columns(con: duckdb.DuckDBPyConnection, view: str) -> None:
    r = _schema(view, "-d", _database_path(con), "--format", "json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    doc = DOC_VIEWS[view]
    assert shown["view"] == view and shown["description"] == doc.description
    assert shown["columns"] == [{"column": c.name, "type": c.type, "description": c.description} for c in doc.columns]
