"""Raw OCI pieces for hostile images, byte-exact: tar streams with any header, compression bombs,
images and indexes whose every document may have the wrong shape, and the on-disk formats.

`support.oci.builder` makes *correct* images; here a config may hold a lone surrogate (JSON
`\\ud800`), a layer may be a gzip bomb or labelled with the wrong media type, a tar member may
declare a petabyte. `RawImage` and `RawIndex` have what `support.oci.push` needs to push them
(`media_type`, `manifest_bytes`, `manifest_digest`, `blobs()`, `images` for an index).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import posixpath
import tarfile
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import zstandard

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME = "org.opencontainers.image.ref.name"
MTIME = 1_704_067_200


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def jdump(doc: Any) -> bytes:
    """Compact JSON; non-ASCII escaped, so a lone surrogate becomes the JSON escape `\\ud800`."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode()


# -- tar streams -----------------------------------------------------------------------------
@dataclass
class Member:
    """One tar member. `size` is the size the header declares (default: len(data)); `data` is what follows."""

    name: str | bytes
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    size: int | None = None
    mode: int = 0o644
    pax: dict[str, str] | None = None


def _name(name: str | bytes) -> str:
    return name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name


def header(m: Member, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    info = tarfile.TarInfo(_name(m.name))
    info.type, info.mode, info.mtime, info.uname, info.gname = m.type, m.mode, MTIME, "", ""
    info.linkname = m.linkname
    info.size = len(m.data) if m.size is None else m.size
    if m.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_SPARSE):
        info.size = 0 if m.size is None else m.size
    if m.pax:
        info.pax_headers = dict(m.pax)
    return info.tobuf(fmt, "utf-8", "surrogateescape")


def tar_stream(members: list[Member], fmt: int = tarfile.PAX_FORMAT, end: bool = True) -> bytes:
    """Members as written (no parents added, no sorting), padded to blocks; `end`: the two zero blocks."""
    out = bytearray()
    for m in members:
        out += header(m, fmt)
        out += m.data
        if len(m.data) % 512:
            out += b"\0" * (512 - len(m.data) % 512)
    if end:
        out += b"\0" * 1024
    return bytes(out)


def files_tar(files: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A plain tar of regular files with their parent directories (sorted, deterministic)."""
    dirs: set[str] = set()
    for name in files:
        parent = posixpath.dirname(name)
        while parent:
            dirs.add(parent)
            parent = posixpath.dirname(parent)
    members = [Member(d + "/", type=tarfile.DIRTYPE, mode=0o755) for d in sorted(dirs)]
    members += [Member(n, data) for n, data in sorted(files.items())]
    return tar_stream(members, fmt)


def gnu_sparse_header(name: str, realsize: int, stored: int, maps: list[tuple[int, int]]) -> bytes:
    """An old-GNU sparse member header ('S'): `maps` (offset, length) pairs, `realsize` declared."""
    buf = bytearray(header(Member(name, b"\0" * stored, tarfile.GNUTYPE_SPARSE), tarfile.GNU_FORMAT)[-512:])

    def octal(value: int, width: int) -> bytes:
        if value >= 8 ** (width - 1):  # base-256, as GNU tar writes large numbers
            return bytes([0x80]) + value.to_bytes(width - 1, "big")
        return b"%0*o\0" % (width - 1, value)

    for i, (off, length) in enumerate(maps[:4]):
        buf[386 + i * 24 : 398 + i * 24] = octal(off, 12)
        buf[398 + i * 24 : 410 + i * 24] = octal(length, 12)
    buf[482] = 0
    buf[483:495] = octal(realsize, 12)
    buf[148:156] = b" " * 8
    buf[148:156] = b"%06o\0 " % sum(buf)
    return bytes(buf)


# -- compression --------------------------------------------------------------------------------
def gz(data: bytes, level: int = 6) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


def zst(data: bytes, level: int = 3) -> bytes:
    return zstandard.ZstdCompressor(level=level).compress(data)


CHUNK = 16 * 1024 * 1024


@cache
def _gz_zeros() -> bytes:
    return gz(b"\0" * CHUNK, 9)


@cache
def _zst_zeros() -> bytes:
    return zst(b"\0" * CHUNK, 19)


def gzip_bomb(total: int, declared_name: str = "bomb.bin") -> bytes:
    """A layer that is a few hundred KB gzip and `total` bytes of tar: one member declaring `total` bytes
    of zeros (then the zeros of the end blocks), as concatenated gzip members."""
    head = gz(header(Member(declared_name, size=total)))
    return head + _gz_zeros() * (total // CHUNK + 1)


def zstd_bomb(total: int, declared_name: str = "bomb.bin") -> bytes:
    head = zst(header(Member(declared_name, size=total)))
    return head + _zst_zeros() * (total // CHUNK + 1)


# -- images ------------------------------------------------------------------------------------
@dataclass
class RawLayer:
    blob: bytes
    media_type: str = LAYER_GZIP
    tar: bytes | None = None  # the uncompressed stream when known (docker save stores it)

    @classmethod
    def of(cls, tar: bytes, compression: str = "gzip", media_type: str | None = None) -> RawLayer:
        blob = gz(tar) if compression == "gzip" else zst(tar) if compression == "zstd" else tar
        default = {"gzip": LAYER_GZIP, "zstd": LAYER_ZSTD, "none": LAYER_TAR}[compression]
        return cls(blob, media_type or default, tar)

    @property
    def digest(self) -> str:
        return sha256(self.blob)

    @property
    def diff_id(self) -> str:
        return sha256(self.tar if self.tar is not None else self.blob)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.blob)}


def small_layer(files: dict[str, bytes] | None = None) -> RawLayer:
    return RawLayer.of(files_tar(files or {"etc/hostname": b"hostile\n", "bin/sh": b"#!shell\n"}))


def config_doc(
    layers: list[RawLayer],
    *,
    env: list[Any] | None = None,
    labels: Any = None,
    cmd: Any = None,
    entrypoint: Any = None,
    healthcheck: Any = None,
    history: Any = None,
    extra: dict[str, Any] | None = None,
    top: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An image config document (fields as given, so they may have any shape)."""
    cfg: dict[str, Any] = {"Env": env if env is not None else ["PATH=/usr/local/bin:/usr/bin:/bin"]}
    if labels is not None:
        cfg["Labels"] = labels
    if cmd is not None:
        cfg["Cmd"] = cmd
    if entrypoint is not None:
        cfg["Entrypoint"] = entrypoint
    if healthcheck is not None:
        cfg["Healthcheck"] = healthcheck
    cfg.update(extra or {})
    if history is None:
        history = [{"created": "2024-01-01T00:00:00Z", "created_by": f"ADD layer{i} /"} for i in range(len(layers))]
    doc: dict[str, Any] = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [la.diff_id for la in layers]},
        "history": history,
    }
    doc.update(top or {})
    return doc


class RawImage:
    """A single-platform image whose config and manifest bytes may be anything."""

    def __init__(
        self,
        layers: list[RawLayer] | None = None,
        config: bytes | dict[str, Any] | None = None,
        *,
        media: str = "oci",
        annotations: dict[str, Any] | None = None,
        manifest: bytes | dict[str, Any] | None = None,
    ) -> None:
        self.layers = list(layers if layers is not None else [small_layer()])
        cfg = config if config is not None else config_doc(self.layers)
        self.config_bytes = cfg if isinstance(cfg, bytes) else jdump(cfg)
        self.media = media
        self.annotations = annotations
        self._manifest = manifest

    @property
    def config_digest(self) -> str:
        return sha256(self.config_bytes)

    @property
    def media_type(self) -> str:
        return OCI_MANIFEST if self.media == "oci" else DOCKER_MANIFEST

    def manifest_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": {
                "mediaType": OCI_CONFIG if self.media == "oci" else DOCKER_CONFIG,
                "digest": self.config_digest,
                "size": len(self.config_bytes),
            },
            "layers": [la.descriptor() for la in self.layers],
        }
        if self.annotations is not None:
            doc["annotations"] = self.annotations
        return doc

    @cached_property
    def manifest_bytes(self) -> bytes:
        if isinstance(self._manifest, bytes):
            return self._manifest
        return jdump(self._manifest if self._manifest is not None else self.manifest_doc())

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest_bytes)

    digest = manifest_digest

    def blobs(self) -> dict[str, bytes]:
        out = {self.config_digest: self.config_bytes}
        out.update({la.digest: la.blob for la in self.layers})
        return out

    def descriptor(self, platform: dict[str, Any] | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest_bytes)}
        if platform is not None:
            d["platform"] = platform
        return d


class RawIndex:
    def __init__(
        self,
        children: list[tuple[RawImage, dict[str, Any] | None]],
        annotations: dict[str, Any] | None = None,
        manifest: bytes | None = None,
    ) -> None:
        self.children = children
        self.annotations = annotations
        self._manifest = manifest

    @property
    def images(self) -> list[RawImage]:
        return [img for img, _ in self.children]

    media_type = OCI_INDEX

    @cached_property
    def manifest_bytes(self) -> bytes:
        if self._manifest is not None:
            return self._manifest
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [img.descriptor(plat) for img, plat in self.children],
        }
        if self.annotations is not None:
            doc["annotations"] = self.annotations
        return jdump(doc)

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest_bytes)

    digest = manifest_digest

    def descriptor(self, platform: dict[str, Any] | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": OCI_INDEX, "digest": self.digest, "size": len(self.manifest_bytes)}
        if platform is not None:
            d["platform"] = platform
        return d

    def blobs(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for img in self.images:
            out.update(img.blobs())
            out[img.digest] = img.manifest_bytes
        return out


# -- on-disk formats ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    target: str | bytes


FIFO = object()
DIR = object()


def layout_files(
    tags: dict[str, RawImage | RawIndex], index: Any = None, entries: list[Any] | None = None
) -> dict[str, Any]:
    """Relative path -> bytes of an OCI layout. `index`: the whole index.json instead (any JSON value or
    bytes); `entries`: its `manifests` instead (any values)."""
    blobs: dict[str, bytes] = {}
    refs: list[Any] = []
    for tag, item in tags.items():
        blobs.update(item.blobs())
        blobs[item.digest] = item.manifest_bytes
        desc = {"mediaType": item.media_type, "digest": item.digest, "size": len(item.manifest_bytes)}
        refs.append(desc | {"annotations": {REF_NAME: tag}})
    files: dict[str, Any] = {"oci-layout": jdump({"imageLayoutVersion": "1.0.0"})}
    if index is None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": refs if entries is None else entries}
    files["index.json"] = index if isinstance(index, bytes) else jdump(index)
    for digest, data in sorted(blobs.items()):
        files["blobs/" + digest.replace(":", "/")] = data
    return files


def docker_save_files(refs: dict[str, RawImage], manifest: Any = None) -> dict[str, Any]:
    """`docker save` (Docker < 25): manifest.json, <config>.json, <id>/layer.tar. `manifest`: manifest.json instead."""
    files: dict[str, Any] = {}
    entries: dict[str, dict[str, Any]] = {}
    for ref, img in refs.items():
        config_name = img.config_digest.removeprefix("sha256:") + ".json"
        files[config_name] = img.config_bytes
        layer_paths = []
        parent = ""
        for la in img.layers:
            layer_id = hashlib.sha256(f"{parent}\n{la.diff_id}".encode()).hexdigest()
            files[f"{layer_id}/layer.tar"] = la.tar if la.tar is not None else la.blob
            files[f"{layer_id}/VERSION"] = b"1.0"
            layer_paths.append(f"{layer_id}/layer.tar")
            parent = layer_id
        entry = entries.setdefault(config_name, {"Config": config_name, "RepoTags": [], "Layers": layer_paths})
        entry["RepoTags"].append(ref)
    doc = list(entries.values()) if manifest is None else manifest
    files["manifest.json"] = doc if isinstance(doc, bytes) else jdump(doc)
    return files


def write_tree(root: Path, files: dict[str, Any]) -> Path:
    """Files (bytes), symlinks (`Link`), FIFOs (`FIFO`) and directories (`DIR`) under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, value in files.items():
        p = Path(os.fsdecode(root)) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, Link):
            os.symlink(value.target, p)
        elif value is FIFO:
            os.mkfifo(p)
        elif value is DIR:
            p.mkdir(exist_ok=True)
        else:
            p.write_bytes(value)
    return root


def tree_tar(files: dict[str, Any], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """The same tree as a tar (what an OCI archive or a docker save tarball is); `Link` -> symlink member."""
    members = []
    for rel, value in sorted(files.items(), key=lambda kv: kv[0]):
        if isinstance(value, Link):
            members.append(Member(rel, type=tarfile.SYMTYPE, linkname=_name(value.target), mode=0o777))
        elif value is DIR:
            members.append(Member(rel + "/", type=tarfile.DIRTYPE, mode=0o755))
        elif value is FIFO:
            members.append(Member(rel, type=tarfile.FIFOTYPE))
        else:
            members.append(Member(rel, value))
    return tar_stream(members, fmt)


def deep_json(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    return (opener * depth + closer * depth).encode()


def padded_json(doc: dict[str, Any], total: int) -> bytes:
    """`doc` as JSON grown to `total` bytes by a large annotation value (oversized metadata)."""
    doc = dict(doc)
    doc["annotations"] = {"pad": "x" * max(0, total - len(jdump(doc)))}
    return jdump(doc)
