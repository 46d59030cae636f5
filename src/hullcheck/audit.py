"""One audit run, as stage functions: begin → crawl git → crawl images → evaluate and publish.

`run_audit` reads as the table of contents; each stage is a plain function that a
scheduler can wrap on its own (the per-repository and per-image-source work are
`crawl.git.crawl_repo` and `crawl_image_source`, safe to call from many threads).

A run becomes visible (status ok/partial) in one final transaction that also evaluates the
policies, so a run and its findings appear together; until then the public views ignore it,
so a killed run never shows up half. Git rows are written in batches of whole
repositories, each batch in one transaction, so a commit marked as extracted always has its
files and facts; each image source is written in one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hullcheck import __version__
from hullcheck.config import Config, LayoutSpec, RegistrySource
from hullcheck.crawl import known as known_facts
from hullcheck.crawl.git import GitCrawl, RepoCrawler
from hullcheck.crawl.known import KnownImages
from hullcheck.crawl.pool import map_unordered
from hullcheck.crawl.rows import ImageResult, RepoResult
from hullcheck.crawl.writer import GitWriter, write_images
from hullcheck.errors import Stopped
from hullcheck.extract.files import FileKind
from hullcheck.policy.catalog import Catalog, load_catalog
from hullcheck.policy.coverage import coverage_warnings
from hullcheck.policy.evaluate import Evaluation, evaluate_run
from hullcheck.policy.situations import resolve_situations
from hullcheck.sources.git import GitMirrors, GitStats
from hullcheck.sources.specs import RepoSpec
from hullcheck.store import Store

ProgressFn = Callable[[RepoResult, int, int], None]
# How a stage's independent reads are spread (one repository, one image source each): the function over
# the items, results yielded as each finishes, in any order. The audit's own is a thread pool
# (`map_unordered`); the Prefect flow passes one that makes each read a task (flows/nightly_audit.py).
# The function never raises for a source that fails: its failure is the result's error row.
FanOut = Callable[[str, Callable[[Any], Any], list[Any]], Iterator[Any]]


@dataclass
class GitSummary:
    total: int = 0
    extracted: int = 0
    unchanged: int = 0
    empty: int = 0
    failed: int = 0
    files: int = 0
    dockerfiles: int = 0
    stages: int = 0
    failures: list[str] = field(default_factory=list)
    stats: GitStats = field(default_factory=GitStats)  # what the mirrors did (processes, fetches, blobs read)

    def count(self, result: RepoResult) -> None:
        status = result.snapshot.status
        if status in ("extracted", "unchanged", "empty"):
            setattr(self, status, getattr(self, status) + 1)
        else:
            self.failed += 1
            self.failures.append(f"{result.snapshot.repo}: {result.snapshot.error}")
        self.files += len(result.rows.files)
        self.dockerfiles += sum(1 for f in result.rows.files if f.kind == FileKind.DOCKERFILE)
        self.stages += sum(len(f.stages) for f in result.rows.dockerfiles.values())


@dataclass
class ImageSummary:
    sources: int = 0
    tags_seen: int = 0
    tags_new: int = 0
    failures: list[str] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    unscanned_layers: int = 0  # layer scans that failed (image_layers.scan_error): said, not silent

    def count(self, result: ImageResult) -> None:
        self.sources += 1
        self.unscanned_layers += len(result.layer_errors)
        self.tags_seen += sum(1 for t in result.tags if t.tag is not None and t.status != "failed")
        self.tags_new += sum(1 for t in result.tags if t.status == "new")
        self.failures += [t.error or "failed" for t in result.tags if t.status == "failed"]
        for k, v in result.requests.items():
            self.requests[k] = self.requests.get(k, 0) + v


@dataclass
class Coverage:
    """What a published run covers, read back from its views (unchanged repositories included)."""

    dockerfiles: int
    dockerfiles_changed: int  # new or changed since each repository's previous audited snapshot
    compose_services: int
    registries: int
    tags: int


@dataclass
class AuditSummary:
    run_id: int
    status: str = "running"  # running | ok | partial | failed
    git: GitSummary = field(default_factory=GitSummary)
    images: ImageSummary = field(default_factory=ImageSummary)
    evaluation: Evaluation | None = None
    evaluation_error: str | None = None
    seconds: float = 0.0
    # What is complete but not as configured (team globs matching nothing, subjects no team owns): said in
    # the summary, never a failure (`policy.coverage`).
    warnings: list[str] = field(default_factory=list)
    coverage: Coverage | None = None  # None for a run that did not finish (never visible)

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "partial": 1}.get(self.status, 2)


def run_audit(
    cfg: Config,
    as_of: datetime | None = None,
    only: list[str] | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    fan_out: FanOut | None = None,
    command: str = "hullcheck audit",
) -> AuditSummary:
    """One audit. Setting `cancel` (from a signal handler) stops it within a second: `Stopped` is raised
    and the run is recorded failed. `fan_out` spreads the reads (default: `concurrency` threads)."""
    specs = cfg.select_repos(only)  # config problems surface before a run is recorded
    cfg.require_sources()
    catalog = load_policies(cfg)
    started = time.monotonic()
    with_images = as_of is None and not only  # registries have no history to backfill; --only names git repos
    with open_writer(cfg, command) as store:
        summary = AuditSummary(begin_run(store, cfg, as_of, only))
        try:
            summary.git = crawl_git(store, summary.run_id, cfg, specs, as_of, progress, cancel, fan_out)
            if with_images:
                summary.images = crawl_images(store, summary.run_id, cfg, cancel, fan_out)
        except BaseException as e:
            summary.status = "failed"
            fail_run(store, summary.run_id, summary.git, len(specs), e)
            raise
        publish_run(store, cfg, catalog, summary)
        summary.warnings = coverage_of(store, cfg, summary, with_images)
        summary.coverage = Coverage(*(int(v or 0) for v in store.query("run_coverage", [summary.run_id])[0]))
    summary.seconds = time.monotonic() - started
    return summary


# -- stages ---------------------------------------------------------------------------------------
def load_policies(cfg: Config) -> Catalog:
    """The catalog, with everything the config says about profiles, teams and waivers checked against it."""
    catalog = load_catalog(cfg.policies_path)
    resolve_situations(catalog, cfg)
    return catalog


def open_writer(cfg: Config, command: str) -> Store:
    """The database for writing: waits for another writer up to the config's `database_wait_seconds`."""
    return Store.open(cfg.database_path, memory_limit=cfg.database_memory_limit,
                      wait_seconds=cfg.database_wait_seconds, command=command)  # fmt: skip


def begin_run(store: Store, cfg: Config, as_of: datetime | None, only: list[str] | None) -> int:
    """Record a new run (invisible until finished); runs a killed process left 'running' become failed."""
    store.execute("abandon_running")
    params = [as_of, cfg.source_hash, str(cfg.source_path or ""), __version__, only or None]
    run_id = int(store.query("begin_run", params)[0][0])
    store.note_run(run_id)
    return run_id


def git_crawl(store: Store, cfg: Config, as_of: datetime | None) -> GitCrawl:
    """What every repository's crawl of this run shares (read once from the database)."""
    return GitCrawl(GitMirrors(cfg.cache_path, cfg.git_timeout_seconds), known_facts.known_git(store), as_of,
                    cfg.max_file_bytes)  # fmt: skip


def crawl_git(
    store: Store,
    run_id: int,
    cfg: Config,
    specs: list[RepoSpec],
    as_of: datetime | None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    fan_out: FanOut | None = None,
) -> GitSummary:
    """Every repository crawled in parallel (`concurrency` threads, or `fan_out`), written in batches as
    they finish, by this thread: the one writer."""
    ctx = git_crawl(store, cfg, as_of)
    summary = GitSummary(total=len(specs), stats=ctx.mirrors.stats)
    writer = GitWriter(store, run_id, cfg.write_batch_repos)
    crawl = RepoCrawler(ctx)
    results = (fan_out("repository", crawl, specs) if fan_out is not None
               else map_unordered(crawl, specs, cfg.concurrency, threading.Event(), "crawl", cancel))  # fmt: skip
    try:
        for done, result in enumerate(results, 1):
            summary.count(result)
            writer.add(result)
            if progress is not None:
                progress(result, done, len(specs))
    except BaseException:
        # Stopping (SIGTERM, Ctrl-C, a store error): nothing queued starts, git processes in flight end.
        ctx.mirrors.stop()
        raise
    writer.flush()
    return summary


ImageJob = RegistrySource | LayoutSpec  # a configured registry, or a layout / archive on disk


def image_jobs(cfg: Config) -> list[ImageJob]:
    return [*cfg.registries, *cfg.layout_specs]


def known_images(store: Store, cfg: Config) -> KnownImages:
    """What the database knows of images; layer-scan state only when some registry scans layers."""
    scans = any(src.layer_scan for src in [*cfg.registries, *cfg.layouts])
    return KnownImages(
        known_facts.known_image_digests(store),
        known_facts.unsummarized_images(store) if scans else set(),
        known_facts.layer_loader(store),
    )


def crawl_image_source(
    store: Store, job: ImageJob, known: KnownImages, cancel: threading.Event | None = None,
    fan_out: FanOut | None = None,
) -> ImageResult:  # fmt: skip
    """One registry or layout, its repositories spread by `fan_out` when given; never raises (failures are
    rows) unless cancelled."""
    from hullcheck.crawl.registry import crawl_layout, crawl_registry

    if isinstance(job, RegistrySource):
        return crawl_registry(job, known, known_facts.seen_tags(store, job.host), cancel, fan_out)
    return crawl_layout(job, known, cancel, fan_out)


def crawl_images(store: Store, run_id: int, cfg: Config, cancel: threading.Event | None = None,
                 fan_out: FanOut | None = None) -> ImageSummary:  # fmt: skip
    """Each image source in turn, each written in one transaction; later sources skip digests earlier ones
    read. With `fan_out`, each source's repositories are read by it (a Prefect task each, in the flow)."""
    summary = ImageSummary()
    jobs = image_jobs(cfg)
    if not jobs:
        return summary
    known = known_images(store, cfg)
    for job in jobs:
        if cancel is not None and cancel.is_set():
            raise Stopped("the audit was asked to stop")
        result = crawl_image_source(store, job, known, cancel, fan_out)
        write_images(store, run_id, result)
        known.learn(result)
        summary.count(result)
    return summary


def finish_run(store: Store, run_id: int, git: GitSummary, images: ImageSummary) -> str:
    """Publish the run: one UPDATE makes it visible, `ok` or `partial` (with what went wrong)."""
    problems = []
    if git.failed:
        problems.append(f"{git.failed} of {git.total} repositories failed")
    if images.failures:
        problems.append(f"{len(images.failures)} registry, repository or tag reads failed")
    status = "partial" if problems else "ok"
    if images.unscanned_layers:  # the images are audited; only their file lists are missing
        problems.append(f"{images.unscanned_layers} layers could not be scanned (see image_layers.scan_error)")
    if store.repairs:  # values made storable (invalid text, numbers out of range): said, not hidden
        problems.append(
            "values repaired to be stored: " + ", ".join(f"{k} ({n})" for k, n in sorted(store.repairs.items()))
        )
    params = [status, git.total, git.extracted, git.unchanged, git.failed, "; ".join(problems) or None, run_id]
    store.execute("finish_run", params)
    return status


def publish_run(store: Store, cfg: Config, catalog: Catalog, summary: AuditSummary, today: date | None = None) -> None:
    """Finish the run and write its evaluation in one transaction: the run and its findings appear together.
    A policy whose SQL fails is an error row and the run ends partial; if the evaluation as a whole fails,
    the run is published without findings, partial, saying why."""

    def publish(evaluation: Evaluation | None) -> None:
        summary.status = finish_run(store, summary.run_id, summary.git, summary.images)
        if evaluation is not None and evaluation.errors:
            failed = ", ".join(e.policy_id for e in evaluation.errors)
            summary.status = "partial"
            store.execute("mark_partial", [f"policies that could not be evaluated: {failed}", summary.run_id])

    try:
        summary.evaluation = evaluate_run(store, cfg, summary.run_id, catalog, today=today, publish=publish)
    except Exception as e:  # the facts are sound: publish them, and say the evaluation failed
        summary.evaluation, summary.evaluation_error = None, f"{type(e).__name__}: {e}"
        with store.transaction():
            publish(None)
            summary.status = "partial"
            store.execute("mark_partial", [f"policy evaluation failed: {summary.evaluation_error}", summary.run_id])


def coverage_of(store: Store, cfg: Config, summary: AuditSummary, with_images: bool) -> list[str]:
    """The warnings of a published run, from its evaluation's owners: team globs matching no audited
    repository or image, and repositories and images no team owns (none without an evaluation)."""
    if summary.evaluation is None:
        return []
    repos: dict[str, str] = {}
    images: dict[str, str] = {}
    for kind, name, owner in store.query("coverage_owners", [summary.evaluation.evaluation_id]):
        (repos if kind == "repo" else images)[name] = owner
    return coverage_warnings(cfg.teams, repos, images if with_images else None)


def fail_run(store: Store, run_id: int, git: GitSummary, total: int, error: BaseException) -> None:
    """The run stopped (a signal, a store error): recorded as failed, never visible."""
    message = f"the audit stopped: {type(error).__name__}: {error}"
    store.execute("finish_run", ["failed", total, git.extracted, git.unchanged, git.failed, message, run_id])
