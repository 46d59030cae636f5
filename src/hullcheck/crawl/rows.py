"""What a crawl of one source returns: observation rows and the facts learned, ready for the writer.

Field names are the columns of the tables they go to (the writer adds `run_id`); fields marked
`NOT_STORED` carry nested rows that go to tables of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hullcheck.extract.commit import CommitRows
from hullcheck.extract.image.layer_scan import FilesSummary, LayerScan
from hullcheck.extract.image.manifest import ConfigFacts, ManifestFacts


@dataclass(slots=True)
class SnapshotRow:
    """One repository as one run saw it (`git_snapshots`)."""

    repo: str
    url: str  # credentials removed
    ref: str | None
    commit_sha: str | None
    committed_at: datetime | None
    status: str  # extracted | unchanged | empty | failed
    error: str | None = None
    blobs_read: int = 0
    duration_ms: int = 0
    note: str | None = None  # what the crawl had to repair (a stale lock, a mirror cloned again)


@dataclass
class RepoResult:
    snapshot: SnapshotRow
    new_commit: bool = False  # the commit was extracted: its rows replace any older extraction
    rows: CommitRows = field(default_factory=CommitRows)


@dataclass(slots=True)
class TagRow:
    """One tag as one run saw it (`registry_snapshots`)."""

    registry: str
    repository: str | None  # None: the registry itself failed (catalog, auth)
    tag: str | None
    digest: str | None
    media_type: str | None
    status: str  # new | known | failed
    error: str | None = None


@dataclass(slots=True)
class LayerScanRow:
    """One layer scanned (`layer_scans`); its files go to `layer_file_facts`."""

    layer_digest: str
    scan_version: int
    uncompressed_bytes: int
    file_count: int
    error: str | None


@dataclass
class ImageResult:
    """One image source (a registry, or a layout on disk) crawled."""

    source: str  # registry host, or layout:<path>
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


@dataclass(slots=True)
class CommitRow:
    """A commit extracted (`git_commits`; the writer adds the extractor version and the time)."""

    repo: str
    commit_sha: str
    committed_at: datetime | None


@dataclass(slots=True)
class SignalFileRow:
    """A blob whose signals were extracted (`signal_files`), even when it has none."""

    blob_sha: str
    extractor_version: int
