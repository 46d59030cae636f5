"""The nightly flow's overhead against the library called directly, on threads and on Dask.

    PYTHONPATH=. python bench/flow_bench.py [--repos 200] [--rounds 3]

Builds a synthetic git org of N repositories (bench/synth_org.py), then, in rounds, audits it from
scratch (fresh database and mirror cache each time) three ways: `run_audit` directly (the
`hullcheck audit` path), the `nightly-audit` flow on its default thread pool, and the flow on a local
Dask cluster of 2 worker processes. One Prefect test server serves every flow run (its start-up is not
timed: a served deployment or `prefect server start` is already up at 02:00). Prints min / median /
max per way and the overhead against the direct call. Then the same three on a no-change night.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import yaml
from synth_org import make_org

from hullcheck.audit import run_audit
from hullcheck.config import load_config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hullcheck-flow-bench-") as tmp:
        os.environ.setdefault("PREFECT_HOME", str(Path(tmp) / "prefect"))
        from prefect.testing.utilities import prefect_test_harness

        from flows.nightly_audit import nightly_audit, on_dask

        base = make_org(Path(tmp) / "org", args.repos)
        ways = {"library": None, "flow, threads": nightly_audit, "flow, dask (2 workers)": on_dask(None, 2)}
        full: dict[str, list[float]] = {w: [] for w in ways}
        quiet: dict[str, list[float]] = {w: [] for w in ways}
        with prefect_test_harness(server_startup_timeout=90):
            for r in range(args.rounds):
                for way, flow in ways.items():
                    cfg = Path(tmp) / f"{r}-{len(full[way])}-{way[:4]}.yaml"
                    data = yaml.safe_load(base.read_text())
                    root = Path(tmp) / f"db-{way[:4]}-{r}"
                    shutil.rmtree(root, ignore_errors=True)
                    data["database"], data["cache_dir"] = str(root / "h.duckdb"), str(root / "cache")
                    cfg.write_text(yaml.safe_dump(data))
                    for times in (full, quiet):  # from scratch, then the no-change night after it
                        started = time.perf_counter()
                        if flow is None:
                            status = run_audit(load_config(cfg)).status
                        else:
                            status = flow(config_path=str(cfg))["status"]
                        times[way].append(time.perf_counter() - started)
                        assert status == "ok", (way, status)
        for label, times in (("first audit", full), ("no-change night", quiet)):
            direct = statistics.median(times["library"])
            print(f"{label} of {args.repos} repositories ({args.rounds} rounds):")
            for way, t in times.items():
                m = statistics.median(t)
                print(f"  {way:24s} min {min(t):6.2f}  median {m:6.2f}  max {max(t):6.2f} s"
                      f"  overhead {m - direct:+.2f} s ({m / direct - 1:+.0%})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
