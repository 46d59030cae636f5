"""Layer scan on hand-made layers: streaming, every gzip member, whiteouts, and image summaries."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time

import pytest

from hullcheck.crawl.registry import is_platform_image
from hullcheck.extract.image.layer_scan import LayerScanError, scan_layer, summarize
from hullcheck.extract.image.manifest import parse_manifest

GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _chunks(data: bytes, size: int = 1 << 20) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_a_huge_compressible_file_streams_in_bounded_time() -> None:
    layer = gzip.compress(_tar({"var/log/lastlog": b"\0" * (64 << 20)}))
    started = time.process_time()
    scan = scan_layer(_chunks(layer), GZ, "sha256:x")
    assert scan.files[0].size == 64 << 20 and scan.uncompressed_bytes > 64 << 20
    assert time.process_time() - started < 20  # was quadratic (minutes); a bound, not a benchmark


def test_every_gzip_member_is_read() -> None:
    tar = _tar({f"a/{i}": b"x" * 10 for i in range(50)})
    layer = gzip.compress(tar[:30720]) + gzip.compress(tar[30720:])  # eStargz-style: several members
    assert len(scan_layer([layer], GZ, "sha256:y").files) == 50


def test_whiteouts_at_the_root_and_opaque_directories() -> None:
    base = scan_layer([_tar({"opt/build/big.bin": b"x" * 20000, "etc/app/old.conf": b"o" * 100})], "tar", "a")
    top = scan_layer([_tar({".wh.opt": b"", "etc/app/new.conf": b"n" * 50, "etc/app/.wh..wh..opq": b""})], "tar", "b")
    summary = summarize([base, top])
    assert summary.wasted_bytes == 20000 + 100  # what the whiteouts hid, not the layer's own new file
    assert summary.file_count == 1 and summary.final_bytes == 50


def test_a_layer_that_is_not_a_tar_is_an_error_not_a_crash() -> None:
    with pytest.raises(LayerScanError, match="not a readable tar"):
        scan_layer([gzip.compress(b'{"an": "sbom"}' * 100)], GZ, "sha256:z")


def test_attestations_in_an_index_are_not_images() -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "a" * 64,
             "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "b" * 64, "size": 1,
             "platform": {"os": "unknown", "architecture": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
            {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + "c" * 64, "size": 1},
        ],
    }  # fmt: skip
    facts = parse_manifest(json.dumps(index).encode(), "sha256:" + "d" * 64)
    assert [c.architecture for c in facts.children if is_platform_image(c)] == ["amd64"]
