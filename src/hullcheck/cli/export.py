"""`hullcheck export`: a run's findings as SARIF, JSON or CSV, to stdout, a file or one file per repository."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hullcheck.cli.common import fail
from hullcheck.store import Store
from hullcheck.store_files import replace_durably

EXPORT_FORMATS = ("sarif", "json", "csv")
SUFFIX = {"sarif": ".sarif", "json": ".json", "csv": ".csv"}


def run_export(config_path: Path, database: Path | None, fmt: str, team: str | None, repo: str | None,
               run: int | None, output: Path | None, split_by: str | None) -> int:  # fmt: skip
    from hullcheck.assets import read_sql
    from hullcheck.policy import export

    if fmt not in EXPORT_FORMATS:
        raise fail(f"unknown format {fmt!r}: use sarif, json or csv")
    if split_by not in (None, "repo"):
        raise fail(f"unknown --split-by {split_by!r}: the one way to split is `repo`")
    if split_by and output is None:
        raise fail("--split-by repo writes one file per repository: give the directory with --output DIR")
    cfg = _config(config_path)
    path = database if database is not None else cfg.database_path if cfg else None
    if path is None:
        raise fail(f"no database: {config_path} does not exist; name one with --database FILE")
    with Store.open(path, read_only=True) as store:
        runs = store.query("export_runs", [run])
        if not runs:
            raise fail(f"run {run} has no evaluation (see `hullcheck runs`)" if run is not None
                       else "no evaluated run yet (run `hullcheck audit` first)")  # fmt: skip
        result = store.select(read_sql("queries/export_findings.sql"), [run, team, repo])
    target = export.ExportRun(*runs[0][:6])
    findings = export.records(result.columns, result.rows)
    base_url = cfg.report.base_url if cfg else None
    catalog = _catalog(cfg)

    def render(rows: list[dict[str, Any]]) -> str:
        if fmt == "sarif":
            return json.dumps(export.sarif(rows, catalog, target, base_url), indent=1, ensure_ascii=False) + "\n"
        if fmt == "json":
            return json.dumps(export.json_document(rows, target), indent=1, ensure_ascii=False) + "\n"
        return export.csv_text(rows)

    if split_by == "repo":
        assert output is not None
        output.mkdir(parents=True, exist_ok=True)
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for f in findings:
            groups.setdefault(f["repo"], []).append(f)
        for name, rows in sorted(groups.items(), key=lambda g: (g[0] is None, g[0] or "")):
            file = output / (export.file_stem(name) + SUFFIX[fmt])
            _write_atomically(file, render(rows))
            print(f"{file}: {len(rows)} finding(s) of {name or 'images and other subjects without a repository'}",
                  file=sys.stderr)  # fmt: skip
        if not groups:
            print(f"no findings in run {target.run_id} for this selection: nothing written", file=sys.stderr)
        return 0
    text = render(findings)
    if output is None:
        sys.stdout.write(text)
    else:
        _write_atomically(output, text)
        print(f"{output}: {len(findings)} finding(s) of run {target.run_id}", file=sys.stderr)
    return 0


def _config(path: Path):  # type: ignore[no-untyped-def]
    from hullcheck.config import load_config

    return load_config(path) if path.exists() else None


def _catalog(cfg):  # type: ignore[no-untyped-def]
    from hullcheck.policy.catalog import load_catalog

    return load_catalog(cfg.policies_path if cfg else None)


def _write_atomically(path: Path, text: str) -> None:
    """Readers (an upload step, a watcher) never see half a file: written beside it, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        replace_durably(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
