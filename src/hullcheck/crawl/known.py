"""What the database already knows, read once per run before the crawl: the nightly rerun of an
unchanged source costs a lookup in these, not a read of its content."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from hullcheck.crawl.rows import ImageResult
from hullcheck.extract import versions
from hullcheck.extract.commit import KnownBlob
from hullcheck.extract.image.layer_scan import FileRow, LayerScan
from hullcheck.store import Store

LayerLoader = Callable[[str], LayerScan | None]


@dataclass(frozen=True)
class KnownGit:
    commits: dict[tuple[str, str], datetime | None]  # (repo, commit) extracted by the current version
    blobs: dict[str, KnownBlob]


def known_git(store: Store) -> KnownGit:
    commits = {(r, c): t for r, c, t in store.query("known_commits", [versions.COMMIT])}
    blobs = {row[0]: KnownBlob(*row[1:]) for row in store.query("known_blobs", [versions.DOCKERFILE, versions.SIGNALS])}
    return KnownGit(commits, blobs)


@dataclass
class KnownImages:
    """What the database knows of images; `digests` grows as sources are crawled, one after the other."""

    digests: set[str]  # manifest and config digests extracted by the current image extractor
    unsummarized: set[str] = field(default_factory=set)  # known digests lacking a layer-scan summary
    layer_loader: LayerLoader | None = None

    def learn(self, result: ImageResult) -> None:
        self.digests.update(result.manifests, result.configs)


def known_image_digests(store: Store) -> set[str]:
    """Manifest and config digests extracted by the current image extractor."""
    return {row[0] for row in store.query("known_image_digests", [versions.IMAGE])}


def unsummarized_images(store: Store) -> set[str]:
    """Known digests whose images have no layer-scan summary yet (scanned when a registry turns scans on)."""
    return {row[0] for row in store.query("unsummarized_images")}


def seen_tags(store: Store, registry: str) -> set[tuple[str, str]]:
    """(repository, tag) of a registry observed on earlier nights: one HEAD tells whether they moved."""
    return {(r, t) for r, t in store.query("seen_tags", [registry])}


def layer_loader(store: Store) -> LayerLoader:
    """Layers scanned on earlier nights, read back for new images that reuse them (thread-safe)."""
    query = store.concurrent_query("layer_files")

    def load(digest: str) -> LayerScan | None:
        rows = query([digest, versions.LAYER_SCAN])
        if not rows:
            return None
        files = [FileRow(*r[1:]) for r in rows if r[1] is not None]
        return LayerScan(digest, rows[0][0], files)

    return load
