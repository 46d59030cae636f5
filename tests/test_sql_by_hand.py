"""SQL by hand, as a platform engineer does it: `hullcheck sql` with parameters and standard input, what
each output format makes of NULLs, lists and moments, `hullcheck schema`, every example as its header
prints it, and the descriptions the database carries for other clients (DuckDB 1.4 included).

One real database for the module: the demo org (git repositories and an OCI layout of images) audited
once; every command runs as a subprocess of the installed `hullcheck`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from hullcheck.audit import run_audit
from hullcheck.cli import schema_doc
from hullcheck.config import load_config
from hullcheck.demo.org import create_demo_org
from hullcheck.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "sql" / "examples").glob("*.sql"))
HULLCHECK = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "hullcheck"
DUCKDB_14 = ROOT / ".venv" / "duckdb-1.4" / "bin" / "python"


@dataclass
class Demo:
    root: Path  # holds hullcheck.yaml: the directory an example's printed command runs in
    config: Path
    database: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("sql_by_hand")
    with pytest.MonkeyPatch.context() as mp:  # no user git config leaks in (see conftest._isolated_git)
        mp.setenv("HOME", str(root / "home"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        config = create_demo_org(root / "demo")
        cfg = load_config(config)
        assert run_audit(cfg).status == "ok"
    yield Demo(config.parent, config, cfg.database_path)


def hullcheck(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HULLCHECK), *args], capture_output=True, text=True, cwd=cwd, input=stdin, timeout=120
    )  # fmt: skip


def as_json(r: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# -- parameters ------------------------------------------------------------------------------------------
def test_a_query_file_with_named_parameters_runs_with_param(demo: Demo, tmp_path: Path) -> None:
    query = tmp_path / "team_images.sql"
    query.write_text(
        "-- Parameters: $team, $min_bytes\n"
        "SELECT image, compressed_bytes FROM weekly_images\n"
        "WHERE team = $team AND compressed_bytes >= CAST($min_bytes AS BIGINT) ORDER BY image;\n"
    )
    r = hullcheck("sql", "-c", str(demo.config), "-f", str(query), "--param", "team=payments",
                  "--param", "min_bytes=10000000", "--format", "json")  # fmt: skip
    rows = as_json(r)
    assert [str(row["image"]).rsplit("/", 1)[1] for row in rows] == ["payments-ledger:2.1.0"]
    assert rows[0]["compressed_bytes"] == 28_518_400
    # Another value, another answer: the same file is a question with a blank.
    r = hullcheck("sql", "-c", str(demo.config), "-f", str(query), "--param", "team=data",
                  "--param", "min_bytes=0", "--format", "json")  # fmt: skip
    assert {str(row["image"]).rsplit("/", 1)[1] for row in as_json(r)} == {
        "ml-training:2026.11",
        "ml-notebooks:2026.11",
    }


def test_a_parameter_is_bound_never_pasted_into_the_sql(demo: Demo) -> None:
    query = "SELECT count(*) AS n FROM teams WHERE team = $team"
    assert as_json(hullcheck("sql", "-c", str(demo.config), query, "--param", "team=data", "--format", "json")) == [
        {"n": 1}
    ]
    hostile = "x' OR '1'='1"  # pasted in, this would match all four teams
    r = hullcheck("sql", "-c", str(demo.config), query, "--param", f"team={hostile}", "--format", "json")
    assert as_json(r) == [{"n": 0}]
    r = hullcheck("sql", "-c", str(demo.config), "SELECT $v AS v", "--param", "v=a=b; DROP TABLE x", "--format", "json")
    assert as_json(r) == [{"v": "a=b; DROP TABLE x"}]  # the value is everything after the first '='


def test_a_missing_or_unused_parameter_is_a_clear_error(demo: Demo) -> None:
    query = "SELECT * FROM weekly_images WHERE team = $team AND profile = $profile"
    r = hullcheck("sql", "-c", str(demo.config), query, "--param", "team=payments")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "error: the query uses $profile: give it a value with --param profile=VALUE" in r.stderr
    r = hullcheck("sql", "-c", str(demo.config), "SELECT 1", "--param", "teem=payments")
    assert r.returncode == 2 and "--param teem: the query has no $teem" in r.stderr
    r = hullcheck("sql", "-c", str(demo.config), "SELECT 1", "--param", "team")
    assert r.returncode == 2 and "expected NAME=VALUE" in r.stderr
    r = hullcheck("sql", "-c", str(demo.config), "SELECT ?")
    assert r.returncode == 2 and "positional parameters" in r.stderr


def test_file_dash_reads_the_query_from_standard_input(demo: Demo) -> None:
    r = hullcheck("sql", "-c", str(demo.config), "-f", "-", "--param", "team=platform", "--format", "csv",
                  stdin="-- from a pipe\nSELECT team, profile FROM teams WHERE team = $team;\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["team,profile", "platform,tooling"]
    empty = hullcheck("sql", "-c", str(demo.config), "-f", "-", stdin="  \n")
    assert empty.returncode == 2 and "the query is empty" in empty.stderr


# -- output fidelity -------------------------------------------------------------------------------------
# A Compose project at the repository root has project_dir '' (an empty string); without a .env its
# env_file is NULL. Each format must tell them apart.
PROJECTS = (
    "SELECT repo, project_dir, env_file, env_file IS NULL AS no_env, files, "
    "{'dir': project_dir, 'env': env_file} AS place "
    "FROM latest_compose_projects WHERE repo IN ('billing-monolith', 'ml-notebooks') ORDER BY repo"
)


def test_csv_writes_lists_and_structs_as_json_and_tells_null_from_empty(demo: Demo) -> None:
    r = hullcheck("sql", "-c", str(demo.config), PROJECTS, "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "repo,project_dir,env_file,no_env,files,place",
        'billing-monolith,"",,true,"[""compose.yaml""]","{""dir"":"""",""env"":null}"',
        'ml-notebooks,"",,true,"[""notebook.yml""]","{""dir"":"""",""env"":null}"',
    ]
    # Moments are ISO 8601, not Python's str(); a list column of the schema is JSON, not a repr.
    q = "SELECT committed_at, global_args FROM latest_dockerfiles WHERE repo = 'ml-training'"
    lines = hullcheck("sql", "-c", str(demo.config), q, "--format", "csv").stdout.splitlines()
    moment, args = lines[1].split(",", 1)
    assert moment[10] == "T" and moment.endswith("+00:00")
    assert args == "[]" or args.startswith('"[""')


def test_table_shows_null_distinctly_from_an_empty_string(demo: Demo) -> None:
    r = hullcheck("sql", "-c", str(demo.config), PROJECTS)
    assert r.returncode == 0, r.stderr
    rows = [[c.strip() for c in ln.split("│")[1:-1]] for ln in r.stdout.splitlines() if ln.startswith("│")]
    assert rows[0] == ["billing-monolith", "", "∅", "true", '["compose.yaml"]', '{"dir":"","env":null}']
    assert r.stderr.strip() == "(2 rows)"


def test_json_keeps_native_types(demo: Demo) -> None:
    rows = as_json(hullcheck("sql", "-c", str(demo.config), PROJECTS, "--format", "json"))
    assert rows[0] == {"repo": "billing-monolith", "project_dir": "", "env_file": None, "no_env": True,
                       "files": ["compose.yaml"], "place": {"dir": "", "env": None}}  # fmt: skip
    q = ("SELECT evidence, params, effective_at, waiver_expires FROM latest_findings "
         "WHERE policy_id = 'image-size-budget' AND team = 'payments'")  # fmt: skip
    (finding,) = as_json(hullcheck("sql", "-c", str(demo.config), q, "--format", "json"))
    assert isinstance(finding["evidence"], dict) and finding["evidence"]["max_bytes"] == 20_000_000  # a JSON column
    assert finding["params"]["team"] == "payments"
    assert isinstance(finding["effective_at"], str) and finding["effective_at"][10] == "T"  # ISO 8601
    assert finding["waiver_expires"] is None
    (run,) = as_json(hullcheck("sql", "-c", str(demo.config), "SELECT duration FROM runs", "--format", "json"))
    assert str(run["duration"]).startswith("PT")  # an interval as an ISO 8601 duration


# -- hullcheck schema -------------------------------------------------------------------------------------
def test_schema_lists_only_public_views_with_their_description(demo: Demo) -> None:
    r = hullcheck("schema", "-c", str(demo.config))
    assert r.returncode == 0, r.stderr
    rows = {ln.split("│")[1].strip(): ln.split("│")[3].strip() for ln in r.stdout.splitlines() if ln.startswith("│")}
    with duckdb.connect(str(demo.database), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert len(rows) == 66 and not tables & set(rows)  # SHOW TABLES would mix in the storage tables
    assert rows["latest_findings"] == "Findings of the evaluation in `latest_evaluation`: what is open now."
    assert rows["image_layers"] == "One row per layer of each platform image."


def test_schema_view_shows_its_columns_types_and_descriptions(demo: Demo) -> None:
    r = hullcheck("schema", "weekly_images", "-c", str(demo.config), "--format", "csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "column,type,description"
    assert "budget_bytes,BIGINT,The budget that applied; NULL when the policy is disabled for the situation." in lines
    table = hullcheck("schema", "WEEKLY_IMAGES", "-c", str(demo.config))
    assert table.returncode == 0 and table.stdout.startswith("weekly_images: One row per week and image tag")


def test_schema_unknown_view_suggests_near_names(demo: Demo) -> None:
    r = hullcheck("schema", "latest_finding", "-c", str(demo.config))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "'latest_finding' is not a view of this database; did you mean latest_findings" in r.stderr
    r = hullcheck("schema", "audit_runs", "-c", str(demo.config))
    assert r.returncode == 2 and "is a private storage table" in r.stderr and "did you mean runs" in r.stderr


def test_schema_without_a_database_shows_the_schema_this_version_creates(tmp_path: Path) -> None:
    r = hullcheck("schema", "image_lineage", "--format", "json", cwd=tmp_path)  # no hullcheck.yaml here
    assert r.returncode == 0, r.stderr
    assert "no such config; showing the schema this hullcheck version creates" in r.stderr
    shown = json.loads(r.stdout)
    assert [c["column"] for c in shown["columns"]][-3:] == ["git_repo", "git_commit", "dockerfile_path"]
    missing = hullcheck("schema", "-d", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "no database yet" in missing.stderr


# -- the examples, as printed ------------------------------------------------------------------------------
def _printed(path: Path, demo: Demo) -> list[str]:
    """The example's `-- Run: hullcheck sql …` line as argv, its `-f sql/examples/…` made absolute (the
    command is printed for the repository's root; the config is the demo's, in the working directory)."""
    (line,) = [ln for ln in path.read_text().splitlines() if ln.startswith("-- Run: hullcheck sql")]
    argv = shlex.split(line.removeprefix("-- Run:"))
    assert argv[:4] == ["hullcheck", "sql", "-c", "hullcheck.yaml"]
    k = argv.index("-f")
    argv[k + 1] = str(ROOT / argv[k + 1])
    return argv[1:]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_runs_as_printed(demo: Demo, path: Path) -> None:
    r = hullcheck(*_printed(path, demo), cwd=demo.root)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().endswith(("row)", "rows)")) and "┃" in r.stdout


def _example(name: str, demo: Demo) -> list[dict[str, object]]:
    return as_json(hullcheck(*_printed(ROOT / "sql" / "examples" / f"{name}.sql", demo), "--format", "json",
                             cwd=demo.root))  # fmt: skip


def test_example_image_sizes_against_budget(demo: Demo) -> None:
    rows = _example("image_sizes_against_budget", demo)  # --param team=payments
    assert [str(r["image"]).rsplit("/", 1)[1] for r in rows] == [
        "payments-ledger:2.1.0", "payments-api:1.4.0", "payments-gateway:0.9.3"]  # fmt: skip
    ledger = rows[0]
    assert ledger["profile"] == "microservice" and ledger["within_budget"] is False
    assert (ledger["compressed_bytes"], ledger["budget_bytes"], ledger["over_by_bytes"]) == (
        28_518_400, 20_000_000, 8_518_400)  # fmt: skip
    assert (ledger["size"], ledger["budget"]) == ("28.5 MB", "20.0 MB")


def test_example_images_without_source_and_not_rebuilt(demo: Demo) -> None:
    (unsourced,) = _example("images_without_source_label", demo)
    assert str(unsourced["image"]).endswith("/billing-monolith:3.0.1")
    assert unsourced["team"] == "storefront" and unsourced["decided_by"] == "label: org.hullcheck.team"
    (old,) = _example("image_tags_not_rebuilt", demo)  # --param days=60: the tool image, built 80 days ago
    assert str(old["image"]).endswith("/infra-tools:latest")
    assert old["team"] == "platform" and old["age_days"] == 80 and old["platforms"] == ["linux/amd64"]


def test_example_registry_bytes_add_up_to_the_org(demo: Demo) -> None:
    rows = _example("registry_bytes_per_team", demo)
    assert [r["team"] for r in rows] == ["data", "payments", "storefront", "platform"]
    assert abs(sum(float(str(r["share_of_org"])) for r in rows) - 1) < 0.01


# -- the descriptions other clients see ----------------------------------------------------------------------
def test_comments_read_back_in_duckdb_1_4(demo: Demo) -> None:
    assert DUCKDB_14.exists(), f"{DUCKDB_14} is missing: ./scripts/test creates it (pip install duckdb==1.4.4)"
    script = (
        "import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(json.dumps([duckdb.__version__, "
        "con.execute(\"SELECT comment FROM duckdb_views() WHERE view_name = 'runs'\").fetchone()[0], "
        "con.execute(\"SELECT comment FROM duckdb_columns() WHERE table_name = 'latest_images' "
        "AND column_name = 'newest_error'\").fetchone()[0]]))"
    )
    old = subprocess.run([str(DUCKDB_14), "-c", script, str(demo.database)], capture_output=True, text=True, timeout=60)
    assert old.returncode == 0, old.stderr
    version, view, column = json.loads(old.stdout)
    doc = schema_doc.parse((ROOT / "docs" / "schema.md").read_text(encoding="utf-8"))
    assert version.startswith("1.4.")
    assert view == doc["runs"].description
    assert column == next(c.description for c in doc["latest_images"].columns if c.name == "newest_error")


def test_a_description_with_quotes_is_stored_as_written() -> None:
    doc = (
        "### `quoted`\n\nIt's a view; `'x'` and \"y\" and '' stay; **bold** and [a link](#x) do not.\n\n"
        "| Column | Type | Meaning |\n|---|---|---|\n"
        "| `it` | VARCHAR | `''` for none, or 'it''s'; then; -- not a comment |\n"
    )
    views = schema_doc.parse(doc)
    with duckdb.connect() as con:
        con.execute("CREATE VIEW quoted AS SELECT 'a' AS it")
        con.execute(schema_doc.comments_sql(views))
        view = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'quoted'").fetchone()
        column = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'quoted'").fetchone()
    assert view == ("It's a view; `'x'` and \"y\" and '' stay; bold and a link do not.",)
    assert column == ("`''` for none, or 'it''s'; then; -- not a comment",)


def test_a_database_written_without_descriptions_gets_them_from_its_next_writer(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    with Store.open(db) as store:  # as a hullcheck before comments left it: views without descriptions
        store.ad_hoc("COMMENT ON VIEW runs IS NULL")
        store.ad_hoc("COMMENT ON COLUMN runs.run_id IS NULL")
        store.ad_hoc("UPDATE hullcheck_meta SET value = 'older views' WHERE key = 'views_hash'")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'runs'").fetchone() == (None,)
    Store.open(db).close()
    with duckdb.connect(str(db), read_only=True) as con:
        (view,) = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'runs'").fetchone()
        (column,) = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'runs' AND column_name = 'run_id'"
        ).fetchone()
    assert view.startswith("One row per audit run") and column == "Run number, increasing from 1 in start order."
