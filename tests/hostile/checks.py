"""Every case ends as facts or as an error row naming its subject, read from the public views.

Per subject kind:
- git / git-url: one `repo_snapshots` row per run; a failed one has an error that starts with
  the repository's URL; an `internal error` (a bug caught by the crawl's safety net, which throws
  the whole repository's facts away) is a crash; a commit extracted by run 1 is `unchanged` in
  run 2; the files the case names have their rows (`dockerfiles`, `compose_projects` or a
  `repo_files` row saying why it was skipped).
- layout: `images` rows for `layout:PATH` in each run; a failed row has an error; a valid image
  (`image_ok`) is a tag read new/known with its `image_manifests` row.
- registry: the same for the repository in the registry; `layer_facts`: a layer scan summary, or
  an error recorded for one of the image's layers (the private `layer_scans` table: the public
  views have no place for it).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from hostile.model import Case

CRASH, LEAK, OUTSIDE, ROW, RSS, NOTE = "crash", "leak", "read outside", "wrong row", "RSS", "note"
CATEGORIES = (CRASH, LEAK, OUTSIDE, ROW, RSS)


@dataclass
class Problem:
    category: str
    case_id: str | None  # None: the run as a whole
    text: str


@dataclass
class Snapshot:
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def _q(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    try:
        return con.execute(sql).fetchall()
    except duckdb.Error as e:
        return [("__error__", str(e))]


def load(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The rows the checks need, from the public views (and `layer_scans` for layer errors)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "runs": _q(con, "SELECT run_id, status, message FROM runs ORDER BY run_id"),
            "snapshots": _q(con, "SELECT run_id, repo, url, status, error FROM repo_snapshots"),
            "files": _q(con, "SELECT run_id, repo, path, kind, skipped_reason FROM repo_files"),
            "dockerfiles": _q(con, "SELECT run_id, repo, path, skipped_reason, parse_error FROM dockerfiles"),
            "projects": _q(
                con,
                "SELECT run_id, repo, files, included_files, error, service_count, project_dir FROM compose_projects",
            ),
            "images": _q(con, "SELECT run_id, registry, repository, tag, status, error FROM images"),
            "manifests": _q(con, "SELECT DISTINCT run_id, registry, repository, tag FROM image_manifests"),
            "summaries": _q(con, "SELECT DISTINCT run_id, registry, repository, tag FROM image_files_summary"),
            "layers": _q(con, "SELECT DISTINCT run_id, registry, repository, tag, layer_digest FROM image_layers"),
            "layer_errors": _q(con, _layer_errors_sql(con)),
        }
    finally:
        con.close()


def _layer_errors_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Layers whose scan failed: the public `image_layers.scan_error` where the schema has it, else the
    private `layer_scans` table (before schema version 6)."""
    cols = {
        r[0]
        for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'image_layers'").fetchall()
    }
    if "scan_error" in cols:
        return "SELECT DISTINCT layer_digest, scan_error FROM image_layers WHERE scan_error IS NOT NULL"
    return "SELECT layer_digest, error FROM layer_scans WHERE error IS NOT NULL"


def _errors(data: dict[str, list[tuple[Any, ...]]]) -> list[Problem]:
    return [
        Problem(ROW, None, f"query for {name} failed: {rows[0][1]}")
        for name, rows in data.items()
        if rows and rows[0][0] == "__error__"
    ]


def layout_file_name(registry: str | None) -> str | None:
    if not registry or not registry.startswith("layout:"):
        return None
    return os.path.basename(registry[len("layout:") :].rstrip("/"))


def check_cases(
    cases: list[Case],
    data: dict[str, list[tuple[Any, ...]]],
    run_ids: list[int],
    registry_host: str | None,
    layout_scan: bool = False,
) -> tuple[list[Problem], list[Problem]]:
    """(problems, notes) for every case in the runs `run_ids` (the first is the cold run)."""
    problems, notes = _errors(data), []
    if any(rows and rows[0][0] == "__error__" for rows in data.values()):
        return problems, notes
    by_repo: dict[int, dict[str, list[tuple[Any, ...]]]] = defaultdict(lambda: defaultdict(list))
    for row in data["snapshots"]:
        by_repo[row[0]][row[1]].append(row)
    repo_names = {row[1] for row in data["snapshots"]}
    layouts = {(r[0], layout_file_name(r[1])): r for r in data["images"] if layout_file_name(r[1])}
    layout_names = {name for _, name in layouts}
    image_rows: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
    for r in data["images"]:
        name = layout_file_name(r[1])
        if name is not None:
            image_rows[(r[0], "L:" + name)].append(r)
        elif r[1] == registry_host:
            image_rows[(r[0], "R:" + str(r[2]))].append(r)
    for case in cases:
        if case.carrier in ("git", "git-url"):
            names = [n for n in repo_names if case.matches(n)]
            _check_repo(case, names, by_repo, data, run_ids, problems, notes)
        elif case.carrier == "layout":
            names = [n for n in layout_names if case.matches(n)]
            key = "L:" + names[0] if len(names) == 1 else None
            if len(names) > 1:
                problems.append(Problem(ROW, case.id, f"several layouts match: {names}"))
            _check_images(case, key, f"layout:…/{case.key}…", image_rows, data, run_ids, problems, False, layout_scan)
        else:
            _check_images(
                case,
                "R:" + str(case.registry_repo),
                f"{registry_host}/{case.registry_repo}",
                image_rows,
                data,
                run_ids,
                problems,
                registry=True,
            )
    return problems, notes


def _check_repo(
    case: Case,
    names: list[str],
    by_repo: Any,
    data: dict[str, list[tuple[Any, ...]]],
    run_ids: list[int],
    problems: list[Problem],
    notes: list[Problem],
) -> None:
    if len(names) != 1:
        what = "no repo_snapshots row" if not names else f"rows for several names {names!r}"
        problems.append(Problem(ROW, case.id, f"{what} (expected repository {case.key!r})"))
        return
    name = names[0]
    first: tuple[Any, ...] | None = None
    for i, run in enumerate(run_ids, 1):
        rows = by_repo[run].get(name, [])
        if len(rows) != 1:
            problems.append(Problem(ROW, case.id, f"run {i}: {len(rows)} repo_snapshots rows (expected 1)"))
            continue
        _, _, url, status, error = rows[0]
        if i == 1:
            first = rows[0]
        if status == "failed":
            if not error:
                problems.append(Problem(ROW, case.id, f"run {i}: status failed without an error"))
            elif "internal error" in error:
                problems.append(
                    Problem(CRASH, case.id, f"run {i}: repository failed with a caught exception: {error[:300]!r}")
                )
            elif not str(error).startswith(str(url)):
                problems.append(
                    Problem(ROW, case.id, f"run {i}: the error does not start with the URL {url!r}: {error[:200]!r}")
                )
        elif status not in ("extracted", "unchanged", "empty"):
            problems.append(Problem(ROW, case.id, f"run {i}: unknown status {status!r}"))
        if i == 2 and first is not None and first[3] == "extracted" and status != "unchanged":
            problems.append(
                Problem(ROW, case.id, f"run 2: status {status!r} for a commit run 1 extracted (expected unchanged)")
            )
    if first is None or first[3] != "extracted":
        return
    run = run_ids[0]
    files = [r for r in data["files"] if r[0] == run and r[1] == name]
    dfs = [r for r in data["dockerfiles"] if r[0] == run and r[1] == name]
    projects = [r for r in data["projects"] if r[0] == run and r[1] == name]
    dirs = {r[6] for r in projects}
    for exp in case.expects:
        if exp.what == "dockerfile":
            hit = [r for r in dfs if fnmatch.fnmatchcase(r[2], exp.path)]
            if not hit:
                problems.append(
                    Problem(ROW, case.id, f"no dockerfiles row for {exp.path!r} (repo_files has {_paths(files)})")
                )
            for r in hit:
                if r[4] and "internal error" in r[4]:
                    notes.append(
                        Problem(
                            NOTE, case.id, f"dockerfiles.parse_error of {r[2]!r} is a caught exception: {r[4][:200]!r}"
                        )
                    )
        elif exp.what == "compose":
            loaded = [
                p for p in projects if any(fnmatch.fnmatchcase(f, exp.path) for f in [*(p[2] or []), *(p[3] or [])])
            ]
            skipped = [r for r in files if fnmatch.fnmatchcase(r[2], exp.path) and r[4]]
            failed_dir = [p for p in projects if p[4] and fnmatch.fnmatchcase(p[6], posixpath.dirname(exp.path))]
            if not loaded and not skipped and not failed_dir:
                problems.append(
                    Problem(
                        ROW,
                        case.id,
                        f"no compose_projects row naming {exp.path!r} and no skipped "
                        f"repo_files row (repo_files has {_paths(files)})",
                    )
                )
            for p in loaded:
                if p[4] and "unexpected type or form" in p[4]:
                    notes.append(
                        Problem(
                            NOTE, case.id, f"compose_projects.error is the catch-all for an exception: {p[4][:200]!r}"
                        )
                    )
        elif exp.what == "project":
            if not any(fnmatch.fnmatchcase(d, exp.path) for d in dirs):
                problems.append(
                    Problem(
                        ROW,
                        case.id,
                        f"no compose_projects row for the directory {exp.path!r} (projects: {sorted(dirs)!r})",
                    )
                )
        elif exp.what == "file" and not any(fnmatch.fnmatchcase(r[2], exp.path) for r in files):
            problems.append(
                Problem(ROW, case.id, f"no repo_files row for {exp.path!r} (repo_files has {_paths(files)})")
            )


def _paths(rows: list[tuple[Any, ...]]) -> str:
    shown = [f"{r[2]!r}:{r[3]}" for r in rows[:6]]
    return "[" + ", ".join(shown) + (", …" if len(rows) > 6 else "") + "]"


def _check_images(
    case: Case,
    key: str | None,
    subject: str,
    image_rows: dict[tuple[int, str], list[tuple[Any, ...]]],
    data: dict[str, list[tuple[Any, ...]]],
    run_ids: list[int],
    problems: list[Problem],
    registry: bool,
    scans: bool = True,
) -> None:
    for i, run in enumerate(run_ids, 1):
        rows = image_rows.get((run, key), []) if key else []
        if not rows:
            problems.append(Problem(ROW, case.id, f"run {i}: no images row for {subject}"))
            continue
        for r in rows:
            if r[4] == "failed" and not r[5]:
                problems.append(
                    Problem(ROW, case.id, f"run {i}: a failed images row without an error ({r[2]!r}:{r[3]!r})")
                )
        ok = [r for r in rows if r[4] in ("new", "known") and r[3] is not None]
        for exp in case.expects:
            if exp.what == "image_ok":
                if not ok:
                    errs = "; ".join(str(r[5])[:200] for r in rows if r[5])[:400]
                    problems.append(
                        Problem(ROW, case.id, f"run {i}: no tag read (new/known) for a valid image; errors: {errs!r}")
                    )
                    continue
                if registry:
                    missing = sorted(set(case.registry_tags) - {r[3] for r in ok})
                    if missing:
                        problems.append(Problem(ROW, case.id, f"run {i}: tags not read: {missing}"))
                have = {(m[1], m[2], m[3]) for m in data["manifests"] if m[0] == run}
                lost = [r[3] for r in ok if (r[1], r[2], r[3]) not in have]
                if lost:
                    problems.append(
                        Problem(ROW, case.id, f"run {i}: tags read without an image_manifests row: {lost[:5]!r}")
                    )
            elif exp.what == "layer_facts" and i == 1 and scans:
                summaries = {(s[1], s[2], s[3]) for s in data["summaries"] if s[0] == run}
                layer_errors = {d for d, _ in data["layer_errors"]}
                for r in ok:
                    digests = {
                        la[4] for la in data["layers"] if la[0] == run and (la[1], la[2], la[3]) == (r[1], r[2], r[3])
                    }
                    if (r[1], r[2], r[3]) not in summaries and not digests & layer_errors:
                        problems.append(
                            Problem(
                                ROW,
                                case.id,
                                f"run {i}: tag {r[3]!r}: no layer scan summary and no layer "
                                "error recorded (the scan left no trace)",
                            )
                        )


def check_runs(data: dict[str, list[tuple[Any, ...]]], expected: int) -> list[Problem]:
    runs = data.get("runs", [])
    if runs and runs[0][0] == "__error__":
        return []
    committed = [r for r in runs if r[1] in ("ok", "partial")]
    out = []
    if len(committed) != expected:
        out.append(
            Problem(
                CRASH,
                None,
                f"{len(committed)} committed runs of {expected} (runs: "
                f"{[(r[0], r[1], (r[2] or '')[:200]) for r in runs]})",
            )
        )
    return out


def marker_reads(cases: list[Case], opened: dict[str, Any], outside: Path) -> list[Problem]:
    owner = {str(m): c for c in cases for m in c.markers}
    dirs = {str(m.parent): c for c in cases for m in c.markers if str(m).startswith(str(outside))}
    out = []
    for path, what in sorted(opened.items()):
        how = ", ".join(f"{k} x{n}" for k, n in sorted(what.items()))
        if path in owner:
            out.append(Problem(OUTSIDE, owner[path].id, f"marker {path} was opened ({how})"))
        elif "list" in what and path in dirs:
            out.append(Problem(OUTSIDE, dirs[path].id, f"marker directory {path} was listed ({how})"))
        elif "list" in what and path.startswith(str(outside)):
            out.append(Problem(OUTSIDE, None, f"the marker tree {path} was listed ({how})"))
        elif path.startswith(str(outside)):
            out.append(Problem(OUTSIDE, None, f"{path} outside the audited trees was opened ({how})"))
    return out
