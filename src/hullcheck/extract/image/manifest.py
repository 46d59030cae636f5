"""Image facts from manifest, index and config JSON: bytes in, rows out. No I/O.

Handles the four manifest media types (OCI manifest and index, Docker v2 manifest and
manifest list). History entries are matched to the layers they produced the way image
tools do it: each entry without `empty_layer` consumes the next layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hullcheck.columns import NOT_STORED
from hullcheck.errors import ExtractError
from hullcheck.redact import redact_text, redact_value

INDEX_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
MANIFEST_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)


class ImageFormatError(ExtractError):
    pass


@dataclass(slots=True)
class IndexChild:
    child_digest: str
    media_type: str | None
    size: int | None
    os: str | None
    architecture: str | None
    variant: str | None
    attestation: bool = field(
        default=False, metadata=NOT_STORED
    )  # BuildKit provenance/SBOM entry (vnd.docker.reference.type)


@dataclass(slots=True)
class LayerRow:
    layer_index: int
    digest: str
    media_type: str | None
    size: int | None


@dataclass(slots=True)
class Annotation:
    key: str
    value: str


@dataclass(slots=True)
class ManifestFacts:
    digest: str
    media_type: str
    kind: str  # index | manifest
    size: int
    config_digest: str | None
    layer_count: int
    compressed_bytes: int  # sum of the layer sizes as listed
    annotations: list[Annotation]
    children: list[IndexChild] = field(default_factory=list, metadata=NOT_STORED)  # image_index_children
    layers: list[LayerRow] = field(default_factory=list, metadata=NOT_STORED)  # image_layer_facts


@dataclass(slots=True)
class KeyValue:
    key: str
    value: str | None
    redacted: bool


@dataclass(slots=True)
class HistoryRow:
    history_index: int
    created: str | None
    created_by: str | None
    comment: str | None
    empty_layer: bool
    layer_index: int | None  # the layer this step produced; None for metadata-only steps


@dataclass(slots=True)
class ConfigFacts:
    config_digest: str
    os: str | None
    architecture: str | None
    variant: str | None
    created: str | None
    user: str | None
    entrypoint: list[str] | None
    cmd: list[str] | None
    workdir: str | None
    env: list[KeyValue]
    labels: list[KeyValue]
    exposed_ports: list[str]
    volumes: list[str]
    healthcheck: list[str] | None
    stop_signal: str | None
    diff_id_count: int
    history: list[HistoryRow] = field(default_factory=list, metadata=NOT_STORED)  # image_history_facts


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ImageFormatError(f"{what} is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ImageFormatError(f"{what} is not a JSON object")
    return doc


def parse_manifest(data: bytes, digest: str, served_media_type: str | None = None) -> ManifestFacts:
    doc = _json(data, "manifest")
    media_type = doc.get("mediaType") or served_media_type or ""
    if "manifests" in doc or media_type in INDEX_MEDIA_TYPES:
        children = []
        for m in doc.get("manifests") or []:
            platform = m.get("platform") or {}
            kind = (m.get("annotations") or {}).get("vnd.docker.reference.type")
            children.append(
                IndexChild(
                    m.get("digest", ""),
                    m.get("mediaType"),
                    m.get("size"),
                    platform.get("os"),
                    platform.get("architecture"),
                    platform.get("variant"),
                    kind == "attestation-manifest",
                )
            )
        return ManifestFacts(
            digest,
            media_type or "application/vnd.oci.image.index.v1+json",
            "index",
            len(data),
            None,
            0,
            0,
            _annotations(doc),
            children=children,
        )
    if doc.get("schemaVersion") == 1:
        raise ImageFormatError("Docker schema 1 manifests are not supported (deprecated since 2017)")
    if "config" not in doc or "layers" not in doc:
        raise ImageFormatError("not an image manifest: no config or no layers (an artifact?)")
    layers = [LayerRow(i, lay.get("digest", ""), lay.get("mediaType"), lay.get("size")) for i, lay in
              enumerate(doc.get("layers") or [])]  # fmt: skip
    return ManifestFacts(
        digest,
        media_type or "application/vnd.oci.image.manifest.v1+json",
        "manifest",
        len(data),
        (doc.get("config") or {}).get("digest"),
        len(layers),
        sum(lay.size or 0 for lay in layers),
        _annotations(doc),
        layers=layers,
    )


def _annotations(doc: dict[str, Any]) -> list[Annotation]:
    return [
        Annotation(str(k), redact_value(str(k), str(v))[0] or "") for k, v in (doc.get("annotations") or {}).items()
    ]


def _kv(pairs: dict[str, Any] | None, secret_check: bool) -> list[KeyValue]:
    out = []
    for k, v in (pairs or {}).items():
        value = None if v is None else str(v)
        stored, redacted = redact_value(k, value) if secret_check else (value, False)
        out.append(KeyValue(str(k), stored, redacted))
    return out


def parse_config(data: bytes, digest: str) -> ConfigFacts:
    doc = _json(data, "image config")
    cfg = doc.get("config") or {}
    env = {}
    for item in cfg.get("Env") or []:
        key, sep, value = str(item).partition("=")
        env[key] = value if sep else None
    history = []
    layer = 0
    for i, h in enumerate(doc.get("history") or []):
        empty = bool(h.get("empty_layer"))
        history.append(
            HistoryRow(
                i,
                h.get("created"),
                redact_text(h["created_by"]) if h.get("created_by") else None,
                redact_text(h["comment"]) if h.get("comment") else None,
                empty,
                None if empty else layer,
            )
        )
        layer += 0 if empty else 1
    health = cfg.get("Healthcheck") or None
    return ConfigFacts(
        config_digest=digest,
        os=doc.get("os"),
        architecture=doc.get("architecture"),
        variant=doc.get("variant"),
        created=doc.get("created"),
        user=cfg.get("User") or None,
        entrypoint=[redact_text(str(x)) for x in cfg["Entrypoint"]] if cfg.get("Entrypoint") else None,
        cmd=[redact_text(str(x)) for x in cfg["Cmd"]] if cfg.get("Cmd") else None,
        workdir=cfg.get("WorkingDir") or None,
        env=_kv(env, secret_check=True),
        labels=_kv(cfg.get("Labels"), secret_check=True),
        exposed_ports=sorted(cfg.get("ExposedPorts") or {}),
        volumes=sorted(cfg.get("Volumes") or {}),
        healthcheck=[redact_text(str(x)) for x in health.get("Test") or []] if health else None,
        stop_signal=cfg.get("StopSignal") or None,
        diff_id_count=len((doc.get("rootfs") or {}).get("diff_ids") or []),
        history=history,
    )
