"""Crawl one registry into rows: catalog → tags → HEAD each tag → fetch only unknown digests.

The nightly rerun of an unchanged registry costs the catalog, the tag lists and one HEAD
per tag: a digest already in the database (manifests and configs are content-addressed)
is never fetched again. Never raises: failures become rows with a message.
"""

from __future__ import annotations

import fnmatch
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hullcheck.config import RegistrySource
from hullcheck.extract.image.layer_scan import FilesSummary, LayerScan, LayerScanError, scan_layer, summarize
from hullcheck.extract.image.manifest import (
    MANIFEST_MEDIA_TYPES,
    ConfigFacts,
    ImageFormatError,
    IndexChild,
    ManifestFacts,
    parse_config,
    parse_manifest,
)
from hullcheck.redact import redact_text
from hullcheck.sources.layout import LayoutSource
from hullcheck.sources.registry import Fetched, RegistryClient, RegistryError
from hullcheck.sources.registry_auth import Credentials

MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(slots=True)
class TagRow:
    registry: str
    repository: str | None  # None: the registry itself failed (catalog, auth)
    tag: str | None
    digest: str | None
    media_type: str | None
    status: str  # new | known | failed
    error: str | None = None


@dataclass
class RegistryResult:
    registry: str
    tags: list[TagRow] = field(default_factory=list)
    manifests: dict[str, ManifestFacts] = field(default_factory=dict)
    configs: dict[str, ConfigFacts] = field(default_factory=dict)
    layer_scans: dict[str, LayerScan] = field(default_factory=dict)
    layer_errors: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, FilesSummary] = field(default_factory=dict)
    scanned_bytes: int = 0
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(t.status == "failed" for t in self.tags)


def _is_platform_image(child: IndexChild) -> bool:
    """An index entry that is an image for a platform: not an attestation, signature or nested index."""
    if child.media_type and child.media_type not in MANIFEST_MEDIA_TYPES:
        return False
    return not (child.os == "unknown" and child.architecture == "unknown") and not child.attestation


def _message(e: Exception, registry: str) -> str:
    """A failure as a sentence: our own errors as they are, anything else named, secrets removed."""
    if isinstance(e, RegistryError | ImageFormatError):
        return redact_text(str(e))
    return redact_text(f"{registry}: unexpected answer ({type(e).__name__}: {str(e)[:200]})")


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


def make_client(src: RegistrySource) -> RegistryClient:
    return RegistryClient(
        src.host,
        insecure=src.insecure,
        credentials=_credentials(src),
        timeout=(5.0, src.timeout_seconds),
        retries=src.retries,
    )


def _wanted(name: str, include: list[str], exclude: list[str] | None = None) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in include) and not any(
        fnmatch.fnmatchcase(name, g) for g in exclude or []
    )


LayerLoader = Callable[[str], LayerScan | None]


class _Crawl:
    def __init__(
        self,
        src: RegistrySource,
        client: RegistryClient | LayoutSource,
        known: set[str],
        layer_loader: LayerLoader | None = None,
    ) -> None:
        self.src, self.client = src, client
        self.layer_loader = layer_loader
        self.seen_tags: set[tuple[str, str]] = set()
        self.unsummarized: set[str] = set()  # known digests lacking a layer-scan summary
        self.rescanned: set[str] = set()
        self.result = RegistryResult(client.host if isinstance(client, LayoutSource) else src.host)
        self.known = known  # manifest and config digests already in the database
        self.lock = threading.Lock()

    def _claim(self, digest: str, claims: list[str] | None = None) -> bool:
        """True for the first thread that needs `digest`: the others treat it as known."""
        with self.lock:
            if digest in self.known:
                return False
            self.known.add(digest)
        if claims is not None:
            claims.append(digest)
        return True

    def repositories(self) -> list[str]:
        literal = [r for r in self.src.repositories if not any(c in r for c in "*?[")]
        if self.src.repositories and len(literal) == len(self.src.repositories):
            return literal  # names only: no catalog needed (many registries have none)
        catalog = self.client.catalog()
        return [r for r in catalog if _wanted(r, self.src.repositories or ["*"])]

    def repository(self, repo: str) -> None:
        try:
            tags = [t for t in self.client.ls(repo) if _wanted(t, self.src.tags, self.src.exclude_tags)]
        except Exception as e:
            self._add(TagRow(self.result.registry, repo, None, None, None, "failed", _message(e, self.result.registry)))
            return
        for tag in sorted(tags):
            row = self.tag(repo, tag)
            if row is not None:
                self._add(row)

    def tag(self, repo: str, tag: str) -> TagRow | None:
        claims: list[str] = []
        try:
            return self._tag(repo, tag, claims)
        except RegistryError as e:
            if str(e).endswith((f"{repo}:{tag} not found", f"{repo}@{tag} not found")):
                return None  # deleted between the tag list and this request: nothing to audit
            failure: Exception = e
        except Exception as e:
            failure = e
        with self.lock:  # what this tag claimed but could not fetch is not known: another tag may fetch it
            self.known.difference_update(claims)
        return TagRow(self.result.registry, repo, tag, None, None, "failed",
                      f"{repo}:{tag}: {_message(failure, self.result.registry)}")  # fmt: skip

    def _tag(self, repo: str, tag: str, claims: list[str]) -> TagRow:
        fetched = None
        if (repo, tag) in self.seen_tags:  # seen on an earlier night: one HEAD tells whether it moved
            digest, media_type = self.client.digest(repo, tag)
        else:  # a new tag: the GET it needs anyway tells its digest too (verified against the header)
            fetched = self.client.manifest(repo, tag)
            digest, media_type = fetched.digest, fetched.media_type
        if not self._claim(digest, claims):
            if self.src.layer_scan and self._claim_rescan(digest):
                try:
                    self.rescan(repo, digest)
                except Exception as e:
                    with self.lock:
                        self.result.layer_errors[digest] = _message(e, self.result.registry)
            return TagRow(self.result.registry, repo, tag, digest, media_type, "known")
        self.manifest(repo, digest, media_type, fetched, claims)
        return TagRow(self.result.registry, repo, tag, digest, media_type, "new")

    def manifest(
        self,
        repo: str,
        digest: str,
        media_type: str | None,
        fetched: Fetched | None = None,
        claims: list[str] | None = None,
    ) -> None:
        fetched = fetched or self.client.manifest(repo, digest, expected_digest=digest)
        facts = parse_manifest(fetched.data, digest, fetched.media_type or media_type)
        facts.children = [c for c in facts.children if _is_platform_image(c)]
        children = [c.child_digest for c in facts.children if self._claim(c.child_digest, claims)]
        for child_digest in children:
            self.manifest(repo, child_digest, None, None, claims)
        if self.src.layer_scan and facts.kind == "manifest":
            self.scan(repo, facts)
        if facts.config_digest and self._claim(facts.config_digest, claims):
            data = self.client.blob(repo, facts.config_digest, MAX_CONFIG_BYTES)
            config = parse_config(data, facts.config_digest)
            with self.lock:
                self.result.configs[config.config_digest] = config
        with self.lock:
            self.result.manifests[digest] = facts

    def _claim_rescan(self, digest: str) -> bool:
        """True once for a known digest whose images have no layer-scan summary yet."""
        with self.lock:
            if digest not in self.unsummarized:
                return False
            self.unsummarized.discard(digest)
            return True

    def rescan(self, repo: str, digest: str) -> None:
        """Layer scan for an image known from before scanning was enabled (its facts are not rewritten)."""
        facts = parse_manifest(self.client.manifest(repo, digest, expected_digest=digest).data, digest)
        if facts.kind == "manifest":
            self.scan(repo, facts)
            return
        for child in facts.children:
            if not _is_platform_image(child):
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
                scan = self.result.layer_scans.get(layer.digest)
            scan = scan or (self.layer_loader(layer.digest) if self.layer_loader else None)
            if scan is None:
                with self.lock:
                    if self.result.scanned_bytes + (layer.size or 0) > self.src.layer_scan_budget_bytes:
                        return  # over budget: this image is summarised on a later night
                    self.result.scanned_bytes += layer.size or 0
                try:
                    scan = scan_layer(self.client.open_blob(repo, layer.digest), layer.media_type or "", layer.digest)
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


def crawl_registry(
    src: RegistrySource,
    known_digests: set[str],
    layer_loader: LayerLoader | None = None,
    seen_tags: set[tuple[str, str]] | None = None,
    unsummarized: set[str] | None = None,
) -> RegistryResult:
    try:
        client = make_client(src)
    except RegistryError as e:
        return RegistryResult(src.host, [TagRow(src.host, None, None, None, None, "failed", str(e))])
    crawl = _Crawl(src, client, set(known_digests), layer_loader)
    crawl.seen_tags = seen_tags or set()
    crawl.unsummarized = set(unsummarized or ())
    return _run(crawl, client)


def crawl_layout(path: Path, known_digests: set[str]) -> RegistryResult:
    """An OCI layout directory, OCI archive or `docker save` tarball, crawled like a registry."""
    name = f"layout:{path}"
    try:
        source = LayoutSource(path)
    except RegistryError as e:
        return RegistryResult(name, [TagRow(name, None, None, None, None, "failed", str(e))])
    try:
        return _run(_Crawl(RegistrySource(url="layout", concurrency=1), source, set(known_digests)), source)
    finally:
        source.close()


def _run(crawl: _Crawl, client: RegistryClient | LayoutSource) -> RegistryResult:
    try:
        repos = crawl.repositories()
    except Exception as e:  # an unreachable registry, a refused login, an unexpected answer: one failed row
        message = _message(e, crawl.result.registry)
        crawl.result.tags.append(TagRow(crawl.result.registry, None, None, None, None, "failed", message))
        repos = []
    with ThreadPoolExecutor(max_workers=crawl.src.concurrency, thread_name_prefix="registry") as pool:
        list(pool.map(crawl.repository, repos))
    crawl.result.requests = dict(client.requests)
    return crawl.result
