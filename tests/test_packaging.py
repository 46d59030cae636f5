"""hullcheck as a user installs it: a wheel built from this checkout, in a fresh virtualenv, run from a
folder outside the repository, and the editable development install beside it.

The wheel maps the top-level sql/, policies/ and reports/ into the package (pyproject.toml); without
that mapping the installed command dies on its first SQL file. Prefect is the `flows` extra: the
plain install must work without it (its test runs first, so the virtualenv has none yet), and with
it the shipped flows (`hullcheck_flows`) must load and audit.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.org import Org, days_ago

from hullcheck import assets
from hullcheck.demo.gitbuild import Commit
from hullcheck.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXTRA = {"prefect", "dask", "distributed"}  # what `hullcheck[flows]` brings, or would
# Read before any fixture moves HOME (conftest isolates git per test): pip keeps its cache under it.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "pip")
)


def _run(args: list[str], timeout: int, **kw: object) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    assert r.returncode == 0, f"{args[:4]}… exited {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r


def _pip_install(venv: Path, *requirements: str) -> None:
    """The development virtualenv's pip installs into `venv` (`--python`), so the fresh one needs no pip
    of its own; no byte-compiling, which would cost more than every import the tests make."""
    env = {**os.environ, "PIP_CACHE_DIR": PIP_CACHE}
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile"]
    _run([*pip, *requirements], timeout=900, env=env)


def _user_env(**extra: str) -> dict[str, str]:
    """A user's shell: nothing that points into this checkout or its virtualenv."""
    drop = {"HULLCHECK_HOME", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)], timeout=300)
    (built,) = out.glob("hullcheck-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its dependencies, without the `flows` extra."""
    path = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", "--without-pip", str(path)], timeout=120)
    _pip_install(path, str(wheel))
    return path


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """The working directory: a folder that is not the repository and has none of its files."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def _python(venv: Path, code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True, text=True, cwd=cwd, env=_user_env(**env), timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_the_wheel_carries_the_assets_and_the_flows(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = "hullcheck/_assets/"
    assert f"{bundled}sql/views/010_core.sql" in names
    assert f"{bundled}sql/queries/abandon_running.sql" in names
    assert f"{bundled}policies/profiles.yaml" in names
    templates = {n.removeprefix(f"{bundled}reports/templates/") for n in names if "/reports/templates/" in n}
    assert templates == {p.name for p in (ROOT / "reports" / "templates").iterdir()}
    # Every shipped file of the repository's asset folders, none left behind (a new subfolder of sql/ too).
    for folder in ("sql", "policies", "reports", "tests/cases/policies"):
        files = {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file()}
        assert {f for f in files if f"{bundled}{f}" not in names} == set()
    flows = {"__init__", "nightly_audit", "weekly_report", "serving"}
    assert {f"hullcheck_flows/{f}.py" for f in flows} <= names
    assert "hullcheck/cli/app.py" in names and not any(n.startswith(("tests/", "flows/", "src/")) for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [ln for ln in zipfile.ZipFile(wheel).read(metadata).decode().splitlines() if ln.startswith("Requires")]
    prefect = [ln for ln in requires if "prefect" in ln]
    # Prefect (and prefect-dask) only through the extras: the CLI, a CI gate or a pre-commit hook never need it
    assert prefect and all("extra == 'flows'" in ln or "extra == 'dask'" in ln for ln in prefect), prefect


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_and_an_audit_without_prefect(venv: Path, org: Org, elsewhere: Path) -> None:
    hullcheck = str(venv / "bin" / "hullcheck")
    no_prefect = _python(venv, "import prefect", elsewhere)
    assert no_prefect.returncode == 1 and "No module named 'prefect'" in no_prefect.stderr
    where = _python(venv, "import hullcheck.assets as a; print(a.project_root())", elsewhere)
    assert where.stdout.startswith(f"{venv.resolve()}/") and where.stdout.strip().endswith("/hullcheck/_assets")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [hullcheck, *args], capture_output=True, text=True, cwd=elsewhere, env=_user_env(), timeout=300
        )

    helped = cli("--help")
    assert helped.returncode == 0 and "Usage:" in helped.stdout and "audit" in helped.stdout, helped.stderr

    demo = cli("demo", "--dir", str(elsewhere / "demo"))
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "run 11: ok" in demo.stdout  # ten backfilled weeks, then tonight's audit with the demo's images
    assert (elsewhere / "demo" / "report" / "index.html").is_file()  # the templates came with the wheel

    org.repo("api", [Commit(days_ago(2), {"Dockerfile": "FROM python:3.12\nRUN apt-get install -y gcc\n"})])
    org.repo("web", [Commit(days_ago(3), {"Dockerfile": "FROM node:20 AS b\nFROM nginx\nCOPY --from=b /a /b\n"})])
    cfg = org.write_config()
    audit = cli("audit", "-c", str(cfg))
    assert audit.returncode == 0, audit.stderr[-3000:]
    assert "run 1: ok" in audit.stdout
    # The shipped catalog ran: `FROM nginx` has no tag (web), `FROM python:3.12` has one (api).
    q = "SELECT DISTINCT repo FROM latest_findings WHERE policy_id = 'unpinned-base' ORDER BY repo"
    found = cli("sql", "-c", str(cfg), q, "--format", "json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) == [{"repo": "web"}]
    assert not list(elsewhere.glob("*.duckdb")) and not (elsewhere / "sql").exists()


@pytest.mark.slow
def test_the_flows_extra_gives_working_flows(venv: Path, wheel: Path, org: Org, elsewhere: Path) -> None:
    """The extra installs beside the wheel, Prefect's own loader (what a deployment runs) finds the flow in
    the installed `hullcheck_flows`, and the stages it runs audit with the installed hullcheck. The
    orchestration itself, on a Prefect server (a minute of start-up), is tests/test_flows.py's."""
    _pip_install(venv, f"hullcheck[flows] @ {wheel.as_uri()}")
    org.repo("api", [Commit(days_ago(2), {"Dockerfile": "FROM python:3.12\n"})])
    cfg = org.write_config()
    code = f"""
import json, prefect
from pathlib import Path
from prefect.flows import load_flow_from_entrypoint
from hullcheck_flows import nightly_audit as module
flow = load_flow_from_entrypoint("hullcheck_flows.nightly_audit:nightly_audit")
assert isinstance(flow, prefect.Flow) and flow.name == "nightly-audit", flow
print("FROM", module.__file__)
summary = module.run_audit(module.load_config(Path({str(cfg)!r})))  # the library the flow runs, as installed
report = module.run_report(Path({str(cfg)!r}), summary)
print("RESULT", json.dumps({{"status": summary.status, "extracted": report.extracted, "failures": report.failures}}))
"""
    proc = _python(venv, code, elsewhere, PREFECT_HOME=str(elsewhere / "prefect"), DO_NOT_TRACK="1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert next(ln for ln in lines if ln.startswith("FROM ")).startswith(f"FROM {venv.resolve()}/")
    result = json.loads(next(ln for ln in lines if ln.startswith("RESULT ")).removeprefix("RESULT "))
    assert result["status"] == "ok" and result["extracted"] == 1 and result["failures"] == []
    assert org.query("SELECT status, repos_total FROM runs") == [("ok", 1)]


def test_nothing_in_the_package_imports_the_flows_extra() -> None:
    """Prefect lives in flows/ only; every import form counts (top level, in functions, TYPE_CHECKING)."""
    offenders = []
    for path in sorted((ROOT / "src" / "hullcheck").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.split(".")[0] in EXTRA]
    assert offenders == []


def test_the_editable_install_reads_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """The development install copies nothing: sql/ is read where it is edited."""
    monkeypatch.delenv("HULLCHECK_HOME", raising=False)
    assert not assets.BUNDLED.exists()
    assert assets.sql_dir() == ROOT / "sql" and assets.templates_dir() == ROOT / "reports" / "templates"
    assert assets.policy_cases_dir() == ROOT / "tests" / "cases" / "policies"


def test_hullcheck_home_overrides_and_must_hold_the_assets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "sql" / "queries").mkdir(parents=True)
    (tmp_path / "sql" / "queries" / "x.sql").write_text("SELECT 42\n")
    monkeypatch.setenv("HULLCHECK_HOME", str(tmp_path))
    assert assets.read_sql("queries/x.sql") == "SELECT 42\n" and assets.policies_dir() == tmp_path / "policies"
    monkeypatch.setenv("HULLCHECK_HOME", str(tmp_path / "nothing"))
    with pytest.raises(ConfigError, match=r"HULLCHECK_HOME=.*/nothing: no sql/ folder there"):
        assets.sql_dir()
