"""Writing crawl results: whole repositories per transaction, facts once per content."""

from __future__ import annotations

import time
from dataclasses import asdict, astuple, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hullcheck.assets import read_sql
from hullcheck.crawl.git import RepoResult
from hullcheck.extract import COMMIT_VERSION
from hullcheck.extract.compose.rows import ComposeFacts
from hullcheck.extract.dockerfile.parse import EXTRACTOR_VERSION as DOCKERFILE_VERSION
from hullcheck.extract.dockerfile.rows import DockerfileFacts
from hullcheck.extract.image.layer_scan import LAYER_SCAN_VERSION
from hullcheck.extract.signals import SIGNALS_VERSION, SignalRow
from hullcheck.store import Store

if TYPE_CHECKING:  # the registry stack (requests, oras) loads only when registries are audited
    from hullcheck.crawl.registry import RegistryResult

FLUSH_EVERY_SECONDS = 5.0
_SNAPSHOT_COLUMNS = ("run_id", "repo", "url", "ref", "commit_sha", "committed_at", "status", "error", "blobs_read",
                     "duration_ms")  # fmt: skip
_COMMIT_COLUMNS = ("repo", "commit_sha", "committed_at", "extractor_version", "extracted_at")
_DF_TABLES = ("df_files", "df_stages", "df_instructions", "df_packages", "df_vars", "df_copies")


class BatchWriter:
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
        snapshots, commits, files, blobs, compose = [], [], [], [], []
        dockerfiles: dict[str, DockerfileFacts] = {}
        signals: dict[str, list[SignalRow]] = {}
        for r in batch:
            s = r.snapshot
            snapshots.append((self.run_id, s.repo, s.url, s.ref, s.commit_sha, s.committed_at, s.status, s.error,
                              s.blobs_read, s.duration_ms))  # fmt: skip
            if r.new_commit:
                commits.append((s.repo, s.commit_sha, s.committed_at, COMMIT_VERSION))
                files.extend(r.files)
                compose.extend((s.repo, s.commit_sha, c) for c in r.compose)
            blobs.extend(b for b in r.blobs if self._first("blob", b.blob_sha))
            dockerfiles.update({k: v for k, v in r.dockerfiles.items() if self._first("df", k)})
            signals.update({k: v for k, v in r.signals.items() if self._first("signal", k)})
        now = datetime.now().astimezone()
        st = self.store
        st.con.execute("BEGIN TRANSACTION")
        try:
            st.insert("git_snapshots", snapshots, _SNAPSHOT_COLUMNS)
            repos, shas = [c[0] for c in commits], [c[1] for c in commits]
            for query in ("forget_commit_files", "forget_compose_projects", "forget_compose_services"):
                st.con.execute(read_sql(f"queries/{query}.sql"), [repos, shas])
            st.insert("git_commits", [(*c, now) for c in commits], _COMMIT_COLUMNS, or_replace=True)
            st.insert("git_commit_files", files)
            st.insert("git_blobs", blobs)
            _write_dockerfiles(st, dockerfiles)
            _write_signals(st, signals)
            _write_compose(st, compose)
            st.con.execute("COMMIT")
        except BaseException:
            st.con.execute("ROLLBACK")
            raise
        self.last_flush = time.monotonic()


def _forget(store: Store, tables: tuple[str, ...], shas: list[str]) -> None:
    """Facts from an older extractor version are replaced, not duplicated (table names are constants)."""
    for table in tables:
        store.con.execute(f"DELETE FROM {table} WHERE blob_sha IN (SELECT unnest(?::VARCHAR[]))", [shas])


def _rows(sha: str, rows: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    cols = ["blob_sha", *(f.name for f in fields(rows[0]))]
    return cols, [(sha, *(getattr(r, c) for c in cols[1:])) for r in rows]


def _write_dockerfiles(store: Store, facts: dict[str, DockerfileFacts]) -> None:
    if not facts:
        return
    _forget(store, _DF_TABLES, list(facts))
    files = []
    per_table: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for sha, f in facts.items():
        d = f.file
        files.append({"blob_sha": sha, "extractor_version": DOCKERFILE_VERSION, **asdict(d)})
        for table, rows in (("df_stages", f.stages), ("df_instructions", f.instructions),
                            ("df_packages", f.packages), ("df_vars", f.vars), ("df_copies", f.copies)):  # fmt: skip
            if rows:
                cols, values = _rows(sha, rows)
                per_table.setdefault(table, (cols, []))[1].extend(values)
    cols = list(files[0])
    store.insert("df_files", [tuple(f[c] for c in cols) for f in files], cols)
    for table, (cols, values) in per_table.items():
        store.insert(table, values, cols)


def _write_signals(store: Store, signals: dict[str, list[SignalRow]]) -> None:
    if not signals:
        return
    _forget(store, ("signal_files", "signal_facts"), list(signals))
    store.insert("signal_files", [(sha, SIGNALS_VERSION) for sha in signals], ["blob_sha", "extractor_version"])
    values = [(sha, r.line, r.signal, r.detail) for sha, rows in signals.items() for r in rows]
    store.insert("signal_facts", values, ["blob_sha", "line", "signal", "detail"])


def _write_compose(store: Store, projects: list[tuple[str, str, ComposeFacts]]) -> None:
    if not projects:
        return
    project_rows, service_rows = [], []
    for repo, commit, facts in projects:
        p = asdict(facts.project)
        project_rows.append({"repo": repo, "commit_sha": commit, **p})
        for svc in facts.services:
            service_rows.append({"repo": repo, "commit_sha": commit, "project_dir": facts.project.project_dir,
                                 "project_files": facts.project.files, **asdict(svc)})  # fmt: skip
    cols = list(project_rows[0])
    store.insert("compose_project_facts", [tuple(r[c] for c in cols) for r in project_rows], cols)
    if service_rows:
        cols = list(service_rows[0])
        store.insert("compose_service_facts", [tuple(r[c] for c in cols) for r in service_rows], cols)


def write_registry(store: Store, run_id: int, result: RegistryResult) -> None:
    """One registry's observations and new image facts, in one transaction."""
    tags = [(run_id, t.registry, t.repository, t.tag, t.digest, t.media_type, t.status, t.error) for t in result.tags]
    manifests, children, layers = [], [], []
    for m in result.manifests.values():
        annotations = [{"key": k, "value": v} for k, v in m.annotations.items()]
        manifests.append((m.digest, m.media_type, m.kind, m.size, m.config_digest, m.layer_count, m.compressed_bytes,
                          annotations))  # fmt: skip
        children.extend((m.digest, c.child_digest, c.media_type, c.size, c.os, c.architecture, c.variant)
                        for c in m.children)  # fmt: skip
        layers.extend((m.digest, lay.layer_index, lay.digest, lay.media_type, lay.size) for lay in m.layers)
    configs, history = [], []
    for c in result.configs.values():
        configs.append((c.config_digest, c.os, c.architecture, c.variant, c.created, c.user, c.entrypoint, c.cmd,
                        c.workdir, [asdict(e) for e in c.env], [asdict(x) for x in c.labels], c.exposed_ports,
                        c.volumes, c.healthcheck, c.stop_signal, c.diff_id_count))  # fmt: skip
        history.extend((c.config_digest, h.history_index, h.created, h.created_by, h.comment, h.empty_layer,
                        h.layer_index) for h in c.history)  # fmt: skip
    scans = [
        (d, LAYER_SCAN_VERSION, sc.uncompressed_bytes, len(sc.files), None) for d, sc in result.layer_scans.items()
    ]
    scans += [(d, LAYER_SCAN_VERSION, 0, 0, err) for d, err in result.layer_errors.items()]
    files = [(d, f.path, f.size, f.mode, f.type, f.is_elf, f.is_upx) for d, sc in result.layer_scans.items()
             for f in sc.files]  # fmt: skip
    summaries = [(digest, *astuple(summary)) for digest, summary in result.summaries.items()]
    st = store
    st.con.execute("BEGIN TRANSACTION")
    try:
        st.insert("registry_snapshots", tags, _REGISTRY_COLUMNS)
        st.insert("layer_scans", scans, ("layer_digest", "scan_version", "uncompressed_bytes", "file_count", "error"),
                  or_replace=True)  # fmt: skip
        st.insert("layer_file_facts", files, ("layer_digest", "path", "size", "mode", "type", "is_elf", "is_upx"))
        st.insert("image_files_summary_facts", summaries, _SUMMARY_COLUMNS, or_replace=True)
        st.insert("image_manifest_facts", manifests, _MANIFEST_COLUMNS, or_replace=True)
        st.insert("image_index_children", children, _CHILD_COLUMNS)
        st.insert("image_layer_facts", layers, _LAYER_COLUMNS)
        st.insert("image_config_facts", configs, _CONFIG_COLUMNS, or_replace=True)
        st.insert("image_history_facts", history, _HISTORY_COLUMNS)
        st.con.execute("COMMIT")
    except BaseException:
        st.con.execute("ROLLBACK")
        raise


_SUMMARY_COLUMNS = ("manifest_digest", "uncompressed_bytes", "final_bytes", "wasted_bytes", "file_count", "upx_files",
                    "toolchains", "data_files", "data_bytes", "has_shell", "package_managers")  # fmt: skip
_REGISTRY_COLUMNS = ("run_id", "registry", "repository", "tag", "digest", "media_type", "status", "error")
_MANIFEST_COLUMNS = ("digest", "media_type", "kind", "size", "config_digest", "layer_count", "compressed_bytes",
                     "annotations")  # fmt: skip
_CHILD_COLUMNS = ("index_digest", "child_digest", "media_type", "size", "os", "architecture", "variant")
_LAYER_COLUMNS = ("manifest_digest", "layer_index", "digest", "media_type", "size")
_CONFIG_COLUMNS = ("config_digest", "os", "architecture", "variant", "created", "user", "entrypoint", "cmd",
                   "workdir", "env", "labels", "exposed_ports", "volumes", "healthcheck", "stop_signal",
                   "diff_id_count")  # fmt: skip
_HISTORY_COLUMNS = ("config_digest", "history_index", "created", "created_by", "comment", "empty_layer",
                    "layer_index")  # fmt: skip
