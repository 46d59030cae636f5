"""Crawl one image source into rows: catalog → tags → HEAD each tag → fetch only unknown digests.

The source is an `ImageSource`: a registry, or images on disk (OCI layout, OCI archive,
`docker save`), which answer the same verbs. The nightly rerun of an unchanged registry
costs the catalog, the tag lists and one HEAD per tag: a digest already in the database
(manifests and configs are content-addressed) is never fetched again. Never raises:
failures become rows with a message.
"""

from __future__ import annotations

import fnmatch
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from hullcheck.config import LayoutSource as LayoutSettings
from hullcheck.config import LayoutSpec, RegistrySource
from hullcheck.crawl.known import KnownImages
from hullcheck.crawl.pool import map_unordered
from hullcheck.crawl.rows import ImageResult, TagRow
from hullcheck.errors import HullcheckError, Interrupted, RegistryError, RegistryNotFound
from hullcheck.extract.image.layer_scan import LayerScan, LayerScanError, ScanLimits, scan_layer, summarize
from hullcheck.extract.image.manifest import (
    MANIFEST_MEDIA_TYPES,
    IndexChild,
    ManifestFacts,
    parse_config,
    parse_manifest,
)
from hullcheck.redact import redact_text
from hullcheck.sources.images import Fetched, ImageSource
from hullcheck.sources.registry_auth import Credentials

MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ImageCrawlOptions:
    """What to read from one image source, and how (from its `registries:` or `layouts:` entry)."""

    repositories: list[str] = field(default_factory=list)  # names or globs; empty: the catalog
    tags: list[str] = field(default_factory=lambda: ["*"])
    exclude_tags: list[str] = field(default_factory=list)
    concurrency: int = 1
    layer_scan: bool = False
    layer_scan_budget_bytes: int = 0
    limits: ScanLimits = field(default_factory=ScanLimits)

    @classmethod
    def of(cls, src: RegistrySource | LayoutSettings) -> ImageCrawlOptions:
        limits = ScanLimits(max_bytes=src.layer_scan_max_bytes, max_ratio=src.layer_scan_max_ratio)
        if isinstance(src, LayoutSettings):
            return cls(layer_scan=src.layer_scan, layer_scan_budget_bytes=src.layer_scan_budget_bytes, limits=limits)
        return cls(src.repositories, src.tags, src.exclude_tags, src.concurrency, src.layer_scan,
                   src.layer_scan_budget_bytes, limits)  # fmt: skip


# How a source's repositories are spread (audit.FanOut): each repository's read adds its rows to the
# source's one result, so the reads must share this process (threads, or Prefect tasks on threads).
RepoFanOut = Callable[[str, Callable[[str], None], list[str]], Iterator[None]]


def crawl_registry(
    src: RegistrySource,
    known: KnownImages,
    seen_tags: set[tuple[str, str]],
    cancel: threading.Event | None = None,
    fan_out: RepoFanOut | None = None,
) -> ImageResult:
    """One configured registry; its repositories read by `fan_out` when given (else `concurrency` threads)."""
    try:
        from hullcheck.sources.registry import RegistryClient  # the HTTP stack only when registries are audited

        client = RegistryClient(src.host, insecure=src.insecure, credentials=_credentials(src),
                                timeout=(5.0, src.timeout_seconds), retries=src.retries)  # fmt: skip
    except RegistryError as e:
        return ImageResult(src.host, [TagRow(src.host, None, None, None, None, "failed", str(e))])
    try:
        return crawl_images(client, ImageCrawlOptions.of(src), known, seen_tags, cancel, fan_out)
    finally:
        client.close()


def crawl_layout(spec: LayoutSpec, known: KnownImages, cancel: threading.Event | None = None,
                 fan_out: RepoFanOut | None = None) -> ImageResult:  # fmt: skip
    """An OCI layout directory, OCI archive or `docker save` tarball, crawled like a registry."""
    from hullcheck.sources.layout import LayoutSource

    name = f"layout:{spec.path}"
    if spec.problem is not None:  # a glob that matched nothing: said in words, not as an OS error
        return ImageResult(name, [TagRow(name, None, None, None, None, "failed", spec.problem)])
    if not spec.path.exists():
        missing = f"{name}: no such file or directory (an OCI layout directory, OCI archive or docker save tarball)"
        return ImageResult(name, [TagRow(name, None, None, None, None, "failed", missing)])
    try:
        source = LayoutSource(spec.path)
    except RegistryError as e:
        return ImageResult(name, [TagRow(name, None, None, None, None, "failed", str(e))])
    try:
        return crawl_images(source, ImageCrawlOptions.of(spec.settings), known, set(), cancel, fan_out)
    finally:
        source.close()


def crawl_images(
    source: ImageSource,
    options: ImageCrawlOptions,
    known: KnownImages,
    seen_tags: set[tuple[str, str]],
    cancel: threading.Event | None = None,
    fan_out: RepoFanOut | None = None,
) -> ImageResult:
    """Every wanted repository and tag of one source. Never raises, except `Stopped` when `cancel` is set
    (queued repositories are dropped, the source ends its requests at once)."""
    crawl = _Crawl(source, options, known, seen_tags, threading.Event())
    try:
        repos = crawl.repositories()  # a repositories glob that matches nothing is a failed row already
    except Exception as e:  # an unreachable registry, a refused login, an unexpected answer: one failed row
        crawl.result.tags.append(TagRow(source.name, None, None, None, None, "failed", _message(e, source.name)))
        repos = []
    try:
        if fan_out is not None:
            reads = fan_out(f"registry-repository {source.name}", crawl.repository, repos)
        else:
            reads = map_unordered(crawl.repository, repos, options.concurrency, crawl.stop, "registry", cancel)
        for _ in reads:
            pass
    except BaseException:
        source.stop()
        raise
    crawl.result.requests = dict(source.requests)
    return crawl.result


def is_platform_image(child: IndexChild) -> bool:
    """An index entry that is an image for a platform: not an attestation, signature or nested index."""
    if child.media_type and child.media_type not in MANIFEST_MEDIA_TYPES:
        return False
    return not (child.os == "unknown" and child.architecture == "unknown") and not child.attestation


def _message(e: Exception, source: str) -> str:
    """A failure as a sentence: our own errors as they are, anything else named, secrets removed."""
    if isinstance(e, HullcheckError):
        return redact_text(str(e))
    return redact_text(f"{source}: unexpected answer ({type(e).__name__}: {str(e)[:200]})")


def _credentials(src: RegistrySource) -> Credentials | None:
    if src.credentials is None:
        return None
    user, password = os.environ.get(src.credentials.username_env), os.environ.get(src.credentials.password_env)
    if user is None or password is None:
        raise RegistryError(
            f"{src.host}: credentials are configured from ${src.credentials.username_env} and "
            f"${src.credentials.password_env}, and at least one of them is not set"
        )
    return Credentials(user, password)


def _wanted(name: str, include: list[str], exclude: list[str] | None = None) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in include) and not any(
        fnmatch.fnmatchcase(name, g) for g in exclude or []
    )


class _Crawl:
    def __init__(
        self,
        source: ImageSource,
        options: ImageCrawlOptions,
        known: KnownImages,
        seen_tags: set[tuple[str, str]],
        stop: threading.Event,
    ) -> None:
        self.source, self.options, self.stop = source, options, stop
        self.layer_loader = known.layer_loader
        # Layers scanned on earlier nights (or by an earlier source), once read back: images share layers,
        # and a layout of 1,000 images on one base layer read that layer's file rows back 1,000 times.
        self.loaded: dict[str, LayerScan] = {}
        self.seen_tags = seen_tags
        self.unsummarized = set(known.unsummarized)
        self.rescanned: set[str] = set()
        self.result = ImageResult(source.name)
        self.known = set(known.digests)  # complete: in the database, or fetched whole by this crawl
        self.fetching: dict[str, threading.Event] = {}  # digest -> set when its fetch ends, well or not
        self.lock = threading.Lock()

    def _acquire(self, digest: str) -> bool:
        """True when this thread must fetch `digest`; False when it is complete. A digest another thread
        is fetching is waited for: if that fetch fails, this thread tries in turn. So a tag is recorded
        only with every manifest, child and config it names, or as a failure."""
        while True:
            with self.lock:
                if digest in self.known:
                    return False
                pending = self.fetching.get(digest)
                if pending is None:
                    self.fetching[digest] = threading.Event()
                    return True
            while not pending.wait(0.5):
                if self.stop.is_set():
                    raise Interrupted(f"{self.result.source}: stopped while waiting for {digest}")

    def _release(self, digest: str, complete: bool) -> None:
        with self.lock:
            if complete:
                self.known.add(digest)
            self.fetching.pop(digest).set()

    def repositories(self) -> list[str]:
        """The configured names as they are (a name the registry lacks fails on its tag list, saying so),
        and what the globs match in the catalog; a glob matching no repository is a failed row."""
        wanted = self.options.repositories
        literal = [r for r in wanted if not any(c in r for c in "*?[")]
        if wanted and len(literal) == len(wanted):
            return literal  # names only: no catalog needed (many registries have none)
        globs = [g for g in wanted if g not in literal] or ["*"]
        catalog = self.source.catalog()
        name = self.result.source
        for g in globs if wanted else []:
            if not any(fnmatch.fnmatchcase(r, g) for r in catalog):
                words = f"{name}: repositories glob {g!r} matched no repository of the catalog ({len(catalog)} listed)"
                self._add(TagRow(name, None, None, None, None, "failed", words))
        return literal + [r for r in catalog if r not in literal and _wanted(r, globs)]

    def repository(self, repo: str) -> None:
        name = self.result.source
        try:
            tags = [t for t in self.source.ls(repo) if _wanted(t, self.options.tags, self.options.exclude_tags)]
        except RegistryNotFound:  # 404 (NAME_UNKNOWN) on its tag list: the name is wrong, or it was deleted
            if repo in self.options.repositories:
                words = f"the repository does not exist in {name} (check its name in `repositories`)"
            else:
                words = f"the repository does not exist in {name} any more (listed in its catalog, then gone)"
            self._add(TagRow(name, repo, None, None, None, "failed", f"{repo}: {words}"))
            return
        except Exception as e:
            self._add(TagRow(name, repo, None, None, None, "failed", f"{repo}: {_message(e, name)}"))
            return
        for tag in sorted(tags):
            if self.stop.is_set():
                return
            row = self.tag(repo, tag)
            if row is not None:
                self._add(row)

    def tag(self, repo: str, tag: str) -> TagRow | None:
        name = self.result.source
        try:
            return self._tag(repo, tag)
        except _TagVanished:
            return None  # deleted between the tag list and this request: nothing to audit
        except Exception as e:
            return TagRow(name, repo, tag, None, None, "failed", f"{repo}:{tag}: {_message(e, name)}")

    def _tag(self, repo: str, tag: str) -> TagRow:
        fetched = None
        try:
            if (repo, tag) in self.seen_tags:  # seen on an earlier night: one HEAD tells whether it moved
                digest, media_type = self.source.digest(repo, tag)
            else:  # a new tag: the GET it needs anyway tells its digest too (verified against the header)
                fetched = self.source.manifest(repo, tag)
                digest, media_type = fetched.digest, fetched.media_type
        except RegistryNotFound:
            raise _TagVanished from None
        if not self._acquire(digest):
            if self.options.layer_scan and self._claim_rescan(digest):
                try:
                    self.rescan(repo, digest)
                except Exception as e:
                    with self.lock:
                        self.result.layer_errors[digest] = _message(e, self.result.source)
            return TagRow(self.result.source, repo, tag, digest, media_type, "known")
        self.manifest(repo, digest, media_type, fetched)
        return TagRow(self.result.source, repo, tag, digest, media_type, "new")

    def manifest(self, repo: str, digest: str, media_type: str | None, fetched: Fetched | None = None) -> None:
        """Fetch an acquired manifest or index and all it names; it enters the result only complete."""
        complete = False
        try:
            fetched = fetched or self.source.manifest(repo, digest, expected_digest=digest)
            facts = parse_manifest(fetched.data, digest, fetched.media_type or media_type)
            facts.children = [c for c in facts.children if is_platform_image(c)]
            for child in facts.children:
                if self._acquire(child.child_digest):
                    self.manifest(repo, child.child_digest, None)
            if self.options.layer_scan and facts.kind == "manifest":
                self.scan(repo, facts)
            if facts.config_digest and self._acquire(facts.config_digest):
                self.config(repo, facts.config_digest)
            with self.lock:
                self.result.manifests[digest] = facts
            complete = True
        finally:
            self._release(digest, complete)

    def config(self, repo: str, digest: str) -> None:
        complete = False
        try:
            config = parse_config(self.source.blob(repo, digest, MAX_CONFIG_BYTES), digest)
            with self.lock:
                self.result.configs[config.config_digest] = config
            complete = True
        finally:
            self._release(digest, complete)

    def _claim_rescan(self, digest: str) -> bool:
        """True once for a known digest whose images have no layer-scan summary yet."""
        with self.lock:
            if digest not in self.unsummarized:
                return False
            self.unsummarized.discard(digest)
            return True

    def rescan(self, repo: str, digest: str) -> None:
        """Layer scan for an image known from before scanning was enabled (its facts are not rewritten)."""
        facts = parse_manifest(self.source.manifest(repo, digest, expected_digest=digest).data, digest)
        if facts.kind == "manifest":
            self.scan(repo, facts)
            return
        for child in facts.children:
            if not is_platform_image(child):
                continue
            with self.lock:
                done = child.child_digest in self.result.summaries or child.child_digest in self.rescanned
                self.rescanned.add(child.child_digest)
            if not done:
                self.rescan(repo, child.child_digest)

    def scan(self, repo: str, facts: ManifestFacts) -> None:
        """Scan the image's layers not scanned before (within the nightly byte budget), then summarise."""
        if any("tar" not in (layer.media_type or "") for layer in facts.layers):
            return  # an artifact (signature, chart, SBOM…), not a filesystem
        scans = []
        for layer in facts.layers:
            with self.lock:
                scan = self.result.layer_scans.get(layer.digest) or self.loaded.get(layer.digest)
            if scan is None and self.layer_loader is not None:
                scan = self.layer_loader(layer.digest)
                if scan is not None:
                    with self.lock:
                        self.loaded[layer.digest] = scan
            if scan is None:
                with self.lock:
                    if self.result.scanned_bytes + (layer.size or 0) > self.options.layer_scan_budget_bytes:
                        return  # over budget: this image is summarised on a later night
                    self.result.scanned_bytes += layer.size or 0
                try:
                    blob = self.source.open_blob(repo, layer.digest)
                    scan = scan_layer(blob, layer.media_type or "", layer.digest, self.options.limits)
                except (LayerScanError, RegistryError) as e:
                    with self.lock:
                        self.result.layer_errors[layer.digest] = str(e)
                    return
                with self.lock:
                    self.result.layer_scans[layer.digest] = scan
            scans.append(scan)
        with self.lock:
            self.result.summaries[facts.digest] = summarize(scans)

    def _add(self, row: TagRow) -> None:
        with self.lock:
            self.result.tags.append(row)


class _TagVanished(Exception):
    """The tag's own manifest is gone (deleted after the tag list): not a failure, not a tag."""
