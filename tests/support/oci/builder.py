"""Container images built in pure Python, byte-for-byte deterministic, without Docker.

Why: the registry crawler must be tested against a real registry holding images whose
every byte we know (digests, configs, whiteouts, wasted bytes), and this machine has no
Docker engine. Same input -> same tar/gzip/zstd bytes -> same digests on every run
(fixed mtimes, uid/gid 0, sorted entries, gzip header mtime 0).

Pieces: entry kinds (`File`, `Symlink`, `Dir`, `Hardlink`, `Whiteout`, `OpaqueWhiteout`),
`Layer`, `Image`, `Index`, the media type constants and `sha256`. This module imports none of
its neighbours; they import it: the on-disk formats are in `support.oci.layouts`, pushing is
`support.oci.push`, the catalogue `test_images()` is `support.oci.catalogue`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

MTIME = 1_704_067_200  # 2024-01-01T00:00:00Z: every tar entry gets it
CREATED = "2024-01-01T00:00:00Z"
Media = Literal["oci", "docker"]
Compression = Literal["gzip", "zstd", "none"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_TYPES: dict[tuple[str, str], str] = {
    ("oci", "gzip"): "application/vnd.oci.image.layer.v1.tar+gzip",
    ("oci", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
    ("oci", "none"): "application/vnd.oci.image.layer.v1.tar",
    ("docker", "gzip"): "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ("docker", "none"): "application/vnd.docker.image.rootfs.diff.tar",
}
DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def compact_json(doc: object) -> bytes:
    """Compact JSON, keys in insertion order: the bytes that get digested."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class File:
    data: bytes
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def exe(data: bytes) -> File:
    """An executable file (mode 0755)."""
    return File(data, 0o755)


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Hardlink:
    target: str  # path inside the same layer


@dataclass(frozen=True)
class Dir:
    mode: int = 0o755


@dataclass(frozen=True)
class Whiteout:
    """Deletes the path from lower layers: written as `dir/.wh.name`."""


@dataclass(frozen=True)
class OpaqueWhiteout:
    """Hides everything lower layers put in this directory: `dir/.wh..wh..opq`."""


Entry = bytes | File | Symlink | Hardlink | Dir | Whiteout | OpaqueWhiteout


def _norm(path: str) -> str:
    clean = posixpath.normpath("/" + path).lstrip("/")
    if not clean or clean == ".":
        raise ValueError(f"bad layer path {path!r}")
    return clean


class Layer:
    """One filesystem changeset. Parent directories are added (0755) unless given explicitly."""

    def __init__(self, files: Mapping[str, Entry], compression: Compression = "gzip", comment: str = "") -> None:
        if compression not in ("gzip", "zstd", "none"):
            raise ValueError(f"unknown compression {compression!r}")
        self.files = dict(files)
        self.compression: Compression = compression
        self.comment = comment

    def entries(self) -> dict[str, File | Symlink | Hardlink | Dir]:
        """Tar member name -> entry, whiteouts turned into their marker files, parents filled in."""
        out: dict[str, File | Symlink | Hardlink | Dir] = {}
        for raw, entry in self.files.items():
            path = _norm(raw)
            if isinstance(entry, bytes):
                out[path] = File(entry)
            elif isinstance(entry, Whiteout):
                head, tail = posixpath.split(path)
                out[posixpath.join(head, ".wh." + tail)] = File(b"")
            elif isinstance(entry, OpaqueWhiteout):
                out.setdefault(path, Dir())
                out[posixpath.join(path, ".wh..wh..opq")] = File(b"")
            else:
                out[path] = entry
        for path in list(out):
            parent = posixpath.dirname(path)
            while parent and parent not in out:
                out[parent] = Dir()
                parent = posixpath.dirname(parent)
        return dict(sorted(out.items()))

    @cached_property
    def tar(self) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, entry in self.entries().items():
                info = tarfile.TarInfo(name)
                info.mtime = MTIME
                info.uname = info.gname = ""
                data = None
                if isinstance(entry, File):
                    info.mode, info.uid, info.gid, info.size = entry.mode, entry.uid, entry.gid, len(entry.data)
                    data = io.BytesIO(entry.data)
                elif isinstance(entry, Dir):
                    info.type, info.mode = tarfile.DIRTYPE, entry.mode
                elif isinstance(entry, Symlink):
                    info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, entry.target
                else:
                    info.type, info.mode, info.linkname = tarfile.LNKTYPE, 0o644, _norm(entry.target)
                tar.addfile(info, data)
            end = tar.offset
        # Like Go's archive/tar (Docker, BuildKit): two zero blocks, no padding to a 10 KiB record.
        # So an empty layer is 1024 zero bytes, the well-known diff_id sha256:5f70bf18a086….
        return buf.getvalue()[: end + 1024]

    @cached_property
    def blob(self) -> bytes:
        """The bytes stored in the registry (compressed tar)."""
        if self.compression == "gzip":
            return gzip.compress(self.tar, compresslevel=6, mtime=0)
        if self.compression == "zstd":
            try:
                import zstandard
            except ImportError as exc:  # pragma: no cover - dev extra
                raise RuntimeError("zstd layers need the `zstandard` package (pip install zstandard)") from exc
            return zstandard.ZstdCompressor(level=3).compress(self.tar)
        return self.tar

    @property
    def diff_id(self) -> str:
        return sha256(self.tar)

    @cached_property
    def digest(self) -> str:
        return sha256(self.blob)

    @property
    def size(self) -> int:
        return len(self.blob)

    @property
    def media_type(self) -> str:
        return self.media_type_for("oci")

    def media_type_for(self, media: Media) -> str:
        try:
            return LAYER_TYPES[(media, self.compression)]
        except KeyError:
            raise ValueError(f"{media} manifests have no {self.compression} layer type") from None

    def descriptor(self, media: Media = "oci") -> dict[str, Any]:
        return {"mediaType": self.media_type_for(media), "digest": self.digest, "size": self.size}


class Image:
    """A single-platform image: config blob + manifest (OCI or Docker schema 2).

    `config` overrides keys of the container config (User, Entrypoint, Cmd, Env, WorkingDir,
    Labels, ExposedPorts, Volumes, Healthcheck, StopSignal, …). `history` entries are dicts
    (`created_by`, `empty_layer`, `comment`, …); by default one per layer. Their count of
    non-empty entries must equal the number of layers, as in real images.
    """

    def __init__(
        self,
        layers: list[Layer],
        config: Mapping[str, Any] | None = None,
        *,
        history: list[dict[str, Any]] | None = None,
        created: str = CREATED,
        os: str = "linux",
        architecture: str = "amd64",
        variant: str | None = None,
        author: str | None = None,
        media: Media = "oci",
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        self.layers = list(layers)
        self.container_config: dict[str, Any] = {"Env": list(DEFAULT_ENV), **(config or {})}
        if history is None:
            history = [
                {"created_by": f"/bin/sh -c #(nop) ADD layer{i} in / ", "comment": "buildkit.dockerfile.v0"}
                for i in range(len(self.layers))
            ]
        if sum(1 for h in history if not h.get("empty_layer")) != len(self.layers):
            raise ValueError("history must have exactly one non-empty entry per layer")
        self.history = [{"created": created, **h} for h in history]
        self.created, self.os, self.architecture, self.variant = created, os, architecture, variant
        self.author = author
        if media not in ("oci", "docker"):
            raise ValueError(f"unknown media {media!r}")
        self.media: Media = media
        self.annotations = dict(annotations or {})

    @property
    def platform(self) -> dict[str, str]:
        plat = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            plat["variant"] = self.variant
        return plat

    @cached_property
    def config_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"created": self.created}
        if self.author:
            doc["author"] = self.author
        doc |= {"architecture": self.architecture, "os": self.os}
        if self.variant:
            doc["variant"] = self.variant
        doc["config"] = self.container_config
        doc["rootfs"] = {"type": "layers", "diff_ids": [layer.diff_id for layer in self.layers]}
        doc["history"] = self.history
        return doc

    @cached_property
    def config_bytes(self) -> bytes:
        return compact_json(self.config_doc)

    @property
    def config_digest(self) -> str:
        return sha256(self.config_bytes)

    @property
    def config_media_type(self) -> str:
        return OCI_CONFIG if self.media == "oci" else DOCKER_CONFIG

    @property
    def media_type(self) -> str:
        return OCI_MANIFEST if self.media == "oci" else DOCKER_MANIFEST

    @cached_property
    def manifest_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": {
                "mediaType": self.config_media_type,
                "digest": self.config_digest,
                "size": len(self.config_bytes),
            },
            "layers": [layer.descriptor(self.media) for layer in self.layers],
        }
        if self.annotations:
            doc["annotations"] = self.annotations
        return compact_json(doc)

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest_bytes)

    digest = manifest_digest

    def blobs(self) -> dict[str, bytes]:
        """Digest -> bytes of every blob the manifest references (config first)."""
        out = {self.config_digest: self.config_bytes}
        out.update({layer.digest: layer.blob for layer in self.layers})
        return out

    def descriptor(self, platform: Mapping[str, Any] | None = None) -> dict[str, Any]:
        desc: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest_bytes)}
        if platform is not None:
            desc["platform"] = dict(platform)
        return desc


class Index:
    """An OCI image index or a Docker manifest list over single-platform images."""

    def __init__(
        self,
        manifests: list[tuple[Image, Mapping[str, Any] | None]],
        media: Media = "oci",
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        if media == "docker" and any(img.media != "docker" for img, _ in manifests):
            raise ValueError("a Docker manifest list must point at Docker v2 manifests")
        self.manifests = [(img, dict(plat) if plat is not None else img.platform) for img, plat in manifests]
        self.media: Media = media
        self.annotations = dict(annotations or {})

    @property
    def images(self) -> list[Image]:
        return [img for img, _ in self.manifests]

    @property
    def media_type(self) -> str:
        return OCI_INDEX if self.media == "oci" else DOCKER_LIST

    @cached_property
    def manifest_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "manifests": [img.descriptor(plat) for img, plat in self.manifests],
        }
        if self.annotations:
            doc["annotations"] = self.annotations
        return compact_json(doc)

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest_bytes)

    digest = manifest_digest

    def blobs(self) -> dict[str, bytes]:
        """Every blob and child manifest below this index, digest -> bytes."""
        out: dict[str, bytes] = {}
        for img in self.images:
            out.update(img.blobs())
            out[img.digest] = img.manifest_bytes
        return out
