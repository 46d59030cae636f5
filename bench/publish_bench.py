"""The publish step's cost: checkpoint + copy + rename of the writer's file, for a database of a given size.

    python bench/publish_bench.py [--gib 1.0] [--rounds 5] [--dir DIR]

Builds a hullcheck database (the real schema, via `Store.open`) whose working file is padded to about
`--gib` GiB with a private table of incompressible text, then times `Store.publish()` R times (each
preceded by a small committed write, as after a run), and prints min / median / max seconds and the
copy rate. `--dir` chooses the filesystem (a reflink-capable one, btrfs or XFS, makes the copy O(1)).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hullcheck.store import Store
from hullcheck.store_files import DatabaseFiles


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hullcheck-publish-bench-", dir=args.dir) as tmp:
        db = Path(tmp) / "hullcheck.duckdb"
        store = Store.open(db, memory_limit="1GB")
        rows = int(args.gib * 1024**3 / 36)  # two md5 hex texts and an id: about 36 bytes a row once compressed
        store.ad_hoc(f"CREATE TABLE zz_ballast AS SELECT range AS i, md5(range::VARCHAR) AS a, "
                     f"md5((range + 1)::VARCHAR) AS b FROM range({rows})")  # fmt: skip
        store.publish()
        size = DatabaseFiles(db).work.stat().st_size
        times = []
        for k in range(args.rounds):
            store.ad_hoc(f"INSERT INTO hullcheck_meta VALUES ('publish_bench_{k}', 'x')")
            started = time.perf_counter()
            store.publish()
            times.append(time.perf_counter() - started)
        store.close(publish=False)
        print(f"database {size / 1024**3:.2f} GiB; publish (checkpoint + copy + rename), {args.rounds} rounds: "
              f"min {min(times):.2f}s  median {statistics.median(times):.2f}s  max {max(times):.2f}s  "
              f"({size / 1024**2 / statistics.median(times):,.0f} MiB/s)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
