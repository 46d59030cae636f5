"""What-if over history for a large org: `policies simulate` over 12 weekly runs.

    python bench/simulate_bench.py [--teams 50] [--repos 2000] [--weeks 12] [--rounds 3]

1. Builds the report bench's org (bench/report_bench.py: N repositories with two Dockerfiles and a
   Compose file each, T teams in four profiles, W weekly as-of runs in which a tenth of the
   repositories change each week, 500 image tags in the newest, each run evaluated by the whole
   catalog), with its config in a file as a user's would be.
2. Times `simulate` (the library call behind `hullcheck policies simulate --since all`) R times for
   two changes: a policy's threshold for one profile (only that policy is evaluated again), and a team
   moved to another profile (every subject may change situation: the whole catalog, every run).
   The goal is under 10 s over 12 weekly runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from report_bench import build, config

from hullcheck.config import load_config
from hullcheck.policy.catalog import load_catalog
from hullcheck.policy.simulate import changed_config, simulate
from hullcheck.store import Store

CHANGES = {
    "threshold": ["profiles.microservice.image-size-budget.max_bytes=200MB"],
    "profile": ["teams.team00.profile=datascience"],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teams", type=int, default=50)
    ap.add_argument("--repos", type=int, default=2000)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hullcheck-simulate-bench-") as tmp:
        db = Path(tmp) / "bench.duckdb"
        # The report bench's teams, in a config file as a user's would be (simulate edits the file's text);
        # the runs are evaluated with it, so a policy-scoped change re-evaluates that policy only.
        teams = [t.model_dump(include={"name", "profile", "email", "repos", "images"})
                 for t in config(db, args.teams, Path(tmp) / "site").teams]  # fmt: skip
        path = Path(tmp) / "hullcheck.yaml"
        path.write_text(yaml.safe_dump({"database": str(db), "teams": teams}, sort_keys=False))
        cfg = load_config(path)
        started = time.perf_counter()
        build(cfg, args.repos, args.weeks)
        print(f"built {args.repos} repositories, {args.teams} teams, {args.weeks} weekly runs in "
              f"{time.perf_counter() - started:.0f}s")  # fmt: skip
        catalog = load_catalog()
        for label, settings in CHANGES.items():
            new_cfg, affected = changed_config(cfg, settings)
            times, sim = [], None
            for _ in range(args.rounds):
                with Store.open_analysis(db) as store:
                    t0 = time.perf_counter()
                    sim = simulate(store, (cfg, catalog), (new_cfg, catalog), affected, None)
                    times.append(time.perf_counter() - t0)
            assert sim is not None
            fires = sum(1 for c in sim.changes if c.change == "fires")
            stops = len(sim.changes) - fires
            how = "changed policies" if all(r.reevaluated == "changed policies" for r in sim.runs) else "all policies"
            print(f"{label} ({' '.join(settings)}): {len(sim.runs)} runs, {how}; {fires} would fire, {stops} stop")
            print(f"  seconds: min {min(times):.2f}  median {statistics.median(times):.2f}  max {max(times):.2f}"
                  f"  ({args.rounds} rounds; goal < 10 s)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
