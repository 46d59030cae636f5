"""Stopping an audit at any moment: SIGTERM ends a slow registry crawl at once, SIGKILL never shows half a run.

Both tests run the real command (`python -m hullcheck audit`) against real git repositories and
Debian's registry behind the recording proxy (slowed with `proxy.delay`). The kill storm draws
its kill moments from a fixed seed (`STORM_SEED`, named in every assertion message), by turns in
the git phase (after a random number of repositories, plus a jitter), in the registry phase (a
random part of how long it took in the last committed run, after the first request) or at any
moment of the whole run (a random part of the last committed run's duration).
After every kill the database must open, earlier committed runs must be unchanged and every
`latest_*` view must hold exactly what it held after the last committed run. One audit then
heals everything: its `latest_*` views equal those of a clean audit into a fresh database.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from support.oci.builder import Image, Layer
from support.oci.proxy import RegistryProxy
from support.oci.registry import Registry
from support.org import Org, days_ago, git

from hullcheck.demo.gitbuild import Commit, write_repo

TERM_SEED = 143
STORM_SEED = 20240917
PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] ")


def _image(name: str, labels: dict[str, str] | None = None) -> Image:
    """A small single-platform image of its own (its own layer and config, so its own digests)."""
    return Image([Layer({f"/app/{name}.txt": f"{name}\n".encode()})], {"Labels": {"title": name, **(labels or {})}})


class _Audit:
    """`python -m hullcheck audit -c CFG` in a subprocess: stderr lines timestamped as they come, and when
    the first registry request reached the proxy."""

    def __init__(self, cfg: Path, proxy: RegistryProxy) -> None:
        self.proxy = proxy
        self.proxy_base = len(proxy.log)
        self.lines: list[tuple[float, str]] = []
        self.out: list[str] = []
        self.first_request: float | None = None
        self.ended: float | None = None
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hullcheck", "audit", "--config", str(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._readers = [
            threading.Thread(target=self._read_err, daemon=True),
            threading.Thread(target=self._read_out, daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        self.out.extend(self.proc.stdout)

    def _poll(self) -> bool:
        """True while the process runs; notes the first registry request."""
        if self.first_request is None and len(self.proxy.log) > self.proxy_base:
            self.first_request = time.monotonic() - self.started
        if self.proc.poll() is None:
            return True
        if self.ended is None:
            self.ended = time.monotonic() - self.started
        return False

    def progress(self) -> list[float]:
        return [t for t, line in list(self.lines) if PROGRESS.match(line)]

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60.0) -> bool:
        """Poll until `ready()` (True) or the process ended (False)."""
        deadline = time.monotonic() + timeout
        while self._poll():
            if ready():
                return True
            if time.monotonic() > deadline:
                raise AssertionError(f"the audit neither got there nor ended in {timeout}s:\n{self.stderr}")
            time.sleep(0.005)
        return False

    def sleep(self, seconds: float) -> bool:
        """Sleep while the process runs; False when it ended first."""
        until = time.monotonic() + seconds
        return self.wait_until(lambda: time.monotonic() >= until)

    def phase(self) -> str:
        """Where the audit was: startup (no repository done), git, or registry (a request seen)."""
        if self.first_request is not None:
            return "registry"
        return "git" if self.progress() else "startup"

    def finish(self, timeout: float = 120.0) -> int:
        code = self.proc.wait(timeout=timeout)
        self._poll()
        for t in self._readers:
            t.join(timeout=10)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in list(self.lines))

    @property
    def stdout(self) -> str:
        return "".join(self.out)


def _rows(db: Path, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _latest_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND starts_with(view_name, 'latest_') ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


def _latest_state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every latest_* view, whole: every column, every row."""
    return {v: _sorted(con.execute(f"SELECT * FROM {v}").fetchall()) for v in _latest_views(con)}


# Columns that describe the run rather than the org: which run, when, how much it had to read, what it repaired,
# which evaluation of it and of which config text (the clean audit's config names another database).
PER_RUN_COLUMNS = {"run_id", "effective_at", "blobs_read", "duration_ms", "note", "evaluation_id", "evaluated_at",
                   "config_hash", "fact_run_id"}  # fmt: skip
# A repository whose commit an earlier run extracted is `unchanged`, a tag whose digest it read is `known`:
# the same facts as `extracted` and `new` in a fresh database.
STATUS = (
    "CASE WHEN status IN ('extracted', 'unchanged') THEN 'audited' WHEN status IN ('new', 'known') THEN 'read' "
    "ELSE status END AS status"
)


def _comparable_state(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every latest_* view without the per-run columns (run ids, times, costs)."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for view in _latest_views(con):
            columns = [d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description]
            select = [STATUS if c == "status" else f'"{c}"' for c in columns if c not in PER_RUN_COLUMNS]
            out[view] = _sorted(con.execute(f"SELECT {', '.join(select)} FROM {view}").fetchall())
    return out


def _diff(want: dict[str, list[tuple[Any, ...]]], got: dict[str, list[tuple[Any, ...]]]) -> str:
    lines = []
    for view in sorted(set(want) | set(got)):
        w, g = want.get(view, []), got.get(view, [])
        if w == g:
            continue
        missing, extra = [r for r in w if r not in g], [r for r in g if r not in w]
        lines.append(f"{view}: {len(w)} rows expected, {len(g)} found")
        lines += [f"  - {r}" for r in missing[:6]] + [f"  + {r}" for r in extra[:6]]
    return "\n".join(lines)


# -- 1. SIGTERM ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigterm_during_a_registry_crawl_exits_within_five_seconds(
    pushed_registry: Registry, registry_proxy: Callable[[Registry], RegistryProxy], tmp_path: Path
) -> None:
    rng = random.Random(TERM_SEED)
    repos, tags_per_repo, delay, concurrency = 4, 15, 0.5, 2
    for r in range(repos):
        for t in range(tags_per_repo):
            pushed_registry.push(f"bulk/app-{r}", f"1.{t}", _image(f"bulk-{r}-{t}-{rng.randrange(10**6)}"))
    tags = repos * tags_per_repo
    # Each new tag costs at least a manifest GET and a config GET, each delayed: the whole crawl needs
    # at least tags * 2 * delay / concurrency seconds.
    assert tags * 2 * delay / concurrency >= 20, "the setup must make a crawl of well over 20 s"
    proxy = registry_proxy(pushed_registry)
    proxy.delay(delay)
    cfg = tmp_path / "hullcheck.yaml"
    cfg.write_text(yaml.safe_dump({"database": "h.duckdb", "cache_dir": "cache", "registries": [
        {"url": proxy.host, "repositories": ["bulk/*"], "concurrency": concurrency}]}))  # fmt: skip

    audit = _Audit(cfg, proxy)
    assert audit.wait_until(lambda: proxy.count("manifest") >= 4, timeout=30), audit.stderr
    signalled = time.monotonic()
    audit.proc.send_signal(signal.SIGTERM)
    code = audit.finish(timeout=60)
    took = time.monotonic() - signalled
    running_for = signalled - audit.started

    assert took < 5.0, f"exit {took:.2f}s after SIGTERM (sent {running_for:.1f}s into the crawl)\n{audit.stderr}"
    assert code == 143, (code, audit.stderr)
    assert "stopped: received SIGTERM" in audit.stderr, audit.stderr
    assert proxy.manifest_gets < tags, "the crawl ran to its end: SIGTERM stopped nothing"
    db = tmp_path / "h.duckdb"
    runs = _rows(db, "SELECT run_id, status, message FROM runs")
    assert len(runs) == 1 and runs[0][1] == "failed" and "Stopped" in str(runs[0][2]), runs
    assert _rows(db, "SELECT count(*) FROM images") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM latest_images") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM image_manifests") == [(0,)]
    print(f"SIGTERM {running_for:.2f}s in, {proxy.manifest_gets} of {tags} manifests read; exit in {took:.2f}s")


# -- 2. a storm of SIGKILLs ---------------------------------------------------------------------------------
N_REPOS = 24
KILLS = 10
DELAY = 0.1  # per registry request, so the registry phase is long enough to be hit


def _files(i: int, k: int) -> dict[str, bytes | str | None]:
    files: dict[str, bytes | str | None] = {
        "Dockerfile": f"FROM python:3.{(i + k) % 5 + 8}-slim AS base\nRUN pip install app{i}=={k}\n"
        f"FROM base\nCOPY . /app\nUSER app\n",
        "compose.yaml": f"services:\n  s{i}:\n    build: .\n    image: reg.example/s{i}:{k}\n"
        f"    ports: ['{8000 + i}:80']\n",
    }
    if i % 4 == 0:
        files["worker/Dockerfile"] = f"FROM alpine:3.{k % 20}\nRUN apk add --no-cache curl{k}\n"
    return files


class _Storm:
    """The org, its registry and the bookkeeping of what must be visible."""

    def __init__(self, org: Org, registry: Registry, proxy: RegistryProxy, rng: random.Random) -> None:
        self.org, self.registry, self.proxy, self.rng = org, registry, proxy, rng
        self.db = org.root / "audit.duckdb"
        self.committed: list[tuple[Any, ...]] = []  # rows of committed runs, as they must stay
        self.killed: list[int] = []  # run ids of killed runs
        self.expected: dict[str, list[tuple[Any, ...]]] = {}
        self.reference: _Audit | None = None  # the last committed run: how long its phases took
        self.step = 0

    def config(self) -> Path:
        self.org.extra["write_batch_repos"] = self.rng.choice([1, 2, 3])
        return self.org.write_config()

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.db), read_only=True)

    def runs(self, con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
        return con.execute(
            "SELECT run_id, status, started_at, finished_at, repos_total, repos_extracted, repos_unchanged, "
            "repos_failed, message FROM runs ORDER BY run_id"
        ).fetchall()

    def commit(self, what: str) -> _Audit:
        """One audit to the end: a committed run, the new expected state."""
        audit = _Audit(self.config(), self.proxy)
        code = audit.finish()
        assert code == 0, f"seed {STORM_SEED}, {what}: exit {code}\n{audit.stdout}\n{audit.stderr}"
        self._committed(audit)
        return audit

    def _committed(self, audit: _Audit) -> None:
        with self.connect() as con:
            runs = self.runs(con)
            assert runs[-1][1] == "ok", f"seed {STORM_SEED}: {runs[-1]}\n{audit.stdout}"
            self.committed = [r for r in runs if r[1] in ("ok", "partial")]
            for r in runs:
                if r[0] in self.killed:
                    assert r[1] == "failed" and "abandoned" in str(r[8]), f"seed {STORM_SEED}: killed run {r}"
            self.expected = _latest_state(con)
        self.reference = audit

    def kill(self, i: int, kind: str) -> str:
        """Start an audit, SIGKILL it at a random moment of the `kind` phase; check nothing of it shows."""
        ref = self.reference
        assert ref is not None and ref.ended is not None
        with self.connect() as con:
            before = {r[0] for r in self.runs(con)}
        audit = _Audit(self.config(), self.proxy)
        reg_time = ref.ended - (ref.first_request or ref.ended)
        if kind == "git":  # after the k-th repository of the run (k drawn from all but the last), plus a jitter
            k = self.rng.randrange(1, len(ref.progress()))
            alive = audit.wait_until(lambda: len(audit.progress()) >= k) and audit.sleep(self.rng.uniform(0, 0.03))
        elif kind == "registry":
            alive = audit.wait_until(lambda: audit.first_request is not None) and audit.sleep(
                self.rng.uniform(0, 0.9 * reg_time)
            )
        else:
            alive = audit.sleep(self.rng.uniform(0.05, 0.95) * ref.ended)
        at = time.monotonic() - audit.started
        where = audit.phase()
        if alive:
            audit.proc.send_signal(signal.SIGKILL)
        code = audit.finish()
        label = f"seed {STORM_SEED}, kill {i} ({kind} draw, landed in {where} at {at:.2f}s, exit {code})"

        with self.connect() as con:  # the database opens (read-only: the killed process's WAL is replayed)
            runs = self.runs(con)
            got = _latest_state(con)
            leftovers = self._rows_of(con, {r[0] for r in runs if r[0] not in before})
        new = [r for r in runs if r[0] not in before]
        if code == 0 or any(r[1] in ("ok", "partial") for r in new):
            # It finished before the signal, or was killed after its final UPDATE: committed, so visible.
            assert code in (0, -signal.SIGKILL), label
            self._committed(audit)
            return "done"
        assert code == -signal.SIGKILL, f"{label}\n{audit.stderr}"
        assert all(r[1] == "running" for r in new) and len(new) <= 1, f"{label}: {new}"
        self.killed += [r[0] for r in new]
        assert [r for r in runs if r[1] in ("ok", "partial")] == self.committed, f"{label}: committed runs changed"
        newest = runs[-1][0] if runs else None
        for r in runs:  # a killed run is found abandoned by the next audit that starts (even one killed later)
            if r[0] in self.killed and (r[0] != newest or r[1] != "running"):
                assert r[1] == "failed" and "abandoned" in str(r[8]), f"{label}: earlier killed run {r}"
        assert got == self.expected, f"{label}: the killed run shows in latest_* views:\n{_diff(self.expected, got)}"
        assert not leftovers, f"{label}: rows of the killed run in public views: {leftovers}"
        return where

    @staticmethod
    def _rows_of(con: duckdb.DuckDBPyConnection, run_ids: set[int]) -> dict[str, int]:
        """How many rows of `run_ids` the two history views show: every other public view (files, Dockerfiles,
        Compose, image manifests, layers, lineage…) is built on `repo_snapshots` or `images`."""
        ids = sorted(run_ids)
        counts = {v: con.execute(f"SELECT count(*) FROM {v} WHERE list_contains(?, run_id)", [ids]).fetchone()
                  for v in ("repo_snapshots", "images")}  # fmt: skip
        return {v: int(n[0]) for v, n in counts.items() if n and n[0]}

    def churn(self, n: int, exclude: set[str]) -> list[str]:
        """A new commit in `n` repositories (a changed Dockerfile and Compose file)."""
        self.step += 1
        names = sorted(p.name for p in self.org.repos.iterdir() if p.name.startswith("svc-") and p.name not in exclude)
        chosen = self.rng.sample(names, n)
        for name in chosen:
            i = int(name.removeprefix("svc-"))
            write_repo(self.org.repos / name, [Commit(days_ago(0), _files(i, 10 + self.step), f"change {self.step}")])
        return chosen

    def move_tag(self, tag: str) -> None:
        """Re-push a tag onto a new image: the next audit has manifests and configs to read."""
        self.step += 1
        self.registry.push("test/lineage", tag, _image(f"{tag}-{self.step}"))


@pytest.mark.slow
def test_a_kill_storm_leaves_earlier_runs_intact_and_one_audit_heals(
    org: Org, pushed_registry: Registry, registry_proxy: Callable[[Registry], RegistryProxy]
) -> None:
    t0 = time.monotonic()
    rng = random.Random(STORM_SEED)
    for i in range(N_REPOS):
        org.repo(f"svc-{i:02d}", [Commit(days_ago(30 - 10 * k), _files(i, k), f"commit {k}") for k in range(3)])
    # Lineage: images whose labels name the org's repositories. svc-01's image was built from a branch
    # commit that reaches main during the storm; `late` is a repository added to the config mid-storm.
    svc01 = org.repos / "svc-01"
    git(svc01, "branch", "feature")
    write_repo(svc01, [Commit(days_ago(1), {"Dockerfile": "FROM python:3.13-slim\nUSER app\n"}, "feature")], "feature")
    git(svc01, "checkout", "-q", "-f", "main")
    feature = git(svc01, "rev-parse", "feature").strip()
    late = org.repo("late-joiner", [Commit(days_ago(5), _files(99, 0))], add=False)
    late_head = git(late, "rev-parse", "HEAD").strip()
    source, revision = "org.opencontainers.image.source", "org.opencontainers.image.revision"
    pushed_registry.push("test/lineage", "svc-01", _image("svc-01", {source: str(svc01), revision: feature}))
    pushed_registry.push("test/lineage", "late", _image("late", {source: str(late), revision: late_head}))
    pushed_registry.push("test/lineage", "moving", _image("moving-0"))

    proxy = registry_proxy(pushed_registry)
    org.extra.update(
        {
            "concurrency": 2,
            "registries": [{"url": proxy.host, "repositories": ["test/*"], "concurrency": 2, "layer_scan": True}],
        }
    )
    storm = _Storm(org, pushed_registry, proxy, rng)
    first = storm.commit("the first audit")  # reads every layer (layer_scan): at full speed
    proxy.delay(DELAY)
    assert _rows(storm.db, "SELECT git_repo, git_commit FROM latest_image_lineage WHERE tag = 'svc-01'") == [
        ("svc-01", None)
    ], "setup: the feature commit is not on main yet"

    kinds = (["git", "registry", "any"] * KILLS)[:KILLS]
    rng.shuffle(kinds)
    landed: list[str] = []
    i = 0
    while sum(1 for w in landed if w != "done") < KILLS:
        assert i < 2 * KILLS, f"seed {STORM_SEED}: too many audits ended before their kill: {landed}"
        if i == 4:
            git(svc01, "merge", "-q", "--ff-only", "feature")  # the image's revision is now on main
        if i == 8:
            org.sources.append({"url": str(late)})  # a new repository in the config
        storm.churn(4, exclude={"svc-01"})
        if i % 2 == 0:
            storm.move_tag("moving")
        landed.append(storm.kill(i, kinds[i % len(kinds)]))
        if i % 4 == 3 and sum(1 for w in landed if w != "done") < KILLS:  # the storm ends with a kill
            storm.commit(f"the audit after kill {i}")
        i += 1
    storm_end = time.monotonic()

    # Upstream moves on once more, then one audit heals: the killed runs are abandoned, their facts reused.
    storm.churn(3, exclude={"svc-01"})
    storm.move_tag("moving")
    pushed_registry.push("test/lineage", "new", _image("new-tag"))
    proxy.delay(0)
    heal = storm.commit("the healing audit")
    lineage = _rows(storm.db, "SELECT tag, git_repo, git_commit FROM latest_image_lineage WHERE git_repo IS NOT NULL")
    assert sorted(lineage) == [("late", "late-joiner", late_head), ("svc-01", "svc-01", feature)], lineage

    # A clean audit of the same org into a fresh database and cache.
    clean_dir = org.root / "clean"
    clean_dir.mkdir()
    data = yaml.safe_load((org.root / "hullcheck.yaml").read_text())
    data.update({"database": "clean.duckdb", "cache_dir": "clean-cache"})
    clean_cfg = clean_dir / "hullcheck.yaml"
    clean_cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    clean = _Audit(clean_cfg, proxy)
    assert clean.finish() == 0, clean.stderr
    healed, fresh = _comparable_state(storm.db), _comparable_state(clean_dir / "clean.duckdb")
    assert healed == fresh, f"seed {STORM_SEED}: healed and clean audits differ:\n{_diff(fresh, healed)}"
    assert fresh["latest_repo_snapshots"] and fresh["latest_images"] and fresh["latest_image_lineage"]

    phases = {w: landed.count(w) for w in sorted(set(landed))}
    assert phases.get("git", 0) >= 2 and phases.get("registry", 0) >= 2, f"seed {STORM_SEED}: kills {landed}"
    total = time.monotonic() - t0
    print(
        f"storm seed {STORM_SEED}: kills landed {phases}; first audit {first.ended:.1f}s, heal {heal.ended:.1f}s, "
        f"storm {storm_end - t0:.1f}s, total {total:.1f}s; {len(storm.killed)} killed runs, "
        f"{len(storm.committed)} committed"
    )
