"""Where canaries must never be: every base table and column, the raw database files, the CLI's
output, and what hullcheck writes to its cache (and to $HOME).

A canary counts as found when its full value, its 20 hex digits, or the prefix `hcCANARY` with at
least 6 of them (a secret cut at a length limit still leaks most of itself) appears, in any case.
The content of /etc/passwd (`root:x:0:0:`) is searched too: several hostile paths name it.

Caveat on raw bytes: DuckDB compresses string columns (dictionary, FSST), so a value stored in a
table may not appear verbatim in the file; the table scan is the authoritative one, the raw scan
catches what the table scan cannot see (deleted rows not yet vacuumed, the WAL, other files).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from hostile.model import CANARY_PREFIX, Canary

PASSWD = "root:x:0:0:"
_NON_TEXT = {
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "INTERVAL",
    "UUID",
}
_ROW_KEYS = (
    "run_id",
    "repo",
    "path",
    "registry",
    "repository",
    "tag",
    "blob_sha",
    "manifest_digest",
    "config_digest",
    "layer_digest",
    "project_dir",
)


@dataclass(frozen=True)
class Leak:
    canary: Canary | None  # None: found but not attributable (a cut prefix, or /etc/passwd)
    where: str  # "table t.column (row …)", "raw bytes of …", "stdout of run …", "cache file …"
    excerpt: str


class Needles:
    """Two cheap regular expressions instead of one alternation of every canary (which Python's `re`
    runs at ~1 MB/s): the prefix (or /etc/passwd) as a literal, and runs of 20+ hex digits whose
    20-character windows are looked up among the canaries' hex parts."""

    def __init__(self, canaries: list[Canary]) -> None:
        self.canaries = canaries
        self.by_hex = {c.hex: c for c in canaries}
        prefix = re.escape(CANARY_PREFIX.lower()) + "[0-9a-f]*|" + re.escape(PASSWD)
        self.text = re.compile(prefix, re.IGNORECASE)
        self.raw = re.compile(prefix.encode(), re.IGNORECASE)
        self.hex_text = re.compile("[0-9a-fA-F]{20,}")
        self.hex_raw = re.compile(rb"[0-9a-fA-F]{20,}")
        self.sql = prefix.lower() + ("|" + "|".join(sorted(self.by_hex)) if self.by_hex else "")  # RE2, on lower(…)

    def attribute(self, match: str) -> tuple[Canary | None, str]:
        m = match.lower()
        if m == PASSWD:
            return None, "content of /etc/passwd"
        if m.startswith(CANARY_PREFIX.lower()):
            tail = m[len(CANARY_PREFIX) :][:20]
            hits = [c for h, c in self.by_hex.items() if tail and h.startswith(tail)]
            if len(hits) == 1:
                return hits[0], "whole" if len(tail) >= 20 else f"cut to {len(tail)} hex digits"
            return None, f"an unattributable canary prefix {match!r}"
        return self.by_hex.get(m), "its hex digits without the prefix"

    def _hex_hits(self, run: str) -> list[tuple[int, Canary]]:
        low = run.lower()
        return [(i, self.by_hex[low[i : i + 20]]) for i in range(len(low) - 19) if low[i : i + 20] in self.by_hex]

    def find_text(self, text: str, where: str) -> list[Leak]:
        out = []
        spans = []
        for m in self.text.finditer(text):
            canary, how = self.attribute(m.group())
            spans.append((m.start(), m.end()))
            out.append(Leak(canary, f"{where} ({how})", _excerpt(text, m.start(), m.end())))
        for m in self.hex_text.finditer(text):
            for i, canary in self._hex_hits(m.group()):
                start = m.start() + i
                if not any(a <= start < b for a, b in spans):
                    out.append(
                        Leak(canary, f"{where} (its hex digits without the prefix)", _excerpt(text, start, start + 20))
                    )
        return out

    def find_bytes(self, data: bytes, where: str) -> list[Leak]:
        out = []
        spans = []
        for m in self.raw.finditer(data):
            canary, how = self.attribute(m.group().decode("ascii", "replace"))
            spans.append((m.start(), m.end()))
            out.append(Leak(canary, f"{where} ({how})", repr(data[max(0, m.start() - 40) : m.end() + 40])))
        for m in self.hex_raw.finditer(data):
            for i, canary in self._hex_hits(m.group().decode("ascii")):
                start = m.start() + i
                if not any(a <= start < b for a, b in spans):
                    out.append(
                        Leak(
                            canary,
                            f"{where} (its hex digits without the prefix)",
                            repr(data[max(0, start - 40) : start + 60]),
                        )
                    )
        return out


def _excerpt(text: str, start: int, end: int) -> str:
    return repr(text[max(0, start - 60) : end + 30])


def scan_database(path: Path, needles: Needles) -> tuple[list[Leak], list[str]]:
    """Every base table, every column that is not a number, boolean or time, cast to text."""
    leaks: list[Leak] = []
    scanned: list[str] = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal AND NOT temporary ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            cols = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
                [schema, table],
            ).fetchall()
            names = [c for c, _ in cols]
            keys = [k for k in _ROW_KEYS if k in names]
            for col, typ in cols:
                if typ.upper() in _NON_TEXT or typ.upper().startswith("DECIMAL"):
                    continue
                scanned.append(f"{table}.{col}")
                ident = f'"{schema}"."{table}"'
                key_sql = ", ".join(f'"{k}"::VARCHAR' for k in keys) or "NULL"
                rows = con.execute(
                    f'SELECT "{col}"::VARCHAR, {key_sql} FROM {ident} '
                    f'WHERE regexp_matches(lower("{col}"::VARCHAR), ?) LIMIT 200',
                    [needles.sql],
                ).fetchall()
                for value, *key_values in rows:
                    row = ", ".join(f"{k}={v!r}"[:120] for k, v in zip(keys, key_values, strict=True) if v is not None)
                    leaks += needles.find_text(value, f"table {table}.{col} (row {row})")
    finally:
        con.close()
    return leaks, scanned


def scan_files(paths: list[Path], needles: Needles, what: str) -> list[Leak]:
    leaks = []
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError:
            continue
        leaks += needles.find_bytes(data, f"{what} {p}")
    return leaks


@dataclass
class CacheScan:
    scanned: list[Path]
    excluded: list[Path]  # objects/ of git mirrors: the repositories' own content, legitimately there
    excluded_bytes: int


def cache_files(cache: Path) -> CacheScan:
    """Every file under the cache that hullcheck (or git on its behalf) writes about a repository —
    mirror config, HEAD, refs, packed-refs, FETCH_HEAD, logs, hooks, the askpass helper — but not the
    objects/ of a mirror, which hold the audited repositories' own blobs (canaries included)."""
    scanned, excluded, size = [], [], 0
    for root, dirs, files in os.walk(cache, followlinks=False):
        parts = Path(root).relative_to(cache).parts
        in_objects = any(
            part == "objects" and i > 0 and parts[i - 1].endswith((".git", ".tmp", ".broken"))
            for i, part in enumerate(parts)
        )
        for f in files:
            p = Path(root) / f
            if p.is_symlink():
                continue
            if in_objects:
                excluded.append(p)
                size += p.stat().st_size
            else:
                scanned.append(p)
        dirs.sort()
    return CacheScan(scanned, excluded, size)


def run_dir_files(run_dir: Path, skip: set[Path]) -> list[Path]:
    """Files hullcheck left in a run's directory outside its cache (database, WAL, temp files…)."""
    out = []
    for root, dirs, files in os.walk(run_dir, followlinks=False):
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink() and (Path(root) / d).name != "cache"]
        for f in files:
            p = Path(root) / f
            if not p.is_symlink() and p not in skip:
                out.append(p)
    return out
