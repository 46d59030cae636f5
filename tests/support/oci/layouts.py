"""On-disk image formats written from `support.oci.builder` objects: OCI layout, OCI archive, `docker save` tar.

Why: the crawler (and skopeo, our referee) must also read images that never were in a
registry — CI artefacts, `docker save` outputs, `oci:` directories. Deterministic like the
rest: sorted tar members, fixed mtimes, so the same images give the same tarball bytes.

Note: skopeo 1.9 looks up `oci:DIR:tag` only among OCI-typed descriptors in index.json;
a Docker-media manifest or list written here is stored but invisible to it.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from support.oci.builder import MTIME, OCI_INDEX, Image, Index, compact_json


def _layout_files(tags: Mapping[str, Image | Index]) -> dict[str, bytes]:
    """Relative path -> bytes of an OCI image layout (image-layout spec 1.0)."""
    blobs: dict[str, bytes] = {}
    refs = []
    for tag, item in tags.items():
        blobs.update(item.blobs())
        blobs[item.digest] = item.manifest_bytes
        desc = {"mediaType": item.media_type, "digest": item.digest, "size": len(item.manifest_bytes)}
        refs.append(desc | {"annotations": {"org.opencontainers.image.ref.name": tag}})
    files = {"oci-layout": compact_json({"imageLayoutVersion": "1.0.0"})}
    files["index.json"] = compact_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": refs})
    for digest, data in sorted(blobs.items()):
        files["blobs/" + digest.replace(":", "/")] = data
    return files


def write_oci_layout(directory: str | Path, tags: Mapping[str, Image | Index]) -> Path:
    """Write an OCI layout (`oci-layout`, `index.json` with ref.name annotations, `blobs/sha256/…`)."""
    root = Path(directory)
    for rel, data in _layout_files(tags).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _write_tar(path: str | Path, files: Mapping[str, bytes]) -> Path:
    """A deterministic tar: sorted members, directories included, fixed mtime."""
    with_dirs: dict[str, bytes | None] = dict(files)
    for name in files:
        parent = posixpath.dirname(name)
        while parent and parent not in with_dirs:
            with_dirs[parent] = None
            parent = posixpath.dirname(parent)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(with_dirs.items()):
            info = tarfile.TarInfo(name)
            info.mtime, info.uname, info.gname = MTIME, "", ""
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.mode, info.size = 0o644, len(data)
                tar.addfile(info, io.BytesIO(data))
    return Path(path)


def write_oci_archive(tar_path: str | Path, tags: Mapping[str, Image | Index]) -> Path:
    """An OCI layout packed in a tar (what `oci-archive:` reads)."""
    return _write_tar(tar_path, _layout_files(tags))


def write_docker_save(tar_path: str | Path, refs: Mapping[str, Image]) -> Path:
    """`docker save` format: manifest.json (Config/RepoTags/Layers), <config>.json, <id>/layer.tar, repositories.

    Several "repo:tag" keys may share one Image; they end up in one manifest.json entry.
    """
    files: dict[str, bytes] = {}
    entries: dict[str, dict[str, Any]] = {}
    repositories: dict[str, dict[str, str]] = {}
    for ref, img in refs.items():
        config_name = img.config_digest.removeprefix("sha256:") + ".json"
        files[config_name] = img.config_bytes
        parent = ""
        layer_paths = []
        for layer in img.layers:
            layer_id = hashlib.sha256(f"{parent}\n{layer.diff_id}".encode()).hexdigest()
            files[f"{layer_id}/layer.tar"] = layer.tar
            files[f"{layer_id}/VERSION"] = b"1.0"
            files[f"{layer_id}/json"] = compact_json({"id": layer_id, **({"parent": parent} if parent else {})})
            layer_paths.append(f"{layer_id}/layer.tar")
            parent = layer_id
        entry = entries.setdefault(config_name, {"Config": config_name, "RepoTags": [], "Layers": layer_paths})
        entry["RepoTags"].append(ref)
        repo, _, tag = ref.rpartition(":")
        repositories.setdefault(repo, {})[tag] = parent
    files["manifest.json"] = compact_json(list(entries.values()))
    files["repositories"] = compact_json(repositories)
    return _write_tar(tar_path, files)
