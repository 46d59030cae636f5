"""Policy evaluation over a large org: the whole catalog, every team at once.

    python bench/eval_bench.py [--repos N] [--rounds R] [--night N2]

1. Builds a database of N repositories (default 5000: two Dockerfiles and a Compose file each,
   about 110,000 instruction rows) and 500 image tags through the same pure extraction and
   writer an audit uses (no git: the figure is the evaluation alone), owned by four teams in
   four profiles, and times `evaluate_run` R times (each a new evaluation of the same run).
2. With --night N2 (default 200), audits a real synthetic git org of N2 repositories twice and
   prints the no-change night's total time and the evaluation's share of it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from synth_org import dockerfile, make_org

from hullcheck.audit import AuditSummary, begin_run, finish_run, run_audit
from hullcheck.config import load_config, parse_config
from hullcheck.crawl.rows import RepoResult, SnapshotRow
from hullcheck.crawl.writer import GitWriter, write_images
from hullcheck.extract.commit import extract_files
from hullcheck.policy.catalog import load_catalog
from hullcheck.policy.evaluate import evaluate_run
from hullcheck.policy_cases import image_facts
from hullcheck.store import Store

TEAMS = [("payments", "microservice"), ("web", "monolith"), ("data", "datascience"), ("platform", "tooling")]
COMPOSE = """services:
  api:
    build: .
    image: registry.example.org/{team}/svc{i}:1
    environment: [A=1, B=2, C=3]
    depends_on: [db]
  db:
    image: postgres:16
  adminer:
    image: adminer:4
"""


def build(db: Path, repos: int) -> tuple[int, int]:
    rng = random.Random(11)
    teams = [{"name": t, "profile": p, "repos": [f"{t}-*"], "images": [f"bench.local/{t}-*"]} for t, p in TEAMS]
    cfg = parse_config(yaml.safe_dump({"database": str(db), "teams": teams}))
    with Store.open(db) as store:
        run = begin_run(store, cfg, None, None)
        writer = GitWriter(store, run, 200)
        for i in range(repos):
            team = TEAMS[i % len(TEAMS)][0]
            name = f"{team}-svc{i}"
            files = {"Dockerfile": dockerfile(rng, i).encode(), "worker/Dockerfile": dockerfile(rng, i + 1).encode(),
                     "compose.yaml": COMPOSE.format(team=team, i=i).encode()}  # fmt: skip
            commit = f"{i:040x}"
            snap = SnapshotRow(name, f"bench/{name}", "refs/heads/main", commit, None, "extracted")
            writer.add(RepoResult(snap, True, extract_files(files, name, commit)))
        writer.flush()
        for i in range(500):
            team = TEAMS[i % len(TEAMS)][0]
            spec = {
                "tag": "1",
                "layers": [f"{rng.randint(5, 900)}MB", "20MB"],
                "config": {"User": "" if i % 3 else "1000"},
            }
            _, result = image_facts(f"{team}-img{i}/app", spec)
            result.source = result.tags[0].registry = "bench.local"
            write_images(store, run, result)
        finish_run(store, run, AuditSummary(run).git, AuditSummary(run).images)
        rows = store.ad_hoc(f"SELECT count(*) FROM dockerfile_instructions WHERE run_id = {run}").rows[0][0]
    return run, int(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--night", type=int, default=200)
    args = ap.parse_args()
    catalog = load_catalog()
    with tempfile.TemporaryDirectory(prefix="hullcheck-eval-bench-") as tmp:
        db = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        run, instructions = build(db, args.repos)
        print(f"built {args.repos} repositories, {instructions} instruction rows, 500 image tags "
              f"in {time.perf_counter() - started:.1f}s")  # fmt: skip
        teams = [{"name": t, "profile": p, "repos": [f"{t}-*"], "images": [f"bench.local/{t}-*"]} for t, p in TEAMS]
        cfg = parse_config(yaml.safe_dump({"database": str(db), "teams": teams}))
        times, publishing = [], []
        with Store.open(db) as store:
            for _ in range(args.rounds):
                ev = evaluate_run(store, cfg, run, catalog, trigger="evaluate")
                times.append(ev.seconds)
                # As in an audit, the evaluation is followed by the publish, whose checkpoint writes the
                # findings from the log into the file (timed apart: it is the same in every audit).
                started = time.perf_counter()
                store.publish()
                publishing.append(time.perf_counter() - started)
        print(f"evaluation of {len(catalog.policies)} policies over {ev.subjects} subjects: "
              f"{ev.findings} findings, {len(ev.errors)} errors")  # fmt: skip
        print(f"  seconds: min {min(times):.2f}  median {statistics.median(times):.2f}  max {max(times):.2f}"
              f"  ({args.rounds} rounds; goal < 2 s)")  # fmt: skip
        print(f"  publish after each (checkpoint and snapshot copy): median {statistics.median(publishing):.2f}s")
        if args.night:
            org = Path(tmp) / "org"
            config = make_org(org, args.night)
            data = yaml.safe_load(config.read_text())
            data["teams"] = [{"name": t, "profile": p, "repos": ["*"] if t == "payments" else []} for t, p in TEAMS]
            config.write_text(yaml.safe_dump(data))
            run_audit(load_config(config))
            night = run_audit(load_config(config))
            share = night.evaluation.seconds / night.seconds if night.evaluation else float("nan")
            print(f"no-change night of {args.night} repositories: {night.seconds:.2f}s, of which evaluation "
                  f"{night.evaluation.seconds if night.evaluation else float('nan'):.2f}s ({share:.0%})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
