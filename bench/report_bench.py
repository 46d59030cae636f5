"""The weekly report for a large org: the site and the mails of 50 teams and 2,000 repositories.

    python bench/report_bench.py [--teams 50] [--repos 2000] [--weeks 6] [--rounds 3]

1. Builds a database of N repositories (two Dockerfiles and a Compose file each) and 500 image
   tags, owned by T teams in four profiles, with W weekly runs (as-of, one per past ISO week; a
   tenth of the repositories change each week, so findings are new and resolved), each evaluated
   by the whole catalog, through the same pure extraction, writer and evaluation an audit uses.
2. Times `build_report` (read, charts, every page, Markdown, CSV) and the mails (composed, CSS
   inlined, written as .eml) R times; the goal is under 60 s for both together.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from eval_bench import COMPOSE
from synth_org import dockerfile

from hullcheck.audit import AuditSummary, begin_run, finish_run
from hullcheck.backfill import backfill_moments
from hullcheck.config import Config, parse_config
from hullcheck.crawl.rows import RepoResult, SnapshotRow
from hullcheck.crawl.writer import GitWriter, write_images
from hullcheck.extract.commit import extract_files
from hullcheck.policy.catalog import load_catalog
from hullcheck.policy.evaluate import evaluate_run
from hullcheck.policy_cases import image_facts
from hullcheck.report.run import build_report, dry_run_mails
from hullcheck.store import Store

PROFILES = ["microservice", "monolith", "datascience", "tooling"]


def config(db: Path, teams: int, out: Path) -> Config:
    names = [f"team{k:02d}" for k in range(teams)]
    data = {
        "database": str(db),
        "teams": [
            {
                "name": n,
                "profile": PROFILES[k % 4],
                "email": f"{n}@bench.example",
                "repos": [f"{n}-*"],
                "images": [f"bench.local/{n}-*"],
            }
            for k, n in enumerate(names)
        ],
        "email": {"from": "hullcheck@bench.example", "org_to": ["platform@bench.example"]},
        "report": {"out_dir": str(out)},
    }
    return parse_config(yaml.safe_dump(data))


def build(cfg: Config, repos: int, weeks: int) -> None:
    rng = random.Random(5)
    teams = [t.name for t in cfg.teams]
    catalog = load_catalog()
    moments = backfill_moments(datetime.now(UTC), weeks, timedelta(days=7))
    version = {i: 0 for i in range(repos)}
    known: set[str] = set()  # blob shas already stored: the crawl skips those too (known facts)
    with Store.open(cfg.database_path) as store:
        for w, moment in enumerate(moments):
            run = begin_run(store, cfg, moment, None)
            writer = GitWriter(store, run, 200)
            for i in range(repos):
                changed = w == 0 or rng.random() < 0.1  # a tenth of the repositories change each week
                version[i] += 0 if w == 0 or not changed else 1
                team = teams[i % len(teams)]
                name, v = f"{team}-svc{i}", version[i]
                commit = f"{i:020x}{v:020x}"
                if not changed:
                    snap = SnapshotRow(name, f"bench/{name}", "refs/heads/main", commit, None, "unchanged")
                    writer.add(RepoResult(snap, False))
                    continue
                files = {"Dockerfile": dockerfile(random.Random(i * 100 + v), i).encode(),
                         "worker/Dockerfile": dockerfile(random.Random(i * 100 + v + 50), i + 1).encode(),
                         "compose.yaml": COMPOSE.format(team=team, i=i).encode()}  # fmt: skip
                snap = SnapshotRow(name, f"bench/{name}", "refs/heads/main", commit, None, "extracted")
                rows = extract_files(files, name, commit)
                rows.blobs = [b for b in rows.blobs if b.blob_sha not in known]
                rows.dockerfiles = {k: d for k, d in rows.dockerfiles.items() if k not in known}
                rows.signals = {k: x for k, x in rows.signals.items() if k not in known}
                known.update(b.blob_sha for b in rows.blobs)
                known.update(rows.dockerfiles)
                known.update(rows.signals)
                writer.add(RepoResult(snap, True, rows))
            writer.flush()
            if w == len(moments) - 1:  # images only in the newest week: registries have no past
                for i in range(500):
                    spec = {"tag": "1", "layers": [f"{rng.randint(5, 900)}MB", "20MB"], "config": {"User": "1000"}}
                    _, result = image_facts(f"{teams[i % len(teams)]}-img{i}/app", spec)
                    result.source = result.tags[0].registry = "bench.local"
                    write_images(store, run, result)
            summary = AuditSummary(run)
            finish_run(store, run, summary.git, summary.images)
            evaluate_run(store, cfg, run, catalog, trigger="audit")
            print(f"  week {moment:%G-W%V}: run {run} written and evaluated", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teams", type=int, default=50)
    ap.add_argument("--repos", type=int, default=2000)
    ap.add_argument("--weeks", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hullcheck-report-bench-") as tmp:
        cfg = config(Path(tmp) / "bench.duckdb", args.teams, Path(tmp) / "site")
        started = time.perf_counter()
        build(cfg, args.repos, args.weeks)
        print(f"built {args.repos} repositories, {args.teams} teams, {args.weeks} weeks in "
              f"{time.perf_counter() - started:.0f}s")  # fmt: skip
        site_times, mail_times = [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            report = build_report(cfg)
            t1 = time.perf_counter()
            mails = dry_run_mails(cfg, report)
            t2 = time.perf_counter()
            site_times.append(t1 - t0)
            mail_times.append(t2 - t1)
        total = [a + b for a, b in zip(site_times, mail_times, strict=True)]
        print(f"site: {report.rendered.pages} pages, {len(report.rendered.charts)} charts, "
              f"{len(report.site.findings)} findings; mails: {len(mails)}")  # fmt: skip
        for label, times in (("site", site_times), ("mails", mail_times), ("site + mails", total)):
            print(f"  {label:13s} seconds: min {min(times):.1f}  median {statistics.median(times):.1f}  "
                  f"max {max(times):.1f}  ({args.rounds} rounds; goal for both < 60 s)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
