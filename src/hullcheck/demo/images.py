"""The demo org's exported images: an OCI image layout written in pure Python (no Docker).

Each image's labels name the demo repository and commit that built it, so the demo shows
lineage; their sizes and contents differ so the image views have something to say.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(root: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    path = root / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}", len(data)


def _layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o755 if "/bin/" in name else 0o644
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def _image(root: Path, layers: list[dict[str, bytes]], config: dict, history: list[str]) -> dict:
    descriptors, diff_ids = [], []
    for files in layers:
        blob, diff_id = _layer(files)
        digest, size = _blob(root, blob)
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
        diff_ids.append(diff_id)
    doc = {
        "architecture": "amd64", "os": "linux", "created": "2026-11-01T00:00:00Z", "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": h, "created": "2026-11-01T00:00:00Z"} for h in history],
    }  # fmt: skip
    cfg_digest, cfg_size = _blob(root, json.dumps(doc, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2, "mediaType": _OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg_size},
        "layers": descriptors,
    }  # fmt: skip
    digest, size = _blob(root, json.dumps(manifest, sort_keys=True).encode())
    return {"mediaType": _OCI_MANIFEST, "digest": digest, "size": size}


def write_demo_layout(root: Path, repos: Path, commits: dict[str, str]) -> Path:
    """Two images as CI would export them, labelled with the demo repositories that built them."""

    def labels(repo: str) -> dict[str, str]:
        return {"org.opencontainers.image.source": f"file://{repos / repo}", "org.opencontainers.image.revision":
                commits.get(repo, "")}  # fmt: skip

    api = _image(
        root,
        [{"usr/lib/python3/site.py": b"# base\n" * 2000}, {"app/main.py": b"print('payments')\n"}],
        {
            "User": "10001",
            "Env": ["PATH=/usr/bin", "DB_PASSWORD=changeme"],
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": labels("payments-api"),
            "Cmd": ["python", "/app/main.py"],
        },
        ["ADD base.tar /", "COPY app/ /app/"],
    )
    tools = _image(
        root,
        [
            {
                "bin/sh": b"\x7fELF" + b"\0" * 512,
                "usr/bin/gcc": b"\x7fELF" + b"\1" * 4096,
                "usr/bin/make": b"\x7fELF" + b"\2" * 1024,
                "sbin/apk": b"\x7fELF" + b"\3" * 256,
            },
            {"data/sample.csv": b"a,b\n" * 5000},
        ],
        {"Labels": labels("infra-tools"), "Entrypoint": ["/bin/sh"]},
        ["ADD alpine.tar /", "COPY data/ /data/"],
    )
    index = {"schemaVersion": 2, "manifests": [
        {**api, "annotations": {"org.opencontainers.image.ref.name": "payments-api:1.4.0"}},
        {**tools, "annotations": {"org.opencontainers.image.ref.name": "infra-tools:latest"}},
    ]}  # fmt: skip
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps(index, indent=1))
    return root
