"""The demo org's exported images: an OCI image layout written in pure Python (no Docker).

Each image's labels name the demo repository and commit that built it (or the team, by label), so the
demo shows lineage and ownership; their sizes differ so that the same bytes are judged per situation:
payments-ledger is over its microservice budget, ml-training is larger but normal for data science.
payments-api and ml-training share their python base layer, payments-ledger and storefront-shop their
debian one (one blob, two teams each). Contents are deterministic: the large layers are bytes from a
seeded generator, never `os.urandom`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
_TAR_LAYER = "application/vnd.oci.image.layer.v1.tar"
# Past this a layer is written uncompressed: the big layers are random bytes, which gzip cannot shrink
# and would take seconds to try; their tar size is what a pull downloads either way.
_COMPRESS_BELOW = 1_000_000
MB = 1_000_000
Layer = dict[str, bytes]  # path in the image -> file content


def _blob(root: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    path = root / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # a shared layer is written once
        path.write_bytes(data)
    return f"sha256:{digest}", len(data)


def _layer(root: Path, files: Layer) -> tuple[dict[str, Any], str]:
    """(descriptor, diff_id) of a layer holding `files`, written to the layout."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o755 if "/bin/" in name else 0o644
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    if len(tar_bytes) < _COMPRESS_BELOW:
        digest, size = _blob(root, gzip.compress(tar_bytes, mtime=0))
        return {"mediaType": _GZIP_LAYER, "digest": digest, "size": size}, diff_id
    digest, size = _blob(root, tar_bytes)
    return {"mediaType": _TAR_LAYER, "digest": digest, "size": size}, diff_id


def _image(root: Path, layers: list[Layer], config: dict[str, Any], history: list[str],
           created: datetime, arch: str = "amd64") -> dict[str, Any]:  # fmt: skip
    """Write one platform image (layers, config, manifest); returns the manifest's descriptor."""
    descriptors, diff_ids = [], []
    for files in layers:
        descriptor, diff_id = _layer(root, files)
        descriptors.append(descriptor)
        diff_ids.append(diff_id)
    when = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {
        "architecture": arch, "os": "linux", "created": when, "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": h, "created": when} for h in history],
    }  # fmt: skip
    cfg_digest, cfg_size = _blob(root, json.dumps(doc, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2, "mediaType": _OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg_size},
        "layers": descriptors,
    }  # fmt: skip
    digest, size = _blob(root, json.dumps(manifest, sort_keys=True).encode())
    return {"mediaType": _OCI_MANIFEST, "digest": digest, "size": size}


def _index(root: Path, platforms: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """An image index over platform manifests: a multi-arch tag."""
    manifests = [{**m, "platform": {"os": "linux", "architecture": arch}} for arch, m in platforms]
    doc = {"schemaVersion": 2, "mediaType": _OCI_INDEX, "manifests": manifests}
    digest, size = _blob(root, json.dumps(doc, sort_keys=True).encode())
    return {"mediaType": _OCI_INDEX, "digest": digest, "size": size}


def _elf(seed: int, n: int) -> bytes:
    """A stand-in for a binary: small ones repeat a byte, large ones are incompressible (seeded)."""
    return b"\x7fELF" + (random.Random(seed).randbytes(n) if n > 64_000 else bytes([seed % 256]) * n)


def _source(repos: Path, commits: dict[str, str], repo: str, revision: bool = True) -> dict[str, str]:
    """The labels CI puts on an image: the repository it was built from and, usually, the commit."""
    labels = {"org.opencontainers.image.source": f"file://{repos / repo}"}
    if revision:
        labels["org.opencontainers.image.revision"] = commits.get(repo, "")
    return labels


def _image_specs(repos: Path, commits: dict[str, str]) -> list[tuple[str, int, list[Layer], dict[str, Any], list[str]]]:
    """(ref name, age in days, layers, config, history) of each single-platform demo image."""

    def source(repo: str, revision: bool = True) -> dict[str, str]:
        return _source(repos, commits, repo, revision)

    # Base layers, as the public images they stand for ship them; python's is in two teams' images.
    python = {"bin/sh": _elf(1, 512), "usr/local/bin/python3.12": _elf(2, 2 * MB), "usr/lib/site.py": b"#\n" * 2000}
    debian = {"bin/sh": _elf(3, 512), "etc/debian_version": b"12.7\n", "usr/bin/apt-get": _elf(4, 1_500_000)}
    go_sdk = {"usr/bin/gcc": _elf(5, 4096), "usr/bin/make": _elf(6, 1024), "usr/local/go/bin/go": _elf(7, 3 * MB)}
    apt_gcc = "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends g++ gcc libc6-dev make"
    return [
        # payments: the one image config that sets a secret (the audit stores it redacted).
        ("payments-api:1.4.0", 2, [python, {"app/main.py": b"print('payments')\n"}],
         {"User": "10001", "Env": ["PATH=/usr/local/bin:/usr/bin", "DB_PASSWORD=changeme"],
          "Labels": source("payments-api"), "Cmd": ["python", "/app/main.py"]},
         ["ADD python-3.12-slim.tar /", "COPY app/ /app/"]),
        # payments-ledger as built after its revert: in the golang image, toolchain and a 24 MB binary shipped.
        ("payments-ledger:2.1.0", 2, [debian, go_sdk, {"usr/local/bin/ledger": _elf(8, 24 * MB)}],
         {"Labels": source("payments-ledger"), "Cmd": ["ledger"]},
         ["ADD debian-bookworm.tar /", apt_gcc, "RUN /bin/sh -c go build -o /usr/local/bin/ledger ./cmd/ledger"]),
        # storefront: the shop runs as root; billing's CI labels its team, not its source.
        ("storefront-shop:5.2.0", 9, [debian, {"usr/local/bin/php": _elf(14, 2 * MB)}, {"var/www/i.php": b"<?php\n"}],
         {"Labels": source("storefront-shop"), "Cmd": ["apache2-foreground"]},
         ["ADD debian-bookworm.tar /", "RUN /bin/sh -c docker-php-ext-install gd zip intl", "COPY . ."]),
        ("billing-monolith:3.0.1", 20, [{"bin/sh": _elf(15, 512), "opt/java/bin/java": _elf(16, 3 * MB)},
                                        {"app.jar": b"PK\x03\x04" + bytes(4096)}],
         {"User": "app", "Labels": {"org.hullcheck.team": "storefront"}, "Entrypoint": ["java", "-jar", "/app.jar"]},
         ["ADD temurin-21-jre.tar /", "COPY /src/target/app.jar /app.jar"]),
        # data: 34 MB, larger than the ledger and well within the data-science budget.
        ("ml-training:2026.11", 2, [python, {"usr/lib/torch/libtorch_cpu.so": _elf(17, 32 * MB)},
                                    {"opt/train/main.py": b"print('train')\n"}],
         {"User": "1000", "Labels": {**source("ml-training"), "org.hullcheck.team": "data"},
          "Cmd": ["python3", "-m", "train.main"]},
         ["ADD python-3.12-slim.tar /", "RUN /bin/sh -c pip3 install --no-cache-dir torch==2.3.1",
          "COPY train/ /opt/train/"]),
        ("ml-notebooks:2026.11", 30, [{"bin/sh": _elf(18, 512), "opt/conda/bin/python": _elf(19, 6 * MB)},
                                      {"home/jovyan/data/sample.csv": b"a,b\n" * 5000}],
         {"User": "1000", "Labels": source("ml-notebooks"), "Cmd": ["start-notebook.py"]},
         ["ADD scipy-notebook.tar /", "COPY data/ /home/jovyan/data/"]),
        # platform: the tool image, not rebuilt for longer than the tooling profile tolerates.
        ("infra-tools:latest", 80, [{"bin/sh": _elf(20, 512), "usr/bin/gcc": _elf(21, MB), "sbin/apk": _elf(23, 256)}],
         {"Labels": source("infra-tools", revision=False), "Entrypoint": ["/bin/bash"]}, ["ADD alpine.tar /"]),
    ]  # fmt: skip


def write_demo_layout(root: Path, repos: Path, commits: dict[str, str], now: datetime) -> Path:
    """Eight images across the four teams, as CI would export them, labelled with what built them."""
    tags = [(name, _image(root, layers, config, history, now - timedelta(days=age)))
            for name, age, layers, config, history in _image_specs(repos, commits)]  # fmt: skip
    # The gateway is the one multi-platform tag: an index over an amd64 and an arm64 image.
    config = {"User": "node", "Labels": _source(repos, commits, "payments-gateway"), "Cmd": ["node", "dist/server.js"]}
    app = {"app/dist/server.js": b"console.log('gateway')\n"}
    gateway = [
        (arch, _image(root, [{"bin/sh": _elf(10 + i, 512), "usr/local/bin/node": _elf(12 + i, 2 * MB)}, app], config,
                      ["ADD node-20-slim.tar /", "COPY /app/dist ./dist"], now - timedelta(days=2), arch))
        for i, arch in enumerate(("amd64", "arm64"))
    ]  # fmt: skip
    tags.insert(2, ("payments-gateway:0.9.3", _index(root, gateway)))
    index = {"schemaVersion": 2, "manifests": [
        {**d, "annotations": {"org.opencontainers.image.ref.name": name}} for name, d in tags
    ]}  # fmt: skip
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps(index, indent=1))
    return root
