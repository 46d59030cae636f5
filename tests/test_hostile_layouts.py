"""Image layouts and archives anyone can write: wrong shapes are error rows naming the field, and no
path inside them (a digest, a Config or Layers entry, a symlinked blob) is ever opened outside."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from hullcheck.config import LayoutSource, LayoutSpec
from hullcheck.crawl.known import KnownImages
from hullcheck.crawl.registry import crawl_layout

CONFIG = json.dumps({"os": "linux", "architecture": "amd64", "config": {"Env": ["OUTSIDE=read"]}}).encode()
DIGEST_CONFIG = "sha256:" + hashlib.sha256(CONFIG).hexdigest()


def _layout(root: Path, index: Any, blobs: dict[str, bytes] | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "index.json").write_text(index if isinstance(index, str) else json.dumps(index))
    for digest, data in (blobs or {}).items():
        algo, _, hexd = digest.partition(":")
        (root / "blobs" / algo).mkdir(parents=True, exist_ok=True)
        (root / "blobs" / algo / hexd).write_bytes(data)
    return root


def _crawl(path: Path) -> list[tuple[str | None, str | None, str, str | None]]:
    result = crawl_layout(LayoutSpec(path, LayoutSource(path=str(path))), KnownImages(set()))
    assert not result.configs or all("OUTSIDE" not in repr(c.env) for c in result.configs.values())
    return [(t.repository, t.tag, t.status, t.error) for t in result.tags]


@pytest.mark.parametrize(
    ("index", "field"),
    [
        ([{"digest": "sha256:" + "0" * 64}], "index.json is not a JSON object"),
        ({"manifests": {"a": 1}}, "index.json: manifests is not a list"),
        ({"manifests": [7]}, "index.json: manifests[0] is not a JSON object"),
        ({"manifests": [{"digest": 7}]}, "index.json: manifests[0].digest is not a digest"),
        ({"manifests": [{"digest": "sha256:../../x"}]}, "index.json: manifests[0].digest is not a digest"),
        ({"manifests": [{"digest": "sha256:" + "0" * 64, "annotations": "x"}]}, "annotations is not a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested more than"),
        ("{not json", "index.json is not JSON"),
    ],
    ids=[
        "list",
        "manifests-mapping",
        "entry-number",
        "digest-number",
        "digest-path",
        "annotations-string",
        "deep",
        "not-json",
    ],
)
def test_an_index_json_of_the_wrong_shape_is_one_error_row_naming_the_field(
    tmp_path: Path, index: Any, field: str
) -> None:
    rows = _crawl(_layout(tmp_path / "img", index))
    assert len(rows) == 1 and rows[0][2] == "failed" and field in (rows[0][3] or ""), rows


def test_a_blob_that_is_a_symlink_outside_is_never_opened(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config.json").write_bytes(CONFIG)
    config_ref = {"digest": DIGEST_CONFIG, "size": len(CONFIG)}
    manifest = json.dumps({"schemaVersion": 2, "config": config_ref, "layers": []}).encode()
    m_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    root = _layout(tmp_path / "img", {"manifests": [{"digest": m_digest, "annotations": {
        "org.opencontainers.image.ref.name": "app:1"}}]}, {m_digest: manifest})  # fmt: skip
    os.symlink(outside / "config.json", root / "blobs" / "sha256" / DIGEST_CONFIG.split(":")[1])
    rows = _crawl(root)
    assert [r[:3] for r in rows] == [("app", "1", "failed")], rows  # the config is "missing", never read
    assert "missing from the layout" in (rows[0][3] or ""), rows


def _docker_save(root: Path, entries: Any) -> Path:
    root.mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps(entries))
    return root


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ({"Config": "c.json"}, "manifest.json is not a list"),
        ([{"Config": "c.json", "RepoTags": [1], "Layers": []}], "RepoTags is not a list of strings"),
        ([{"Config": "c.json", "RepoTags": ["a:1"], "Layers": [1, 2]}], "Layers is not a list of strings"),
        ([{"Config": "../outside/config.json", "RepoTags": ["a:1"], "Layers": []}], "is not a file in the archive"),
        ([{"Config": "c.json", "RepoTags": ["a:1"], "Layers": ["../outside/config.json"]}], "is not a file"),
    ],
    ids=["object", "repotags-number", "layers-numbers", "config-outside", "layer-outside"],
)
def test_a_docker_save_manifest_of_the_wrong_shape_or_pointing_outside(
    tmp_path: Path, entries: Any, field: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config.json").write_bytes(CONFIG)
    root = _docker_save(tmp_path / "save", entries)
    (root / "c.json").write_bytes(b'{"os": "linux"}')
    rows = _crawl(root)
    assert len(rows) == 1 and rows[0][2] == "failed" and field in (rows[0][3] or ""), rows


def test_a_decompression_bomb_layer_is_recorded_and_the_audit_goes_on(tmp_path: Path) -> None:
    import io
    import tarfile

    import duckdb
    import yaml
    from support.oci.builder import Image, Layer
    from support.oci.layouts import write_oci_layout

    from hullcheck.audit import run_audit
    from hullcheck.config import load_config

    zeros = io.BytesIO()
    with tarfile.open(fileobj=zeros, mode="w") as tar:  # 80 MB of zeros: gzip makes it ~80 KB
        info = tarfile.TarInfo("data/zeros")
        info.size = 80 * 1024 * 1024
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    bomb = Layer({"app/ok": b"fine"})
    bomb.__dict__["tar"] = zeros.getvalue()  # the builder's cached tar bytes, replaced by the bomb
    image = Image([Layer({"etc/os-release": b"ID=test"}), bomb])
    write_oci_layout(tmp_path / "bomb", {"bomb:1": image})
    cfg = tmp_path / "hullcheck.yaml"
    layout = {"path": "bomb", "layer_scan": True, "layer_scan_max_bytes": 32 * 1024 * 1024}
    cfg.write_text(yaml.safe_dump({"database": "h.duckdb", "cache_dir": "cache", "layouts": [layout]}))
    summary = run_audit(load_config(cfg))
    assert summary.status == "ok", summary.images.failures
    with duckdb.connect(str(tmp_path / "h.duckdb"), read_only=True) as con:
        assert con.execute("SELECT tag, status FROM latest_images").fetchall() == [("1", "new")]
        query = "SELECT layer_index, scan_status, scan_error FROM latest_image_layers ORDER BY 1"
        layers = con.execute(query).fetchall()
        message = con.execute("SELECT message FROM runs").fetchone()
    assert [(i, s) for i, s, _ in layers] == [(0, "scanned"), (1, "failed")], layers
    assert "too large to scan" in (layers[1][2] or "")
    assert message is not None and "1 layers could not be scanned" in (message[0] or "")


def test_a_layer_far_beyond_its_compressed_size_is_a_bomb_and_stops_early() -> None:
    import gzip
    import io
    import tarfile

    from hullcheck.extract.image.layer_scan import LayerTooLarge, ScanLimits, scan_layer

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = 16 * 1024 * 1024
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    blob = gzip.compress(raw.getvalue())
    with pytest.raises(LayerTooLarge, match="looks like a decompression bomb"):
        scan_layer([blob], "application/vnd.oci.image.layer.v1.tar+gzip", "sha256:b",
                   ScanLimits(max_ratio=100, ratio_after=1024 * 1024))  # fmt: skip


def test_a_layer_shared_by_a_thousand_images_is_read_back_once(tmp_path: Path) -> None:
    from support.oci.builder import Image, Layer
    from support.oci.layouts import write_oci_layout

    from hullcheck.extract.image.layer_scan import LayerScan

    base = Layer({"etc/os-release": b"ID=test"})
    images = {f"app:{i}": Image([base], {"Env": [f"N={i}"]}) for i in range(1000)}  # 1,000 manifests, one layer
    write_oci_layout(tmp_path / "many", images)
    loads: list[str] = []

    def scanned_earlier(digest: str) -> LayerScan:  # the layer was scanned by an earlier source of the run
        loads.append(digest)
        return LayerScan(digest, 10, [])

    spec = LayoutSpec(tmp_path / "many", LayoutSource(path=str(tmp_path / "many"), layer_scan=True))
    result = crawl_layout(spec, KnownImages(set(), layer_loader=scanned_earlier))
    assert len(result.summaries) == 1000
    assert len(loads) == 1, len(loads)  # read back (from the database) once per image before: 11,000 reads
