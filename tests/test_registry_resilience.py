"""Nights that fail partly heal themselves (registry side), against the real registry behind the fault proxy.

- a digest is fetched as a unit: no tag is recorded with part of its facts, whichever tag
  happened to fetch a shared digest first and failed;
- retries cover the whole exchange: faults during the body (reset, cut short, stall) and before
  it, on every kind of request, end as retried reads or as error rows naming the tag;
- one fault-free night equals a clean audit into a fresh database;
- a night that cannot read a repository keeps its last facts in `latest_*` and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from support.oci.builder import Image, Index, Layer
from support.oci.proxy import RegistryProxy
from support.oci.registry import Registry

from hullcheck.audit import AuditSummary, run_audit
from hullcheck.config import load_config
from hullcheck.store_files import DatabaseFiles

# Every public image view, with the columns that do not depend on which run read them.
IMAGE_VIEWS = {
    # not `status`: new or known depends on which night first read the digest
    "latest_images": "registry, repository, tag, digest, media_type, kind, newest_attempt_failed",
    "latest_image_manifests": "registry, repository, tag, tag_digest, manifest_digest, media_type, os, architecture, "
    'variant, config_digest, layer_count, compressed_bytes, annotations, created, "user", entrypoint, cmd, workdir, '
    "env_keys, env, labels, exposed_ports, volumes, healthcheck, stop_signal",
    "latest_image_layers": "registry, repository, tag, manifest_digest, layer_index, layer_digest, media_type, size",
    "latest_image_history": "registry, repository, tag, manifest_digest, history_index, created, created_by, "
    '"comment", empty_layer, layer_index, layer_digest',
    "latest_image_files_summary": "registry, repository, tag, manifest_digest, uncompressed_bytes, final_bytes, "
    "wasted_bytes, file_count, upx_files, toolchains, data_files, has_shell, package_managers",
    "latest_image_failures": "registry, repository, tag",
}


def _night(root: Path, registry: dict[str, Any]) -> tuple[AuditSummary, Path]:
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "hullcheck.yaml"
    cfg.write_text(yaml.safe_dump({"database": "h.duckdb", "cache_dir": "cache", "registries": [registry]}))
    return run_audit(load_config(cfg)), root / "h.duckdb"


def _query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _views(db: Path, host: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every image view, registry host replaced so that a proxy's database compares with the registry's."""
    out = {}
    for view, cols in IMAGE_VIEWS.items():
        rows = _query(db, f"SELECT {cols} FROM {view}")
        out[view] = sorted((tuple("<reg>" if v == host else v for v in r) for r in rows), key=repr)
    return out


def _no_partial_facts(db: Path, run_id: int, expected_platforms: dict[str, int]) -> None:
    """Every tag the run recorded as read has its manifest kind, all its platforms, and their config facts."""
    rows = _query(db, "SELECT repository, tag, kind, status FROM images WHERE run_id = ? AND tag IS NOT NULL", [run_id])
    assert rows, "the run recorded tags"
    for repo, tag, kind, status in rows:
        if status == "failed":
            continue
        assert kind is not None, f"{repo}:{tag} recorded {status} without its manifest facts"
        platforms = _query(
            db, "SELECT os, architecture, created, config_digest FROM image_manifests "
            "WHERE run_id = ? AND repository = ? AND tag = ?", [run_id, repo, tag],
        )  # fmt: skip
        want = expected_platforms.get(f"{repo}:{tag}")
        if want is not None:
            assert len(platforms) == want, f"{repo}:{tag} recorded with {len(platforms)} of {want} platforms"
        for os_, arch, created, config in platforms:
            assert None not in (os_, arch, created, config), f"{repo}:{tag} recorded with config facts missing"


def _img(name: str, arch: str = "amd64", media: str = "oci") -> Image:
    return Image([Layer({f"app/{name}": f"{name} {arch}".encode()})], {"User": "app", "Cmd": [f"/app/{name}"]},
                 architecture=arch, media=media)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture(scope="module")
def shared_registry(registry: Registry) -> dict[str, Any]:
    """Two indexes sharing their arm64 image; an OCI image and its Docker v2 twin sharing a config;
    one image under two tags."""
    shared_arm = _img("shared", "arm64")
    registry.push("shared/a", "1", Index([(_img("a"), None), (shared_arm, None)]))
    registry.push("shared/b", "1", Index([(_img("b"), None), (shared_arm, None)]))
    twin = _img("twin")
    twin_v2 = _img("twin", media="docker")
    assert twin.config_digest == twin_v2.config_digest and twin.manifest_digest != twin_v2.manifest_digest
    registry.push("twin/oci", "1", twin)
    registry.push("twin/docker", "1", twin_v2)
    same = _img("same")
    registry.push("same/x", "1", same)
    registry.push("same/x", "2", same)
    return {"shared_config": shared_arm.config_digest, "twin_config": twin.config_digest,
            "same_config": same.config_digest, "same_digest": same.manifest_digest}  # fmt: skip


PLATFORMS = {"shared/a:1": 2, "shared/b:1": 2, "twin/oci:1": 1, "twin/docker:1": 1, "same/x:1": 1, "same/x:2": 1}


@pytest.mark.parametrize(
    ("repositories", "digest_key"),
    [
        (["shared/a", "shared/b"], "shared_config"),  # two indexes, one shared platform image's config
        (["twin/oci", "twin/docker"], "twin_config"),  # an OCI image and its Docker v2 twin
        (["same/x"], "same_config"),  # two tags, one digest
    ],
    ids=["shared-platform", "docker-v2-twin", "same-digest"],
)
def test_a_shared_fetch_that_fails_costs_one_tag_not_part_of_every_tag(
    registry: Registry,
    shared_registry: dict[str, Any],
    registry_proxy: Any,
    tmp_path: Path,
    repositories: list[str],
    digest_key: str,
) -> None:
    proxy: RegistryProxy = registry_proxy(registry)
    proxy.fail_next(1, status=500, kinds={"blob"}, match=shared_registry[digest_key])
    config = {"url": proxy.host, "repositories": repositories, "retries": 0, "concurrency": 2}
    night, db = _night(tmp_path / "faulty", config)
    assert night.status == "partial"
    failed = _query(db, "SELECT repository, tag, error FROM images WHERE status = 'failed'")
    assert len(failed) == 1, failed  # the tag whose fetch met the fault, not every tag sharing the digest
    repo, tag, error = failed[0]
    assert f"{repo}:{tag}" in error and proxy.host in error and "HTTP 500" in error, error
    _no_partial_facts(db, night.run_id, PLATFORMS)

    healed, _ = _night(tmp_path / "faulty", config)  # the next night, without faults
    assert healed.status == "ok", healed.images.failures
    _no_partial_facts(db, healed.run_id, PLATFORMS)
    clean, clean_db = _night(tmp_path / "clean", {**config, "url": registry.host})
    assert clean.status == "ok"
    assert _views(db, proxy.host) == _views(clean_db, registry.host)


def test_incomplete_facts_written_by_older_code_are_repaired(
    registry: Registry, shared_registry: dict[str, Any], tmp_path: Path
) -> None:
    config = {"url": registry.host, "repositories": ["shared/a", "shared/b", "twin/oci", "twin/docker"]}
    first, db = _night(tmp_path, config)
    assert first.status == "ok"
    before = _views(db, registry.host)
    with duckdb.connect(
        str(DatabaseFiles(db).work)
    ) as con:  # (the writer's file) what the old claim race left: an index child and a config missing
        con.execute("DELETE FROM image_config_facts WHERE config_digest = ?", [shared_registry["twin_config"]])
        arm = con.execute(
            "SELECT child_digest FROM image_index_children WHERE architecture = 'arm64' LIMIT 1"
        ).fetchone()
        assert arm is not None
        con.execute("DELETE FROM image_manifest_facts WHERE digest = ?", [arm[0]])
    second, _ = _night(tmp_path, config)
    assert second.status == "ok" and second.images.requests.get("GET manifest", 0) >= 3
    assert _views(db, registry.host) == before


FAULT_MODES: list[int | str] = [429, 502, 503, "reset_before", "reset", "truncate", "stall"]


@pytest.mark.parametrize("mode", FAULT_MODES, ids=str)
def test_faults_on_every_kind_of_request_end_in_complete_facts_or_named_errors(
    pushed_registry: Registry, registry_proxy: Any, tmp_path: Path, mode: int | str
) -> None:
    proxy: RegistryProxy = registry_proxy(pushed_registry)
    proxy.stall_seconds = 2.0
    config = {"url": proxy.host, "repositories": ["test/*"], "retries": 3, "timeout_seconds": 1.0,
              "concurrency": 4, "layer_scan": True}  # fmt: skip
    faulty = tmp_path / "faulty"
    for night in range(2):  # the first night GETs every manifest; the second HEADs the tags it saw
        for kind in ("catalog", "tags", "manifest", "blob"):  # the first request of each kind, surely
            # The second night's first manifest request may be a GET (a tag that failed the first night):
            # its HEADs are faulted by name, or a quarter of a few HEADs can all escape the chaos.
            method = "HEAD" if kind == "manifest" and night == 1 else None
            if isinstance(mode, str):
                proxy.break_next(1, mode, kinds={kind}, method=method)  # the catalog's own body too
            else:
                proxy.fail_next(1, status=mode, retry_after="0", kinds={kind}, method=method)
        proxy.chaos(0.25, [mode], seed=night + 1)  # and a quarter of all the others
        summary, db = _night(faulty, config)
        proxy.clear_faults()
        rows = _query(db, "SELECT repository, tag, status, error FROM images WHERE run_id = ?", [summary.run_id])
        assert not [r for r in rows if r[0] is None], f"night {night}: the whole registry failed: {rows}"
        for repo, tag, status, error in rows:  # every failure names what failed and says what happened
            if status == "failed":
                assert proxy.host in error and repo in error and (tag is None or f"{repo}:{tag}" in error), error
        _no_partial_facts(db, summary.run_id, {})
    kinds = {(k, m) for (_, k, m) in proxy.fault_counts}
    for wanted in (("catalog", "GET"), ("tags", "GET"), ("manifest", "GET"), ("manifest", "HEAD"), ("blob", "GET")):
        assert wanted in kinds, f"{mode} never hit {wanted}: {proxy.fault_counts}"

    healed, db = _night(faulty, config)
    assert healed.status == "ok", healed.images.failures
    clean, clean_db = _night(tmp_path / "clean", {**config, "url": pushed_registry.host})
    assert clean.status == "ok"
    assert _views(db, proxy.host) == _views(clean_db, pushed_registry.host)


def test_a_night_that_cannot_read_a_repository_keeps_its_last_facts_and_says_so(
    registry: Registry, shared_registry: dict[str, Any], registry_proxy: Any, tmp_path: Path
) -> None:
    proxy: RegistryProxy = registry_proxy(registry)
    config = {"url": proxy.host, "repositories": ["shared/a", "same/x"], "retries": 0}
    first, db = _night(tmp_path, config)
    assert first.status == "ok"
    before = _views(db, proxy.host)
    proxy.fail_next(1, status=503, kinds={"tags"}, match="/shared/a/")  # shared/a's tag list fails tonight
    second, _ = _night(tmp_path, config)
    assert second.status == "partial"
    kept = _query(db, "SELECT repository, tag, run_id, newest_attempt_failed, newest_error FROM latest_images "
                      "ORDER BY repository, tag")  # fmt: skip
    assert [(r, t) for r, t, *_ in kept] == [("same/x", "1"), ("same/x", "2"), ("shared/a", "1")]
    by_repo = {r: (run, failed, error) for r, _, run, failed, error in kept}
    assert by_repo["shared/a"][:2] == (first.run_id, True)
    assert "shared/a" in by_repo["shared/a"][2] and "HTTP 503" in by_repo["shared/a"][2]
    assert by_repo["same/x"] == (second.run_id, False, None)
    failures = _query(db, "SELECT repository, tag FROM latest_image_failures")
    assert failures == [("shared/a", None)]
    after = _views(db, proxy.host)
    assert after["latest_image_manifests"] == before["latest_image_manifests"]  # nothing vanished from reports
    third, _ = _night(tmp_path, config)
    assert third.status == "ok"
    assert _query(db, "SELECT count(*) FROM latest_images WHERE newest_attempt_failed") == [(0,)]
    assert _query(db, "SELECT count(*) FROM latest_image_failures") == [(0,)]
