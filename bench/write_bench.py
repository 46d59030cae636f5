"""The write stage alone: rows per second of `Store.insert_groups` inside real audits, and its share.

    python bench/write_bench.py [--repos N] [--layer-files F] [--top T] [--rounds R]

1. A corpus-sized audit: a synthetic git org of N repositories (default 200: Dockerfiles, Compose files,
   build manifests; about 15,000 rows), audited once from scratch.
2. A layer scan: an OCI layout holding one image whose layer has F files (default 60,000) under the
   directories real layers have (site-packages, node_modules/@scope, x86_64-linux-gnu, plain data),
   audited with `layer_scan: true` (one `layer_file_facts` row per file), R times (default 5), each into
   a new database: the bulk rate is printed as min / median / max over the rounds.

Each is an in-process `run_audit`; every call of `Store.insert_groups` is timed from outside (so the
script measures older code the same way), and the figures are the sum over the audit: rows, seconds,
rows per second, and the write stage's share of the whole audit.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from support.oci.builder import Image, Layer
from support.oci.layouts import write_oci_layout
from synth_org import make_org

from hullcheck.audit import run_audit
from hullcheck.config import load_config
from hullcheck.store import Store

ROWS: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()


def _timed(original: Any) -> Any:
    def insert_groups(self: Store, table: str, groups: Any, **kw: Any) -> int:
        started = time.perf_counter()
        n = original(self, table, groups, **kw)
        SECONDS[table] += time.perf_counter() - started
        ROWS[table] += n
        return n

    return insert_groups


def measure(label: str, config: Path, top: int, fresh: bool = False) -> dict[str, float]:
    """One audit of `config`; with `fresh`, its database is deleted first (each round a first audit).
    Returns rows per second by table."""
    ROWS.clear()
    SECONDS.clear()
    cfg = load_config(config)
    if fresh:
        for p in cfg.database_path.parent.glob(cfg.database_path.name + "*"):
            p.unlink()
    summary = run_audit(cfg)
    total, rows, seconds = summary.seconds, sum(ROWS.values()), sum(SECONDS.values())
    print(f"{label}: audit {total:.2f}s ({summary.status}); write stage {seconds:.3f}s for {rows:,} rows = "
          f"{rows / seconds:,.0f} rows/s, {seconds / total:.1%} of the audit")  # fmt: skip
    for table, n in ROWS.most_common(top):
        print(f"    {table:<24} {n:>8,} rows  {SECONDS[table]:.3f}s  {n / SECONDS[table]:>12,.0f} rows/s")
    return {table: n / SECONDS[table] for table, n in ROWS.items() if SECONDS[table]}


# Paths as real layers have them (a Python runtime, npm packages, system libraries, plain data): the
# storage screen reads every path, so paths like these are what its cost depends on.
_LAYER_DIRS = ("usr/local/lib/python3.11/site-packages/pkg{}", "app/node_modules/@scope/mod{}",
               "usr/lib/x86_64-linux-gnu/lib{}", "usr/share/app/d{}")  # fmt: skip


def _layer_path(i: int) -> str:
    return f"/{_LAYER_DIRS[i % len(_LAYER_DIRS)].format(i // 1000)}/f{i}.txt"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--layer-files", type=int, default=60_000)
    ap.add_argument("--top", type=int, default=4, help="tables listed per audit, most rows first")
    ap.add_argument("--rounds", type=int, default=5, help="layer-scan audits, each into a new database")
    args = ap.parse_args()
    Store.insert_groups = _timed(Store.insert_groups)  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory(prefix="hullcheck-write-bench-") as tmp:
        root = Path(tmp)
        measure(f"corpus-sized audit ({args.repos} repositories)", make_org(root / "org", args.repos), args.top)

        files = {_layer_path(i): f"{i}\n".encode() for i in range(args.layer_files)}
        write_oci_layout(root / "layout", {"1.0": Image([Layer(files)], {"Labels": {"title": "many-files"}})})
        cfg = root / "layout.yaml"
        cfg.write_text(
            yaml.safe_dump({"database": "layout.duckdb", "layouts": [{"path": "layout", "layer_scan": True}]})
        )
        rates = [
            measure(f"layer scan ({args.layer_files:,} files in one layer), round {k + 1}", cfg, args.top, fresh=True)
            for k in range(args.rounds)
        ]
        bulk = sorted(r["layer_file_facts"] for r in rates)
        print(f"layer_file_facts over {args.rounds} rounds: min {bulk[0]:,.0f}  median {statistics.median(bulk):,.0f}  "
              f"max {bulk[-1]:,.0f} rows/s (goal >= 500,000)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
