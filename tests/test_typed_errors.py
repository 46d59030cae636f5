"""Errors are recognised by type, never by message: a vanished tag, a missing blob, a missing file,
a missing or locked database. And image facts from an older extractor are extracted again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from hullcheck.audit import AuditSummary, run_audit
from hullcheck.config import load_config
from hullcheck.errors import (
    ConfigError,
    ConfigNotFound,
    DatabaseBusy,
    DatabaseLocked,
    DatabaseMissing,
    HullcheckError,
    NotFound,
    RegistryError,
    RegistryNotFound,
    StoreError,
)
from hullcheck.extract import versions
from hullcheck.sources.layout import LayoutSource
from hullcheck.store import Store
from hullcheck.store_files import DatabaseFiles


def _audit(tmp: Path, registry: dict[str, Any]) -> tuple[AuditSummary, Path]:
    cfg_path = tmp / "hullcheck.yaml"
    cfg_path.write_text(yaml.safe_dump({"database": "h.duckdb", "cache_dir": "cache", "registries": [registry]}))
    return run_audit(load_config(cfg_path)), tmp / "h.duckdb"


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_tag_deleted_after_the_tag_list_is_skipped_not_failed(
    pushed_registry: Any, registry_proxy: Any, tmp_path: Path
) -> None:
    proxy = registry_proxy(pushed_registry)
    proxy.fail_next(1, status=404, kinds={"manifest"})  # the first tag's manifest is gone when asked for
    summary, db = _audit(tmp_path, {"url": proxy.host, "repositories": ["test/single"]})
    assert summary.status == "ok", summary.images.failures
    assert _rows(db, "SELECT tag, status FROM images ORDER BY tag") == [("latest", "new")]  # 1.0 vanished


def test_a_missing_config_blob_is_a_failed_row_not_a_vanished_tag(
    pushed_registry: Any, registry_proxy: Any, tmp_path: Path
) -> None:
    proxy = registry_proxy(pushed_registry)
    proxy.fail_next(1, status=404, kinds={"blob"})
    summary, db = _audit(tmp_path, {"url": proxy.host, "repositories": ["test/single"]})
    assert summary.status == "partial"
    failed = _rows(db, "SELECT tag, error FROM images WHERE status = 'failed'")
    assert len(failed) == 1 and "not found" in failed[0][1], failed


def test_not_found_errors_are_typed(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFound) as config:
        load_config(tmp_path / "nope.yaml")
    assert isinstance(config.value, ConfigError) and isinstance(config.value, NotFound)
    with pytest.raises(DatabaseMissing) as db:
        Store.open(tmp_path / "none.duckdb", read_only=True)
    assert isinstance(db.value, StoreError) and isinstance(db.value, HullcheckError)
    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "index.json").write_text('{"manifests": [{"digest": "sha256:' + "0" * 64 + '", "annotations": '
                                       '{"org.opencontainers.image.ref.name": "app:1"}}]}')  # fmt: skip
    source = LayoutSource(layout)
    with pytest.raises(RegistryNotFound):
        source.digest("app", "2")
    with pytest.raises(RegistryError) as broken:
        source.manifest("app", "1")  # listed, but its blob is not in the layout: broken, not a vanished tag
    assert not isinstance(broken.value, NotFound)
    assert issubclass(RegistryNotFound, RegistryError)


def test_a_database_held_by_another_process_is_a_typed_error(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    Store.open(db).close()
    # Another hullcheck writer: the second one is DatabaseBusy (after its wait, here none).
    hold = (f"from hullcheck.store import Store; import sys; s = Store.open(__import__('pathlib').Path({str(db)!r}));"
            "print('held', flush=True); sys.stdin.read()")  # fmt: skip
    # A foreign client that opened the snapshot itself for writing: readers get DatabaseLocked.
    foreign = f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('held', flush=True); sys.stdin.read()"
    for code, opens in ((hold, {"read_only": False}), (foreign, {"read_only": True})):
        holder = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with pytest.raises(DatabaseBusy if not opens["read_only"] else DatabaseLocked) as raised:
                Store.open(db, **opens)
            if not opens["read_only"]:
                assert f"pid {holder.pid}" in str(raised.value)
        finally:
            holder.communicate("", timeout=30)


def test_image_facts_of_an_older_extractor_are_extracted_again_without_duplicates(
    pushed_registry: Any, tmp_path: Path
) -> None:
    registry = {"url": pushed_registry.host, "repositories": ["test/multiarch", "test/single"]}
    first, db = _audit(tmp_path, registry)
    assert first.status == "ok" and first.images.tags_new > 0
    counts = "SELECT (SELECT count(*) FROM image_index_children), (SELECT count(*) FROM image_layer_facts), " \
             "(SELECT count(*) FROM image_history_facts), (SELECT count(*) FROM image_manifest_facts)"  # fmt: skip
    before = _rows(db, counts)
    with duckdb.connect(str(DatabaseFiles(db).work)) as con:  # the writer's file, as if an older extractor wrote it
        con.execute("UPDATE image_manifest_facts SET extractor_version = ?", [versions.IMAGE - 1])
        con.execute("UPDATE image_config_facts SET extractor_version = ?", [versions.IMAGE - 1])
    second, _ = _audit(tmp_path, registry)
    assert second.status == "ok" and second.images.requests.get("GET manifest", 0) > 0
    assert second.images.tags_new == first.images.tags_new  # every tag's facts read again
    assert _rows(db, counts) == before  # replaced, not duplicated
    assert _rows(db, "SELECT DISTINCT extractor_version FROM image_manifest_facts") == [(versions.IMAGE,)]
    assert _rows(db, "SELECT DISTINCT extractor_version FROM image_config_facts") == [(versions.IMAGE,)]
    third, _ = _audit(tmp_path, registry)
    assert third.images.tags_new == 0 and third.images.requests.get("GET manifest", 0) == 0  # known again
