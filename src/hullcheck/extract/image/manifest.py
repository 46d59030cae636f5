"""Image facts from manifest, index and config JSON: bytes in, rows out. No I/O.

Handles the four manifest media types (OCI manifest and index, Docker v2 manifest and
manifest list). History entries are matched to the layers they produced the way image
tools do it: each entry without `empty_layer` consumes the next layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hullcheck import jsonshape as S
from hullcheck.columns import NOT_STORED
from hullcheck.jsonshape import ImageFormatError
from hullcheck.redact import redact_argv, redact_text, redact_value

INDEX_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
MANIFEST_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)


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
    return S.obj(S.load_json(data, what), what)


def parse_manifest(data: bytes, digest: str, served_media_type: str | None = None) -> ManifestFacts:
    doc = _json(data, "manifest")
    media_type = S.text(doc.get("mediaType"), "manifest: mediaType") or served_media_type or ""
    if "manifests" in doc or media_type in INDEX_MEDIA_TYPES:
        children = []
        for i, m in enumerate(S.arr(doc.get("manifests"), "index: manifests")):
            where = f"index: manifests[{i}]"
            m = S.obj(m, where)
            platform = S.opt_obj(m.get("platform"), f"{where}.platform")
            kind = S.string_map(m.get("annotations"), f"{where}.annotations").get("vnd.docker.reference.type")
            children.append(
                IndexChild(
                    S.digest(m.get("digest"), f"{where}.digest"),
                    S.text(m.get("mediaType"), f"{where}.mediaType"),
                    S.size(m.get("size"), f"{where}.size"),
                    S.text(platform.get("os"), f"{where}.platform.os"),
                    S.text(platform.get("architecture"), f"{where}.platform.architecture"),
                    S.text(platform.get("variant"), f"{where}.platform.variant"),
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
            _annotations(doc, "index"),
            children=children,
        )
    if doc.get("schemaVersion") == 1:
        raise ImageFormatError("Docker schema 1 manifests are not supported (deprecated since 2017)")
    if "config" not in doc or "layers" not in doc:
        raise ImageFormatError("not an image manifest: no config or no layers (an artifact?)")
    layers = []
    for i, lay in enumerate(S.arr(doc.get("layers"), "manifest: layers")):
        where = f"manifest: layers[{i}]"
        lay = S.obj(lay, where)
        digest_ = S.digest(lay.get("digest"), f"{where}.digest")
        media = S.text(lay.get("mediaType"), f"{where}.mediaType")
        layers.append(LayerRow(i, digest_, media, S.size(lay.get("size"), f"{where}.size")))
    config = S.obj(doc.get("config"), "manifest: config")
    return ManifestFacts(
        digest,
        media_type or "application/vnd.oci.image.manifest.v1+json",
        "manifest",
        len(data),
        S.digest(config.get("digest"), "manifest: config.digest"),
        len(layers),
        sum(lay.size or 0 for lay in layers),
        _annotations(doc, "manifest"),
        layers=layers,
    )


def _annotations(doc: dict[str, Any], what: str) -> list[Annotation]:
    notes = S.string_map(doc.get("annotations"), f"{what}: annotations")
    return [Annotation(k, redact_value(k, v)[0] or "") for k, v in notes.items()]


def _kv(pairs: dict[str, Any], secret_check: bool) -> list[KeyValue]:
    out = []
    for k, v in pairs.items():
        value = None if v is None else str(v)
        stored, redacted = redact_value(k, value) if secret_check else (value, False)
        out.append(KeyValue(str(k), stored, redacted))
    return out


def parse_config(data: bytes, digest: str) -> ConfigFacts:
    doc = _json(data, "image config")
    cfg = S.opt_obj(doc.get("config"), "image config: config")
    env: dict[str, str | None] = {}
    for item in S.strings(cfg.get("Env"), "image config: config.Env"):
        key, sep, value = item.partition("=")
        env[key] = value if sep else None
    history = []
    layer = 0
    for i, h in enumerate(S.arr(doc.get("history"), "image config: history")):
        where = f"image config: history[{i}]"
        h = S.obj(h, where)
        empty = bool(h.get("empty_layer"))
        created_by, comment = S.text(h.get("created_by"), f"{where}.created_by"), S.text(h.get("comment"), where)
        history.append(
            HistoryRow(
                i,
                S.text(h.get("created"), f"{where}.created"),
                redact_text(created_by) if created_by else None,
                redact_text(comment) if comment else None,
                empty,
                None if empty else layer,
            )
        )
        layer += 0 if empty else 1
    health = S.opt_obj(cfg.get("Healthcheck"), "image config: config.Healthcheck")
    entrypoint = S.strings(cfg.get("Entrypoint"), "image config: config.Entrypoint")
    cmd = S.strings(cfg.get("Cmd"), "image config: config.Cmd")
    rootfs = S.opt_obj(doc.get("rootfs"), "image config: rootfs")
    return ConfigFacts(
        config_digest=digest,
        os=S.text(doc.get("os"), "image config: os"),
        architecture=S.text(doc.get("architecture"), "image config: architecture"),
        variant=S.text(doc.get("variant"), "image config: variant"),
        created=S.text(doc.get("created"), "image config: created"),
        user=S.text(cfg.get("User"), "image config: config.User") or None,
        entrypoint=redact_argv(entrypoint) if entrypoint else None,
        cmd=redact_argv(cmd) if cmd else None,
        workdir=S.text(cfg.get("WorkingDir"), "image config: config.WorkingDir") or None,
        env=_kv(env, secret_check=True),
        labels=_kv(S.opt_obj(cfg.get("Labels"), "image config: config.Labels"), secret_check=True),
        exposed_ports=sorted(str(k) for k in S.opt_obj(cfg.get("ExposedPorts"), "image config: config.ExposedPorts")),
        volumes=sorted(str(k) for k in S.opt_obj(cfg.get("Volumes"), "image config: config.Volumes")),
        healthcheck=redact_argv(S.strings(health.get("Test"), "image config: config.Healthcheck.Test"))
        if health
        else None,
        stop_signal=S.text(cfg.get("StopSignal"), "image config: config.StopSignal") or None,
        diff_id_count=len(S.arr(rootfs.get("diff_ids"), "image config: rootfs.diff_ids")),
        history=history,
    )
