"""The package layout's import rules, read from the source with `ast` (every import: top level,
inside functions, under TYPE_CHECKING), so a new module cannot quietly point upwards.

Layers, lowest first; a module may import its own package and anything lower, never higher:
  0  errors, columns, assets, redact, dates, jsonshape   (leaves every layer may use)
  1  extract/ (pure), sources/ (I/O only), demo/
  2  config (config_sources, config_report), store (store_values, store_files, store_writes, store_scratch)
  3  crawl/ (sources + extract + writer)
  4  policy/
  5  audit (run stages), report/
  6  cli/ (and __main__)
On top of the ranks: extract and sources never import each other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "hullcheck"
RANK = {
    "errors": 0, "columns": 0, "assets": 0, "redact": 0, "dates": 0, "jsonshape": 0, "__init__": 0,
    "extract": 1, "sources": 1, "demo": 1,
    "config": 2, "config_sources": 2, "config_report": 2,
    "store": 2, "store_values": 2, "store_files": 2, "store_writes": 2, "store_scratch": 2, "store_export": 2,
    "crawl": 3,
    "policy": 4,
    "audit": 5, "policy_cases": 5, "report": 5, "retention": 5, "backfill": 5, "worktree": 5,
    "cli": 6, "__main__": 6,
}  # fmt: skip
APART = {("extract", "sources"), ("sources", "extract")}


def _unit(module: str) -> str:
    """`hullcheck.extract.compose.load` -> `extract`; the package itself -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _from_package(name: str) -> str:
    """`from hullcheck import audit` imports a module; `from hullcheck import __version__` the package."""
    is_module = (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()
    return f"hullcheck.{name}" if is_module else "hullcheck"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "hullcheck" else [_from_package(a.name) for a in node.names]
            found += [(node.lineno, n) for n in names if n.split(".")[0] == "hullcheck"]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "hullcheck"]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "<relative>"))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_rank() -> None:
    units = {_unit("hullcheck." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)) for p in MODULES}
    assert units <= set(RANK), f"give these a layer in RANK: {units - set(RANK)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_point_down(path: Path) -> None:
    here = _unit("hullcheck." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    wrong = []
    for line, target in _imports(path):
        if target == "<relative>":
            wrong.append(f"line {line}: relative import (use absolute hullcheck.… imports)")
            continue
        there = _unit(target)
        if there == here:
            continue
        if RANK.get(there, 99) > RANK[here] or (here, there) in APART:
            wrong.append(f"line {line}: {here} (layer {RANK[here]}) imports {target} (layer {RANK.get(there)})")
    assert not wrong, "\n".join(wrong)


def test_the_rules_of_the_issue_hold_by_name() -> None:
    """Spelled out: extract/ and sources/ import no store, crawl, policy, report or cli; store imports none of
    crawl, policy, report, cli."""
    forbidden = {
        "extract": {"store", "crawl", "policy", "report", "cli", "sources"},
        "sources": {"store", "crawl", "policy", "report", "cli", "extract"},
        "store": {"crawl", "policy", "report", "cli"},
    }
    checked = 0
    for path in MODULES:
        here = _unit("hullcheck." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for line, target in _imports(path):
            assert _unit(target) not in forbidden.get(here, set()), f"{path.relative_to(PACKAGE)}:{line} {target}"
            checked += here in forbidden
    assert checked > 20  # the rule looked at real imports, not at an empty list


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The reader finds imports wherever they are (a function body, TYPE_CHECKING)."""
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hullcheck.store import Store\n"
        "def f():\n    import hullcheck.crawl.git\n    from hullcheck import audit\n"
    )
    assert [t for _, t in _imports(src)] == ["hullcheck.store", "hullcheck.crawl.git", "hullcheck.audit"]


@pytest.mark.parametrize(
    ("module", "must_not_load"),
    [
        # `hullcheck sql`, `runs`, `--help`: no git, no HTTP stack, no Prefect, not even the database driver.
        ("hullcheck.cli.app", ("git", "requests", "oras", "prefect", "duckdb", "yaml", "pydantic")),
        # a git-only audit: the HTTP stack and Prefect load only when registries (or flows) are used.
        ("hullcheck.audit", ("requests", "oras", "prefect")),
    ],
)
def test_start_up_stays_light(module: str, must_not_load: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print(' '.join(m for m in {must_not_load!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"
