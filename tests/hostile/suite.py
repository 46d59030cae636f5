"""The hostile-input suite end to end: build, audit twice, attribute crashes, check, report.

1. Build the selected cases (`model.select`) under `tmp/corpus`, push the registry cases, build a
   plain reference org of the same size.
2. Watch the markers (inotify), serve the git-url repositories over smart HTTP, and run the real
   CLI twice on one config listing every selected repository, layout and registry repository
   (`main`), then twice on the reference.
3. When a run crashes (traceback, exit status other than 0/1, killed for RSS or time), find the
   cases that crash it: one audit per family, then one per case of each family that crashed
   (`HOSTILE_TRIAGE=0` skips this). Then audit everything but those cases twice again
   (`main-without-crashing-cases`): the row checks read that run, so one crash does not hide
   every other finding.
4. Check: crashes, canaries anywhere (every base table, raw database files, CLI output, cache,
   $HOME), markers opened, rows per case, peak RSS against the reference.

Settings come from the environment (see `Settings.from_env`).
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from hostile import checks, scan
from hostile.checks import CATEGORIES, CRASH, LEAK, NOTE, RSS, Problem
from hostile.corpus import Corpus, build_corpus, make_view
from hostile.markers import OpenWatch
from hostile.model import FAMILIES, Case, CaseDef, all_defs, select
from hostile.reference import Reference, build_reference
from hostile.runner import RunResult, run_audit

# Left out of the default run (the full corpus, `-m hostile`, has them): cases whose first audit is
# dominated by a dependency's quadratic parser, not by anything hullcheck does. BuildKit's heredoc
# reader (the `dockerfile` package, Go) takes 20 s of CPU on a 900 KB heredoc body, holding the GIL.
CI_SKIP = "dockerfiles/heredoc-900k"


@dataclass
class Settings:
    families: str | None = None
    cases: str | None = None
    skip: str | None = None  # fnmatch globs on case ids left out (comma-separated)
    triage: bool = True
    reference: bool = True
    # Limits per run: CPU seconds (the real one: it does not grow on a busy machine), and wall seconds.
    cpu_limit: float = 300.0
    timeout: float = 900.0
    family_cpu_limit: float = 150.0  # crash triage: an audit of one family
    family_timeout: float = 600.0
    triage_cpu_limit: float = 45.0  # crash triage: an audit of one case
    triage_timeout: float = 300.0
    rss_cap_mb: int = 2048
    rss_ratio: float = 1.5

    @classmethod
    def from_env(cls, skip: str | None = None) -> Settings:
        """`skip`: the globs left out unless HOSTILE_SKIP says otherwise (`HOSTILE_SKIP=` leaves none out)."""
        env = os.environ.get
        return cls(
            families=env("HOSTILE_FAMILIES") or None,  # e.g. "secrets,odd_names"
            cases=env("HOSTILE_CASES") or None,  # e.g. "secrets/compose-*,layers/gzip-*"
            skip=env("HOSTILE_SKIP", skip or "") or None,
            triage=env("HOSTILE_TRIAGE", "1") != "0",
            reference=env("HOSTILE_REFERENCE", "1") != "0",
            cpu_limit=float(env("HOSTILE_CPU_LIMIT", "300")),
            timeout=float(env("HOSTILE_TIMEOUT", "900")),
            family_cpu_limit=float(env("HOSTILE_FAMILY_CPU_LIMIT", "150")),
            triage_cpu_limit=float(env("HOSTILE_TRIAGE_CPU_LIMIT", "45")),
            rss_cap_mb=int(env("HOSTILE_RSS_CAP_MB", "2048")),
        )

    def selected(self) -> list[CaseDef]:
        defs = select(all_defs(), self.families, self.cases)
        skipped = [g.strip() for g in (self.skip or "").split(",") if g.strip()]
        return [d for d in defs if not any(fnmatch.fnmatch(d.id, g) for g in skipped)]


@dataclass
class Audit:
    label: str
    run_dir: Path
    config: Path
    cases: list[Case]
    results: list[RunResult] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.run_dir / "db" / "audit.duckdb"

    @property
    def crash(self) -> str | None:
        reasons = [f"run {i}: {r.crashed}" for i, r in enumerate(self.results, 1) if r.crashed]
        return "; ".join(reasons) or None


@dataclass
class Outcome:
    problems: list[Problem]
    notes: list[Problem]
    lines: list[str]  # the summary: counts, runtime, RSS, what was checked
    report_path: Path

    def text(self) -> str:
        return render(self)


class Suite:
    def __init__(self, tmp: Path, registry: Any, settings: Settings) -> None:
        self.tmp = tmp
        self.registry = registry
        self.settings = settings
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}
        self.audits: list[Audit] = []
        self.notes: list[Problem] = []
        self.http = ""  # host:port/git of the smart HTTP server
        self.env: dict[str, str] = {}

    # -- setup ------------------------------------------------------------------------------------
    def build(self) -> None:
        defs = self.settings.selected()
        home = Path(os.environ.get("HOME", str(self.tmp / "home")))
        self.corpus: Corpus = build_corpus(self.tmp / "corpus", defs, home)
        self.timings["build corpus"] = self.corpus.build_seconds
        started = time.monotonic()

        by_repo: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        for repo, tag, item in self.corpus.pending_pushes:
            by_repo[repo].append((tag, item))

        def push(repo: str) -> None:
            """The tags of one repository in turn (concurrent pushes of one blob to one repository race)."""
            for tag, item in by_repo[repo]:
                try:
                    self.registry.push(repo, tag, item)
                except Exception as e:  # a registry refusing an image is a limit of the fixture, not a finding
                    case = next(c for c in self.corpus.cases if c.registry_repo == repo)
                    case.expects = []
                    self.notes.append(Problem(NOTE, case.id, f"the registry refused {repo}:{tag}: {str(e)[:200]}"))

        cases = self.corpus.cases
        n_git = len({c.repo_dir for c in cases if c.carrier == "git"}) + sum(c.carrier == "git-url" for c in cases)
        n_layout = sum(c.carrier == "layout" for c in cases)
        n_registry = sum(c.carrier == "registry" for c in cases)
        self.reference: Reference | None = None
        with ThreadPoolExecutor(4) as pool:
            pushed = pool.map(push, list(by_repo))
            if self.settings.reference:
                self.reference = build_reference(self.tmp / "reference", n_git, n_layout, n_registry)
                list(pool.map(lambda job: self.registry.push(*job), self.reference.pushes))
            list(pushed)
        self.timings["push registry images, build the reference org"] = time.monotonic() - started
        self.env = {**os.environ, **self.corpus.env}

    @property
    def registry_host(self) -> str | None:
        return self.registry.host if self.registry is not None else None

    def configure(self, label: str, cases: list[Case]) -> Audit:
        run_dir = self.tmp / "runs" / label
        repos, layouts = make_view(self.corpus, run_dir, cases)
        git: list[dict[str, Any]] = []
        if any(c.carrier == "git" for c in cases):
            git.append({"path_glob": str(repos / "*")})
        git += [
            {"url": c.url_template.replace("{http}", self.http), "name": c.key}
            for c in cases
            if c.carrier == "git-url" and c.url_template
        ]
        data: dict[str, Any] = {
            "database": "db/audit.duckdb",
            "cache_dir": "cache",
            "max_file_bytes": 1 << 20,
            "concurrency": 4,
            "sources": {"git": git},
        }
        if any(c.carrier == "layout" for c in cases):
            data["layouts"] = [{"path": str(layouts / "*"), **layout_scan()}]
        regs = sorted({str(c.registry_repo) for c in cases if c.carrier == "registry"})
        if regs:
            data["registries"] = [{"url": self.registry_host, "repositories": regs, "layer_scan": True}]
        return self._write(label, run_dir, data, cases)

    def configure_reference(self) -> Audit:
        assert self.reference is not None
        ref = self.reference
        run_dir = self.tmp / "runs" / "reference"
        data: dict[str, Any] = {
            "database": "db/audit.duckdb",
            "cache_dir": "cache",
            "max_file_bytes": 1 << 20,
            "concurrency": 4,
            "sources": {"git": [{"path_glob": str(ref.root / "repos" / "*")}]},
        }
        if ref.layouts:
            data["layouts"] = [{"path": str(ref.root / "layouts" / "*"), **layout_scan()}]
        if ref.pushes:
            data["registries"] = [{"url": self.registry_host, "repositories": ref.registry_repos, "layer_scan": True}]
        return self._write("reference", run_dir, data, [])

    def _write(self, label: str, run_dir: Path, data: dict[str, Any], cases: list[Case]) -> Audit:
        run_dir.mkdir(parents=True, exist_ok=True)
        config = run_dir / "hullcheck.yaml"
        config.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=False))
        audit = Audit(label, run_dir, config, cases)
        self.audits.append(audit)
        return audit

    def run(self, audit: Audit, times: int = 2, single: bool = False, family: bool = False) -> Audit:
        s = self.settings
        timeout = s.triage_timeout if single else s.family_timeout if family else s.timeout
        cpu = s.triage_cpu_limit if single else s.family_cpu_limit if family else s.cpu_limit
        cap = self.settings.rss_cap_mb
        started = time.monotonic()
        for i in range(times):
            result = run_audit(
                audit.config, f"run{i + 1}", timeout=timeout, cpu_limit=cpu, rss_cap_mb=cap, env=self.env
            )
            audit.results.append(result)
            if result.crashed and i + 1 < times:  # the next run would crash the same way; the triage tells more
                self.notes.append(Problem(NOTE, None, f"{audit.label}: run {i + 2} skipped, run {i + 1} crashed"))
                break
        if not single:
            self.timings[f"audit {audit.label} x{times}"] = time.monotonic() - started
        return audit

    def rss_limit_kb(self, reference: Audit | None) -> float | None:
        if reference is None or not reference.results:
            return None
        return self.settings.rss_ratio * max(r.peak_rss_kb for r in reference.results)

    def family_audits(self) -> list[Audit]:
        """Audits of one whole family each (from crash triage, or run for RSS attribution)."""
        return [a for a in self.audits if len(a.cases) > 1 and len({c.family for c in a.cases}) == 1
                and a.label.startswith(("triage", "rss-"))]  # fmt: skip

    def attribute_rss(self, reference: Audit | None) -> None:
        """The main audit needed more memory than allowed: audit each family alone (once) to say which."""
        if self.family_audits():
            return
        by_family: dict[str, list[Case]] = defaultdict(list)
        for c in self.corpus.cases:
            by_family[c.family].append(c)
        started = time.monotonic()
        audits = [self.configure(f"rss-{fam}", cs) for fam, cs in by_family.items()]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda a: self.run(a, 1, family=True), audits))
        self.timings[f"RSS attribution ({len(audits)} families)"] = time.monotonic() - started

    # -- crash attribution --------------------------------------------------------------------------
    def triage(self, crashed: Audit, round_no: int) -> dict[str, str]:
        """case id -> why that case alone crashes an audit; a family that crashes only as a whole is noted."""
        times = 2 if crashed.results and crashed.results[0].crashed is None else 1  # the second run crashed only
        by_family: dict[str, list[Case]] = defaultdict(list)
        for c in crashed.cases:
            by_family[c.family].append(c)
        started = time.monotonic()
        fam_audits = [self.configure(f"triage{round_no}-{fam}", cs) for fam, cs in by_family.items()]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda a: self.run(a, times, family=True), fam_audits))
        suspects = [c for a in fam_audits if a.crash for c in a.cases]
        singles = [
            self.configure(f"triage{round_no}-{c.id.replace('/', '_')[:70]}", [self.isolated(c)]) for c in suspects
        ]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda a: self.run(a, times, single=True), singles))
        culprits = {a.cases[0].id: str(a.crash) for a in singles if a.crash}
        for a in fam_audits:
            if a.crash and not any(c.id in culprits for c in a.cases):
                self.notes.append(
                    Problem(
                        NOTE, None, f"family {a.label} crashes as a whole ({a.crash}) but none of its cases does alone"
                    )
                )
        self.timings[f"triage round {round_no} ({len(fam_audits)} families, {len(singles)} single cases)"] = (
            time.monotonic() - started
        )
        return culprits

    def isolated(self, case: Case) -> Case:
        """A grouped case with a repository of its own (its files only), so that a single-case audit
        blames it alone and not the cases it shares a repository with."""
        if not case.prefix:
            return case
        from hostile.gitrepo import write_bare_repo

        files, symlinks = self.corpus.group_files[case.prefix.rstrip("/")]
        path = self.corpus.root / "isolated" / case.prefix.rstrip("/")
        if not path.exists():
            write_bare_repo(path, files, symlinks)
        return replace(case, repo_dir=path, key=path.name)

    # -- the whole thing ----------------------------------------------------------------------------
    def execute(self) -> Outcome:
        from support.git_servers import smart_http_server

        self.build()
        markers = [m for c in self.corpus.cases for m in c.markers]
        watch = OpenWatch(markers, self.corpus.outside / ".probe")
        crashes: dict[str, str] = {}
        with ExitStack() as stack:
            base = stack.enter_context(smart_http_server(self.corpus.served_dir))
            self.http = base.removeprefix("http://")
            watch.start()
            stack.callback(watch.stop)
            if not watch.probe(self.corpus.layouts_dir):
                raise RuntimeError(
                    "the inotify watch on the markers does not see opens: the read-outside check would be blind"
                )
            # The reference runs beside the main audit (two cores; an audit is mostly one busy Python thread):
            # peak RSS is per process, so running them together changes nothing but the wall time.
            with ThreadPoolExecutor(2) as pool:
                ref_job = pool.submit(self.run, self.configure_reference()) if self.reference is not None else None
                main = self.run(self.configure("main", self.corpus.cases))
                reference = ref_job.result() if ref_job is not None else None
            final = main
            for round_no in (1, 2):
                if not final.crash or not self.settings.triage:
                    break
                found = self.triage(final, round_no)
                crashes.update(found)
                if not found:
                    break
                rest = [c for c in self.corpus.cases if c.id not in crashes]
                final = self.run(self.configure(f"main-without-crashing-cases-{round_no}", rest))
            limit = self.rss_limit_kb(reference)
            if self.settings.triage and limit is not None and any(r.peak_rss_kb > limit for r in main.results):
                self.attribute_rss(reference)
            probe_after = watch.probe(self.corpus.layouts_dir)
            opened = watch.opened()
            overflowed = watch.overflowed
        return self.check(main, final, reference, crashes, opened, probe_after, overflowed)

    def check(
        self,
        main: Audit,
        final: Audit,
        reference: Audit | None,
        crashes: dict[str, str],
        opened: dict[str, Any],
        probe_after: bool,
        overflowed: bool,
    ) -> Outcome:
        started = time.monotonic()
        cases = self.corpus.cases
        problems: list[Problem] = []
        notes = list(self.notes)
        # crashes
        for audit in [main, final] if final is not main else [main]:
            for i, r in enumerate(audit.results, 1):
                if r.crashed:
                    problems.append(Problem(CRASH, None, f"{audit.label} run {i}: {r.crashed}"))
        for case_id, why in sorted(crashes.items()):
            problems.append(Problem(CRASH, case_id, f"this case alone crashes an audit: {why}"))
        if final is not main:
            notes.append(
                Problem(
                    NOTE,
                    None,
                    f"rows were checked on {final.label!r} (every case but the {len(crashes)} "
                    "crashing ones); leaks on every database",
                )
            )
        # rows
        checked = [c for c in cases if c.id not in crashes]
        if final.crash:
            problems.append(Problem(CRASH, None, f"rows were not checked case by case: {final.label} crashed too "
                                                 f"({final.crash}); every case would only echo that"))  # fmt: skip
        elif final.db.exists():
            data = checks.load(final.db)
            run_ids = [r[0] for r in data.get("runs", []) if r and r[0] != "__error__"][-2:]
            problems += checks.check_runs(data, 2)
            row_problems, row_notes = checks.check_cases(
                checked, data, run_ids if len(run_ids) == 2 else [1, 2], self.registry_host, bool(layout_scan())
            )
            problems += row_problems
            notes += row_notes
            notes += slow_subjects(final.db, cases)
        else:
            problems.append(Problem(CRASH, None, f"{final.label}: no database was written"))
        # leaks
        needles = scan.Needles(self.corpus.canaries)
        leaks: list[scan.Leak] = []
        scanned_columns: set[str] = set()
        cache_excluded, cache_scanned, raw_files = 0, 0, 0
        culprit_runs = {a.label for a in self.audits if len(a.cases) == 1 and a.cases[0].id in crashes}
        for audit in self.audits:
            if audit.label == "reference":
                continue
            if (
                audit not in (main, final) and audit.label not in culprit_runs
            ):  # content also in main/final: output only
                for i, r in enumerate(audit.results, 1):
                    leaks += needles.find_text(r.stdout + r.stderr, f"[{audit.label}] output of run {i}")
                continue
            if audit.db.exists():
                try:
                    found, cols = scan.scan_database(audit.db, needles)
                    leaks += found
                    scanned_columns.update(cols)
                except Exception as e:
                    problems.append(Problem(CRASH, None, f"{audit.label}: the database cannot be read: {e}"))
            skip = {audit.config} | {audit.run_dir / f"run{i}.{s}" for i in (1, 2) for s in ("stdout", "stderr")}
            files = scan.run_dir_files(audit.run_dir, skip)
            raw_files += len(files)
            leaks += scan.scan_files(files, needles, f"[{audit.label}] raw bytes of")
            cache = scan.cache_files(audit.run_dir / "cache")
            cache_scanned += len(cache.scanned)
            cache_excluded += len(cache.excluded)
            leaks += scan.scan_files(cache.scanned, needles, f"[{audit.label}] cache file")
            for i, r in enumerate(audit.results, 1):
                leaks += needles.find_text(r.stdout, f"[{audit.label}] stdout of run {i}")
                leaks += needles.find_text(r.stderr, f"[{audit.label}] stderr of run {i}")
        home = self.corpus.home
        if home is not None and home.is_dir():
            mine = {str(m) for c in cases for m in c.markers}
            home_files = [p for p in home.rglob("*") if p.is_file() and not p.is_symlink() and str(p) not in mine]
            leaks += scan.scan_files(home_files, needles, "file in $HOME")
        seen: set[tuple[str, str]] = set()
        for leak in leaks:
            where = leak.where
            key = (leak.canary.value if leak.canary else leak.excerpt[:40], where.split(" (row")[0])
            if key in seen:
                continue
            seen.add(key)
            if leak.canary is None:
                problems.append(Problem(LEAK, None, f"{where}: {leak.excerpt}"))
            else:
                problems.append(Problem(LEAK, leak.canary.case_id, f"[{leak.canary.kind}] in {where}: {leak.excerpt}"))
        # markers
        problems += checks.marker_reads(cases, opened, self.corpus.outside)
        if not probe_after:
            problems.append(Problem(CRASH, None, "the marker watch stopped seeing opens during the audits"))
        if overflowed:
            problems.append(Problem(CRASH, None, "the marker watch's event queue overflowed: some opens may be missed"))
        # RSS
        lines = self.summary_lines(main, final, reference, scanned_columns, raw_files, cache_scanned, cache_excluded)
        limit = self.rss_limit_kb(reference)
        if reference is not None and limit is not None:
            problems += self.rss_problems(main, final, limit, crashes, lines)
        self.timings["checks"] = time.monotonic() - started
        lines.append(
            "timings: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
            + f"; total {time.monotonic() - self.started:.1f}s"
        )
        outcome = Outcome(problems, notes, lines, self.tmp / "hostile-report.txt")
        outcome.report_path.write_text(outcome.text())
        return outcome

    def rss_problems(self, main: Audit, final: Audit, limit: float, crashes: dict[str, str], lines: list[str]
                     ) -> list[Problem]:  # fmt: skip
        """Peak RSS over `limit` (ratio x the reference's): the main audit, each family alone, each case alone."""
        ratio = self.settings.rss_ratio
        ref = f"{ratio} x the reference's {limit / ratio / 1024:.0f} MB"
        out = []
        for audit in [main, *([final] if final is not main else [])]:
            for i, h in enumerate(audit.results, 1):
                if h.peak_rss_kb > limit:
                    out.append(Problem(RSS, None, f"{audit.label} run {i}: peak RSS {h.peak_rss_mb:.0f} MB > {ref}"))
        fams = [a for a in self.family_audits() if a.results]
        if fams:
            peaks = [f"{a.cases[0].family} {max(r.peak_rss_mb for r in a.results):.0f} MB" for a in fams]
            lines.append("peak RSS of each family audited alone: " + ", ".join(peaks))
        for a in fams:
            peak = max(r.peak_rss_kb for r in a.results)
            if peak > limit and not any(r.killed for r in a.results):
                fam = a.cases[0].family
                out.append(Problem(RSS, None, f"the family {fam} audited alone peaks at {peak / 1024:.0f} MB > {ref}"))
        for a in self.audits:
            if len(a.cases) == 1 and a.results and a.cases[0].id not in crashes:
                peak = max(r.peak_rss_kb for r in a.results)
                if peak > limit:
                    out.append(Problem(RSS, a.cases[0].id, f"audited alone, it peaks at {peak / 1024:.0f} MB > {ref}"))
        return out

    def summary_lines(
        self,
        main: Audit,
        final: Audit,
        reference: Audit | None,
        columns: set[str],
        raw_files: int,
        cache_scanned: int,
        cache_excluded: int,
    ) -> list[str]:
        cases = self.corpus.cases
        fam = Counter(c.family for c in cases)
        carriers = Counter(c.carrier for c in cases)
        roles = Counter(c.role for c in self.corpus.canaries)
        lines = [
            f"{len(cases)} cases: " + ", ".join(f"{f} {fam[f]}" for f in FAMILIES if fam[f]),
            "by carrier: " + ", ".join(f"{k} {v}" for k, v in sorted(carriers.items())),
            f"{len(self.corpus.canaries)} canaries: {roles['secret']} in secret-looking positions, "
            f"{roles['marker']} in marker files, {roles['env']} in the audit's environment; "
            f"{sum(len(c.markers) for c in cases)} marker files watched (inotify)",
            f"checked: {len(columns)} text columns of every base table, {raw_files} raw files of the run directories "
            f"(database, WAL), {cache_scanned} cache files (excluded: {cache_excluded} files under mirrors' objects/, "
            "the repositories' own content), CLI stdout/stderr, $HOME",
        ]
        for audit in [main, *([final] if final is not main else []), reference]:
            if audit is None:
                continue
            runs = "; ".join(
                f"run {i}: exit {r.returncode}{' (' + r.killed + ')' if r.killed else ''}, "
                f"{r.seconds:.1f}s, peak RSS {r.peak_rss_mb:.0f} MB"
                for i, r in enumerate(audit.results, 1)
            )
            lines.append(f"{audit.label}: {runs}")
        return lines


def layout_scan() -> dict[str, Any]:
    """`layer_scan: true` for layouts where the config model has it (it came after registries had it)."""
    from hullcheck.config import LayoutSource

    return {"layer_scan": True} if "layer_scan" in LayoutSource.model_fields else {}


SLOW_MS = 12_000


def slow_subjects(db: Path, cases: list[Case]) -> list[Problem]:
    """Repositories whose crawl took longer than SLOW_MS in the cold run: not a failure, a lead."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT repo, duration_ms FROM repo_snapshots WHERE run_id = (SELECT min(run_id) FROM runs) "
            "AND duration_ms > ? ORDER BY duration_ms DESC",
            [SLOW_MS],
        ).fetchall()
    except duckdb.Error:
        return []
    finally:
        con.close()
    out = []
    for repo, ms in rows:
        ids = [c.id for c in cases if c.matches(repo)]
        for case_id in ids or [None]:
            out.append(
                Problem(
                    NOTE,
                    case_id,
                    f"slow: the repository {repo!r} took {ms / 1000:.1f} s to crawl "
                    "(wall time, shared with the other crawl threads)",
                )
            )
    return out


def render(outcome: Outcome) -> str:
    out = [
        "HOSTILE INPUTS: " + ("all checks passed" if not outcome.problems else f"{len(outcome.problems)} problems"),
        "",
    ]
    out += outcome.lines
    failing = {p.case_id for p in outcome.problems if p.case_id}
    out.append(f"failing cases: {len(failing)}")
    for cat in CATEGORIES:
        items = [p for p in outcome.problems if p.category == cat]
        if not items:
            continue
        out += ["", f"== {cat} ({len(items)}) =="]
        by_case: dict[str | None, list[str]] = defaultdict(list)
        for p in items:
            by_case[p.case_id].append(p.text)
        for case_id in sorted(by_case, key=lambda c: (c is not None, c or "")):
            texts = by_case[case_id]
            out.append(f"  {case_id or '(the audit as a whole)'}")
            out += [f"      {t}" for t in texts[:12]]
            if len(texts) > 12:
                out.append(f"      … and {len(texts) - 12} more")
    if outcome.notes:
        out += ["", f"== notes, not failures ({len(outcome.notes)}) =="]
        out += [f"  {n.case_id or '(suite)'}: {n.text}" for n in outcome.notes]
    out += ["", f"report: {outcome.report_path}"]
    return "\n".join(out)
