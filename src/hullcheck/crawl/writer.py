"""Writing crawl results: whole repositories per transaction, facts once per content.

Columns come from the row dataclasses (`store.insert`); this module only decides which rows
go to which table, what is replaced, and what belongs in one transaction.
"""

from __future__ import annotations

import time
from datetime import datetime

from hullcheck.crawl.rows import CommitRow, ImageResult, LayerScanRow, RepoResult, SignalFileRow
from hullcheck.extract import versions
from hullcheck.extract.compose.rows import ComposeFacts
from hullcheck.extract.dockerfile.rows import DockerfileFacts
from hullcheck.extract.signals import SignalRow
from hullcheck.store import Store

# A batch is written after this long even when it is not full: what a crash loses (its facts are
# written again by the next run). Longer than a small org's whole crawl, because a flush during the
# crawl is 5-10x slower than after it: its Python competes with the crawl threads for the GIL.
FLUSH_EVERY_SECONDS = 30.0
_DF_TABLES = ("df_files", "df_stages", "df_instructions", "df_packages", "df_vars", "df_copies")


class GitWriter:
    """Buffers whole repositories and writes each batch in one transaction, so a commit
    marked as extracted always has its files and facts."""

    def __init__(self, store: Store, run_id: int, batch_repos: int) -> None:
        self.store = store
        self.run_id = run_id
        self.batch_repos = batch_repos
        self.pending: list[RepoResult] = []
        self.last_flush = time.monotonic()
        self.written: set[tuple[str, str]] = set()  # (table family, blob sha) already written this run

    def add(self, result: RepoResult) -> None:
        self.pending.append(result)
        if len(self.pending) >= self.batch_repos or time.monotonic() - self.last_flush > FLUSH_EVERY_SECONDS:
            self.flush()

    def _first(self, family: str, sha: str) -> bool:
        if (family, sha) in self.written:
            return False
        self.written.add((family, sha))
        return True

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        commits, files, blobs, compose = [], [], [], []
        dockerfiles: dict[str, DockerfileFacts] = {}
        signals: dict[str, list[SignalRow]] = {}
        for r in batch:
            s = r.snapshot
            if r.new_commit and s.commit_sha is not None:
                commits.append(CommitRow(s.repo, s.commit_sha, s.committed_at))
                files.extend(r.rows.files)
                compose.extend((s.repo, s.commit_sha, c) for c in r.rows.compose)
            blobs.extend(b for b in r.rows.blobs if self._first("blob", b.blob_sha))
            dockerfiles.update({k: v for k, v in r.rows.dockerfiles.items() if self._first("df", k)})
            signals.update({k: v for k, v in r.rows.signals.items() if self._first("signal", k)})
        st = self.store
        with st.transaction():
            st.insert("git_snapshots", [r.snapshot for r in batch], run_id=self.run_id)
            keys = [[c.repo for c in commits], [c.commit_sha for c in commits]]
            for query in _FORGET_COMMITS:
                st.execute(query, keys)
            now = datetime.now().astimezone()
            st.insert("git_commits", commits, extractor_version=versions.COMMIT, extracted_at=now)
            st.insert("git_commit_files", files)
            st.insert("git_blobs", blobs)
            _write_dockerfiles(st, dockerfiles)
            _write_signals(st, signals)
            _write_compose(st, compose)
        self.last_flush = time.monotonic()


# A commit extracted again (newer extractor) loses its old rows first, then is written like a new one.
_FORGET_COMMITS = ("forget_commits", "forget_commit_files", "forget_compose_projects", "forget_compose_services")


def _write_dockerfiles(store: Store, facts: dict[str, DockerfileFacts]) -> None:
    if not facts:
        return
    for table in _DF_TABLES:  # facts from an older extractor version are replaced, not duplicated
        store.delete_where_in(table, "blob_sha", list(facts))
    items = facts.items()
    store.insert_groups("df_files", [({"blob_sha": k, "extractor_version": versions.DOCKERFILE}, [f.file])
                                     for k, f in items])  # fmt: skip
    store.insert_groups("df_stages", [({"blob_sha": k}, f.stages) for k, f in items])
    store.insert_groups("df_instructions", [({"blob_sha": k}, f.instructions) for k, f in items])
    store.insert_groups("df_packages", [({"blob_sha": k}, f.packages) for k, f in items])
    store.insert_groups("df_vars", [({"blob_sha": k}, f.vars) for k, f in items])
    store.insert_groups("df_copies", [({"blob_sha": k}, f.copies) for k, f in items])


def _write_signals(store: Store, signals: dict[str, list[SignalRow]]) -> None:
    if not signals:
        return
    for table in ("signal_files", "signal_facts"):
        store.delete_where_in(table, "blob_sha", list(signals))
    store.insert("signal_files", [SignalFileRow(sha, versions.SIGNALS) for sha in signals])
    store.insert_groups("signal_facts", [({"blob_sha": sha}, rows) for sha, rows in signals.items()])


def _write_compose(store: Store, projects: list[tuple[str, str, ComposeFacts]]) -> None:
    store.insert_groups("compose_project_facts", [({"repo": r, "commit_sha": c}, [f.project]) for r, c, f in projects])
    services = [
        (
            {"repo": r, "commit_sha": c, "project_dir": f.project.project_dir, "project_files": f.project.files},
            f.services,
        )
        for r, c, f in projects
    ]
    store.insert_groups("compose_service_facts", services)


def write_images(store: Store, run_id: int, result: ImageResult) -> None:
    """One image source's observations and new image facts, in one transaction."""
    manifests, configs = list(result.manifests.values()), list(result.configs.values())
    scans = [LayerScanRow(d, versions.LAYER_SCAN, sc.uncompressed_bytes, len(sc.files), None)
             for d, sc in result.layer_scans.items()]  # fmt: skip
    scans += [LayerScanRow(d, versions.LAYER_SCAN, 0, 0, err) for d, err in result.layer_errors.items()]
    with store.transaction():
        store.insert("registry_snapshots", result.tags, run_id=run_id)
        store.insert("layer_scans", scans, or_replace=True)
        store.insert_groups(
            "layer_file_facts", [({"layer_digest": d}, sc.files) for d, sc in result.layer_scans.items()]
        )
        summaries = [({"manifest_digest": d}, [s]) for d, s in result.summaries.items()]
        store.insert_groups("image_files_summary_facts", summaries, or_replace=True)
        # Facts extracted again (a newer image extractor) replace the old ones, nested rows included.
        store.delete_where_in("image_index_children", "index_digest", [m.digest for m in manifests])
        store.delete_where_in("image_layer_facts", "manifest_digest", [m.digest for m in manifests])
        store.delete_where_in("image_history_facts", "config_digest", [c.config_digest for c in configs])
        store.insert("image_manifest_facts", manifests, or_replace=True, extractor_version=versions.IMAGE)
        store.insert_groups("image_index_children", [({"index_digest": m.digest}, m.children) for m in manifests])
        store.insert_groups("image_layer_facts", [({"manifest_digest": m.digest}, m.layers) for m in manifests])
        store.insert("image_config_facts", configs, or_replace=True, extractor_version=versions.IMAGE)
        store.insert_groups("image_history_facts", [({"config_digest": c.config_digest}, c.history) for c in configs])
