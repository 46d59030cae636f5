"""Image metadata of the wrong shape on disk (`image_shapes`): OCI layouts, OCI archives, `docker save`.

index.json that is a list, a number, a string, null, empty, not JSON, 100,000 levels deep,
oversized, BOM- or UTF-16-encoded; `manifests` a mapping or a list of numbers; entries whose
digest is a number or `sha256:../../x` (climbing to a marker), whose annotations are a string;
ref names with newlines, escapes and surrogates; manifests and configs of every wrong shape,
oversized, deep, mismatching their digest; blobs, `blobs/`, index.json and oci-layout that are
symlinks out of the layout (to markers holding a real manifest, so a read would also store a
canary); FIFOs and directories where blobs belong; `docker save` manifest.json an object,
`RepoTags: [1]`, `Layers: [1, 2]`, `Config: ../../x.json` (in a tarball and in an extracted
directory), one layer listed 100 times; archives that are gzip, truncated, sparse, declaring a
terabyte, holding 30,000 members or non-UTF-8 names; layout names with odd bytes.
"""

from __future__ import annotations

import itertools
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hostile.blobs import (
    DIR,
    FIFO,
    OCI_INDEX,
    REF_NAME,
    Link,
    Member,
    RawImage,
    RawIndex,
    RawLayer,
    config_doc,
    deep_json,
    docker_save_files,
    files_tar,
    gz,
    jdump,
    layout_files,
    padded_json,
    sha256,
    small_layer,
    tar_stream,
    tree_tar,
    zst,
)
from hostile.model import CaseBuilder, register

F = "image_shapes"
Tree = dict[str, Any]


_SERIAL = itertools.count()


def _image(**config: Any) -> RawImage:
    """A small valid image, unique per call (a digest another layout already read would be skipped as known)."""
    layers = [small_layer()]
    doc = config_doc(layers, **config)
    if isinstance(doc.get("config"), dict):
        doc["config"]["StopSignal"] = f"SIGTERM{next(_SERIAL)}"
    return RawImage(layers, doc)


def _entry(item: RawImage | RawIndex, name: str | None = "app:1", **over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"mediaType": item.media_type, "digest": item.digest, "size": len(item.manifest_bytes)}
    if name is not None:
        d["annotations"] = {REF_NAME: name}
    d.update(over)
    return d


def _dir(
    name: str, description: str, make: Callable[[CaseBuilder, Path], Tree], ok: bool = False, odd: bytes | None = None
) -> None:
    def build(k: CaseBuilder) -> None:
        path = k.reserve_layout("", odd)
        k.layout_dir(make(k, path))
        if ok:
            k.expect("image_ok")

    register(F, name, "layout", description, build)


def _tar(
    name: str,
    description: str,
    make: Callable[[CaseBuilder, Path], bytes],
    ok: bool = False,
    ext: str = ".tar",
    odd: bytes | None = None,
) -> None:
    def build(k: CaseBuilder) -> None:
        path = k.reserve_layout(ext, odd)
        k.layout_file(make(k, path), ext)
        if ok:
            k.expect("image_ok")

    register(F, name, "layout", description, build)


def _with_index(index: Any) -> Callable[[CaseBuilder, Path], Tree]:
    def make(k: CaseBuilder, path: Path) -> Tree:
        files = layout_files({"app:1": _image()})
        files["index.json"] = index if isinstance(index, bytes) else jdump(index)
        return files

    return make


def _with_entries(entries: Callable[[RawImage], Any]) -> Callable[[CaseBuilder, Path], Tree]:
    def make(k: CaseBuilder, path: Path) -> Tree:
        img = _image()
        files = layout_files({"app:1": img})
        files["index.json"] = jdump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries(img)})
        return files

    return make


# -- index.json of the wrong shape -------------------------------------------------------------
INDEXES: dict[str, tuple[Any, str]] = {
    "index-list-empty": ([], "index.json is an empty list"),
    "index-number": (42, "index.json is a number"),
    "index-string": ("index", "index.json is a string"),
    "index-null": (None, "index.json is null"),
    "index-true": (True, "index.json is true"),
    "index-empty-file": (b"", "index.json is empty"),
    "index-not-json": (b"{not json", "index.json is not JSON"),
    "index-deep-array": (deep_json(100_000), "index.json is 100,000 nested arrays"),
    "index-deep-object": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "index.json is 100,000 nested objects"),
    "index-deep-in-manifests": (b'{"manifests":' + deep_json(100_000) + b"}", "manifests nested 100,000 deep"),
    "index-nan-infinity": (
        b'{"schemaVersion": NaN, "manifests": [{"digest": "sha256:00", "size": Infinity}]}',
        "index.json with NaN and Infinity",
    ),
    "manifests-mapping": ({"manifests": {"a": {"digest": "sha256:00"}}}, "manifests is a mapping"),
    "manifests-number": ({"manifests": 5}, "manifests is a number"),
    "manifests-string": ({"manifests": "sha256:00"}, "manifests is a string"),
    "manifests-numbers": ({"manifests": [1, 2]}, "manifests is a list of numbers"),
    "manifests-strings": ({"manifests": ["sha256:00", "x"]}, "manifests is a list of strings"),
    "manifests-lists": ({"manifests": [[{"digest": "sha256:00"}]]}, "manifests is a list of lists"),
    "manifests-nulls": ({"manifests": [None, None]}, "manifests is a list of nulls"),
}
for _name, (_index, _desc) in INDEXES.items():
    _dir(_name, _desc, _with_index(_index))

_dir(
    "index-list-of-entries",
    "index.json is the list of entries itself",
    lambda k, p: layout_files({"app:1": (img := _image())}) | {"index.json": jdump([_entry(img)])},
)
_dir(
    "index-bom",
    "index.json starts with a UTF-8 BOM",
    lambda k, p: (f := layout_files({"app:1": _image()})) | {"index.json": b"\xef\xbb\xbf" + f["index.json"]},
)
_dir(
    "index-utf16",
    "index.json is UTF-16",
    lambda k, p: (f := layout_files({"app:1": _image()})) | {"index.json": f["index.json"].decode().encode("utf-16")},
)
_dir(
    "index-oversized-5mb",
    "index.json of 5 MB (a huge annotation)",
    lambda k, p: (
        layout_files({"app:1": (img := _image())})
        | {"index.json": padded_json({"schemaVersion": 2, "manifests": [_entry(img)]}, 5 << 20)}
    ),
)
_dir(
    "index-oversized-40mb",
    "index.json of 40 MB",
    lambda k, p: (
        layout_files({"app:1": (img := _image())})
        | {"index.json": padded_json({"schemaVersion": 2, "manifests": [_entry(img)]}, 40 << 20)}
    ),
)
_dir(
    "index-duplicate-keys",
    "index.json with manifests given twice (the last wins in Python)",
    lambda k, p: (
        layout_files({"app:1": (img := _image())})
        | {"index.json": b'{"manifests": 5, "manifests": [' + jdump(_entry(img)) + b"]}"}
    ),
)

ENTRIES: dict[str, tuple[Callable[[RawImage], Any], str]] = {
    "digest-number": (lambda img: [_entry(img, digest=1)], "an entry whose digest is a number"),
    "digest-null": (lambda img: [_entry(img, digest=None)], "an entry whose digest is null"),
    "digest-missing": (lambda img: [{"mediaType": img.media_type}], "an entry without a digest"),
    "digest-dotdot": (lambda img: [_entry(img, digest="sha256:../../x")], "digest sha256:../../x"),
    "digest-no-algorithm": (
        lambda img: [_entry(img, digest="../../../../etc/passwd")],
        "digest ../../../../etc/passwd",
    ),
    "digest-etc-passwd-climb": (
        lambda img: [_entry(img, digest="sha256:../../../../../../../../etc/passwd")],
        "a digest climbing to /etc/passwd",
    ),
    "digest-abs": (lambda img: [_entry(img, digest="sha256:/etc/passwd")], "digest sha256:/etc/passwd"),
    "digest-long": (lambda img: [_entry(img, digest="sha256:" + "a" * 10_000)], "a 10,000-character digest"),
    "digest-uppercase": (lambda img: [_entry(img, digest=img.digest.upper())], "a digest in upper case"),
    "digest-newline": (lambda img: [_entry(img, digest=img.digest + "\n../x")], "a digest with a newline"),
    "digest-list": (lambda img: [_entry(img, digest=[img.digest])], "a digest that is a list"),
    "media-type-number": (lambda img: [_entry(img, mediaType=5)], "an entry whose mediaType is a number"),
    "media-type-object": (lambda img: [_entry(img, mediaType={"a": 1})], "an entry whose mediaType is an object"),
    "size-negative": (lambda img: [_entry(img, size=-1)], "an entry of size -1"),
    "size-huge": (lambda img: [_entry(img, size=10**30)], "an entry of size 10^30"),
    "size-string": (lambda img: [_entry(img, size="big")], "an entry whose size is a string"),
    "annotations-string": (lambda img: [_entry(img, annotations="app:1")], "annotations is a string"),
    "annotations-list": (lambda img: [_entry(img, annotations=[REF_NAME, "app:1"])], "annotations is a list"),
    "annotations-number-values": (
        lambda img: [_entry(img, annotations={REF_NAME: 5, "x": None})],
        "a ref.name that is a number",
    ),
    "containerd-name-list": (
        lambda img: [_entry(img, annotations={"io.containerd.image.name": ["x"]})],
        "io.containerd.image.name is a list",
    ),
    "ref-name-long": (lambda img: [_entry(img, "app:" + "t" * 10_000)], "a 10,000-character ref name"),
    "ref-name-escapes": (lambda img: [_entry(img, "app\x1b[31m:\n1\r")], "a ref name with escapes, newline, CR"),
    "ref-name-rtl": (lambda img: [_entry(img, "\u202eapp:1")], "a ref name with U+202E"),
    "ref-name-surrogate": (lambda img: [_entry(img, "\ud800:\udc00")], "a ref name of lone surrogates (JSON escapes)"),
    "ref-name-dotdot": (lambda img: [_entry(img, "../../x:tag")], "a ref name ../../x:tag"),
    "ref-name-colon": (lambda img: [_entry(img, ":")], "a ref name that is a colon"),
    "ref-name-empty": (lambda img: [_entry(img, "")], "an empty ref name"),
    "ref-name-many-colons": (lambda img: [_entry(img, "a:b:c:d")], "a ref name a:b:c:d"),
    "ref-name-slashes": (lambda img: [_entry(img, "//:/")], "a ref name //:/"),
    "entries-10000-same": (lambda img: [_entry(img, f"app:t{i}") for i in range(10_000)], "10,000 tags of one image"),
    "entries-10000-missing": (
        lambda img: [_entry(img, f"app:m{i}", digest=sha256(b"%d" % i)) for i in range(10_000)],
        "10,000 entries whose manifests are missing",
    ),
    "entries-mixed-bad": (
        lambda img: [_entry(img), 1, None, "x", [], {"digest": 5}, _entry(img, "app:2")],
        "good entries between bad ones",
    ),
}
for _name, (_entries, _desc) in ENTRIES.items():
    _dir(_name, _desc, _with_entries(_entries))


# -- blobs, links and the oci-layout file ------------------------------------------------------
def _marker_manifest(k: CaseBuilder) -> tuple[RawImage, Path]:
    """An image whose manifest lives in a marker file outside the layout (and carries a canary)."""
    note = k.canary("an annotation of a manifest kept in a marker file outside the layout", "marker")
    img = RawImage([small_layer()], annotations={"org.example.note": note})
    return img, k.marker("manifest.json", img.manifest_bytes)


def _blob_link(rel: bool, which: str) -> Callable[[CaseBuilder, Path], Tree]:
    def make(k: CaseBuilder, path: Path) -> Tree:
        if which == "manifest":
            img, m = _marker_manifest(k)
            blob = img.digest
        else:
            env = [f"NOTE={k.canary('an Env value of a config kept in a marker file outside the layout', 'marker')}"]
            img = _image(env=env)
            m = k.marker("config.json", img.config_bytes)
            blob = img.config_digest
        files = layout_files({"app:1": img})
        member = "blobs/" + blob.replace(":", "/")
        files[member] = Link(os.path.relpath(m, (path / member).parent) if rel else str(m))
        return files

    return make


for _rel in (False, True):
    _how = "rel" if _rel else "abs"
    _dir(
        f"manifest-blob-symlink-{_how}",
        f"the manifest blob is a symlink to a marker ({_how})",
        _blob_link(_rel, "manifest"),
    )
    _dir(
        f"config-blob-symlink-{_how}", f"the config blob is a symlink to a marker ({_how})", _blob_link(_rel, "config")
    )


def _digest_climb(k: CaseBuilder, path: Path) -> Tree:
    img, m = _marker_manifest(k)
    rel = os.path.relpath(m, path / "blobs" / "sha256")
    files = layout_files({"app:1": _image()})
    files["index.json"] = jdump({"manifests": [_entry(img, digest="sha256:" + rel)]})
    return files


_dir("digest-climb-to-marker", "a digest sha256:../../../../outside/… naming a marker manifest", _digest_climb)


def _blobs_dir_link(level: str) -> Callable[[CaseBuilder, Path], Tree]:
    def make(k: CaseBuilder, path: Path) -> Tree:
        img, _ = _marker_manifest(k)
        outside_files = layout_files({"app:1": img})
        for rel, data in outside_files.items():
            if rel.startswith("blobs/"):
                k.marker("store/" + rel, data)
        files = {rel: data for rel, data in outside_files.items() if not rel.startswith("blobs/")}
        store = k.corpus.outside / k._key("m") / "store"
        if level == "blobs":
            files["blobs"] = Link(str(store / "blobs"))
        else:
            files["blobs/sha256"] = Link(os.path.relpath(store / "blobs" / "sha256", path / "blobs"))
        return files

    return make


_dir("blobs-dir-symlink", "blobs/ is a symlink to a directory of markers", _blobs_dir_link("blobs"))
_dir(
    "blobs-sha256-dir-symlink",
    "blobs/sha256 is a relative symlink to a directory of markers",
    _blobs_dir_link("sha256"),
)


def _index_link(rel: bool) -> Callable[[CaseBuilder, Path], Tree]:
    def make(k: CaseBuilder, path: Path) -> Tree:
        img, _ = _marker_manifest(k)
        files = layout_files({"app:1": img})
        m = k.marker("index.json", files["index.json"])
        files["index.json"] = Link(os.path.relpath(m, path) if rel else str(m))
        return files

    return make


_dir("index-json-symlink-abs", "index.json is a symlink to a marker", _index_link(False))
_dir("index-json-symlink-rel", "index.json is a relative symlink to a marker", _index_link(True))
_dir(
    "oci-layout-symlink",
    "oci-layout is a symlink to a marker",
    lambda k, p: (
        layout_files({"app:1": _image()})
        | {"oci-layout": Link(str(k.marker("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')))}
    ),
)
_dir(
    "oci-layout-missing",
    "no oci-layout file",
    lambda k, p: {n: d for n, d in layout_files({"app:1": _image()}).items() if n != "oci-layout"},
)
_dir(
    "oci-layout-wrong",
    "oci-layout says version 9.9.9 and is not an object",
    lambda k, p: layout_files({"app:1": _image()}) | {"oci-layout": b'["9.9.9"]'},
)


def _blob_replaced(value: Any) -> Callable[[CaseBuilder, Path], Tree]:
    def make(k: CaseBuilder, path: Path) -> Tree:
        img = _image()
        files = layout_files({"app:1": img})
        files["blobs/" + img.digest.replace(":", "/")] = value
        return files

    return make


_dir("manifest-blob-directory", "the manifest blob is a directory", _blob_replaced(DIR))
_dir("manifest-blob-fifo", "the manifest blob is a FIFO (opening it for reading blocks)", _blob_replaced(FIFO))
_dir("manifest-blob-mismatch", "the manifest blob does not match its digest", _blob_replaced(b'{"schemaVersion": 2}'))


def _without_blob(item: RawImage | RawIndex, digest: str) -> Tree:
    return {n: d for n, d in layout_files({"app:1": item}).items() if not n.endswith(digest[7:])}


_dir("manifest-blob-missing", "the manifest blob is missing", lambda k, p: _without_blob(img := _image(), img.digest))


def _manifest(doc: Callable[[RawImage], Any]) -> Callable[[CaseBuilder, Path], Tree]:
    """A manifest of any shape, stored under its own digest (so only its content is wrong)."""

    def make(k: CaseBuilder, path: Path) -> Tree:
        base = _image()
        value = doc(base)
        raw = value if isinstance(value, bytes) else jdump(value)
        bad = RawImage(base.layers, base.config_bytes, manifest=raw)
        return layout_files({"app:1": bad})

    return make


MANIFESTS: dict[str, tuple[Callable[[RawImage], Any], str]] = {
    "manifest-layers-mapping": (
        lambda b: b.manifest_doc() | {"layers": {"a": b.layers[0].descriptor()}},
        "layers is a mapping",
    ),
    "manifest-layers-numbers": (lambda b: b.manifest_doc() | {"layers": [1, 2]}, "Layers [1, 2]"),
    "manifest-config-string": (lambda b: b.manifest_doc() | {"config": b.config_digest}, "config is a string"),
    "manifest-config-digest-number": (
        lambda b: b.manifest_doc() | {"config": {"digest": 5, "size": 1}},
        "config digest 5",
    ),
    "manifest-config-digest-dotdot": (
        lambda b: b.manifest_doc() | {"config": {"digest": "sha256:../../../../etc/passwd"}},
        "config digest climbing to /etc/passwd",
    ),
    "manifest-schema1": (lambda b: {"schemaVersion": 1, "name": "x", "fsLayers": []}, "a schema 1 manifest"),
    "manifest-deep": (
        lambda b: b'{"schemaVersion": 2, "layers": ' + deep_json(100_000) + b"}",
        "layers nested 100,000 deep",
    ),
    "manifest-oversized-5mb": (lambda b: padded_json(b.manifest_doc(), 5 << 20), "a 5 MB manifest"),
    "manifest-oversized-40mb": (lambda b: padded_json(b.manifest_doc(), 40 << 20), "a 40 MB manifest"),
    "manifest-layer-size-1e20": (
        lambda b: b.manifest_doc() | {"layers": [b.layers[0].descriptor() | {"size": 10**20}] * 3},
        "layer sizes of 10^20 (beyond BIGINT)",
    ),
    "manifest-layer-size-float": (
        lambda b: b.manifest_doc() | {"layers": [b.layers[0].descriptor() | {"size": 1.5}]},
        "a layer size of 1.5",
    ),
    "manifest-10000-layers": (
        lambda b: b.manifest_doc() | {"layers": [b.layers[0].descriptor()] * 10_000},
        "10,000 layers",
    ),
    "manifest-annotations-string": (lambda b: b.manifest_doc() | {"annotations": "x"}, "manifest annotations a string"),
    "manifest-annotations-surrogates": (
        lambda b: b.manifest_doc() | {"annotations": {"\ud800": "\udc00", "k": "\x1b[31m"}},
        "manifest annotations with lone surrogates and escapes",
    ),
    "manifest-media-type-index": (
        lambda b: b.manifest_doc() | {"mediaType": OCI_INDEX},
        "a manifest claiming to be an index",
    ),
    "manifest-not-json": (lambda b: b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "a manifest that is binary junk"),
}
for _name, (_doc, _desc) in MANIFESTS.items():
    _dir(_name, _desc, _manifest(_doc))


def _config(doc: Callable[[list[RawLayer]], Any]) -> Callable[[CaseBuilder, Path], Tree]:
    def make(k: CaseBuilder, path: Path) -> Tree:
        layers = [small_layer()]
        value = doc(layers)
        return layout_files({"app:1": RawImage(layers, value if isinstance(value, bytes) else jdump(value))})

    return make


CONFIGS: dict[str, tuple[Callable[[list[RawLayer]], Any], str]] = {
    "config-env-string": (lambda ls: config_doc(ls, env="PATH=/bin"), "config Env is a string"),  # type: ignore[arg-type]
    "config-env-numbers": (lambda ls: config_doc(ls, env=[1, 2, None]), "config Env [1, 2, null]"),
    "config-labels-list": (lambda ls: config_doc(ls, labels=["a=b"]), "config Labels is a list"),
    "config-labels-odd-values": (
        lambda ls: config_doc(ls, labels={"a": 1, "b": None, "c": {"d": [1]}}),
        "Labels of numbers, null, objects",
    ),
    "config-entrypoint-string": (
        lambda ls: config_doc(ls, entrypoint="sh -c x", cmd=5),
        "Entrypoint a string, Cmd a number",
    ),
    "config-history-mapping": (lambda ls: config_doc(ls, history={"a": 1}), "history is a mapping"),
    "config-history-10000": (
        lambda ls: config_doc(ls, history=[{"created_by": f"RUN {i}", "empty_layer": True} for i in range(10_000)]),
        "10,000 history entries",
    ),
    "config-rootfs-string": (lambda ls: config_doc(ls, top={"rootfs": "layers"}), "rootfs is a string"),
    "config-created-odd": (
        lambda ls: config_doc(
            ls, top={"created": "99999-99-99T99:99:99Z"}, history=[{"created": 5, "created_by": "x"}]
        ),
        "created dates of the wrong form",
    ),
    "config-deep": (
        lambda ls: b'{"config": {"Labels": ' + deep_json(100_000, '{"a":', "}").replace(b"}", b"1}", 1) + b"}}",
        "a config nested 100,000 deep",
    ),
    "config-oversized-5mb": (lambda ls: config_doc(ls, labels={"pad": "x" * (5 << 20)}), "a 5 MB config"),
    "config-env-10000": (lambda ls: config_doc(ls, env=[f"V{i}=x" for i in range(10_000)]), "10,000 Env entries"),
    "config-exposed-ports-huge": (
        lambda ls: config_doc(ls, extra={"ExposedPorts": {"99999999999/tcp": {}, "1-1500000/udp": {}}}),
        "ExposedPorts beyond 65535",
    ),
    "config-surrogates": (
        lambda ls: config_doc(
            ls, env=["K\ud800=\udc00"], labels={"\ud800": "\udfff"}, extra={"User": "\ud800", "WorkingDir": "/\udc00"}
        ),
        "lone surrogates in config",
    ),
    "config-escapes": (
        lambda ls: config_doc(ls, labels={"title": "\x1b]0;pwned\x07\x1b[2J"}, cmd=["\x1b[31m", "\r\n"]),
        "terminal escapes in Labels and Cmd",
    ),
    "config-not-json": (lambda ls: b"\0\1\2" * 1000, "a config that is binary"),
    "config-healthcheck-odd": (
        lambda ls: config_doc(ls, healthcheck={"Test": "curl", "Interval": 10**30}),
        "Healthcheck of the wrong shape",
    ),
}
for _name, (_doc, _desc) in CONFIGS.items():
    _dir(_name, _desc, _config(_doc))


def _config_mismatch(k: CaseBuilder, path: Path) -> Tree:
    img = _image()
    files = layout_files({"app:1": img})
    files["blobs/" + img.config_digest.replace(":", "/")] = b'{"config": {}}'
    return files


_dir("config-blob-mismatch", "the config blob does not match its digest", _config_mismatch)


def _nested_indexes(k: CaseBuilder, path: Path) -> Tree:
    item: RawImage | RawIndex = _image()
    for _ in range(100):
        item = RawIndex([(item, {"os": "linux", "architecture": "amd64"})])  # type: ignore[list-item]
    return layout_files({"app:1": item})


_dir("index-nested-100", "an index of an index … 100 deep", _nested_indexes)
_dir(
    "index-platform-wrong-shape",
    "index children whose platform is a string or has numbers",
    lambda k, p: layout_files(
        {"app:1": RawIndex([(_image(), "linux"), (_image(cmd=["x"]), {"os": 5, "architecture": ["a"]})])}  # type: ignore[list-item]
    ),
)
_dir(
    "index-1000-children",
    "an index of 1,000 platform images",
    lambda k, p: layout_files(
        {"app:1": RawIndex([(_image(cmd=[str(i)]), {"os": "linux", "architecture": f"a{i}"}) for i in range(1000)])}
    ),
)
_dir(
    "index-child-missing",
    "an index whose child manifest is missing",
    lambda k, p: _without_blob(RawIndex([(c := _image(cmd=["gone"]), None)]), c.digest),
)
_dir("layout-empty-dir", "an empty directory", lambda k, p: {})
_dir(
    "layout-only-blobs",
    "blobs but no index.json",
    lambda k, p: {n: d for n, d in layout_files({"a:1": _image()}).items() if n != "index.json"},
)


# -- docker save --------------------------------------------------------------------------------
def _save(
    manifest: Callable[[dict[str, Any], CaseBuilder, Path], Any], as_dir: bool = False
) -> Callable[[CaseBuilder, Path], Any]:
    def make(k: CaseBuilder, path: Path) -> Any:
        img = _image()
        files = docker_save_files({"app:1": img})
        good = {
            "Config": img.config_digest[7:] + ".json",
            "RepoTags": ["app:1"],
            "Layers": [n for n in files if n.endswith("layer.tar")],
        }
        files["manifest.json"] = jdump(manifest(good, k, path))
        return files if as_dir else tree_tar(files)

    return make


def _climb(k: CaseBuilder, base: Path, name: str, content: bytes, rel: bool) -> str:
    m = k.marker(name, content)
    return os.path.relpath(m, base) if rel else str(m)


SAVES: dict[str, tuple[Callable[[dict[str, Any], CaseBuilder, Path], Any], str]] = {
    "save-manifest-object": (lambda g, k, p: g, "docker save manifest.json is an object"),
    "save-manifest-number": (lambda g, k, p: 5, "manifest.json is a number"),
    "save-manifest-numbers": (lambda g, k, p: [1, 2], "manifest.json is [1, 2]"),
    "save-config-dotdot": (lambda g, k, p: [g | {"Config": "../../x.json"}], "Config: ../../x.json"),
    "save-config-marker-abs": (
        lambda g, k, p: [g | {"Config": _climb(k, p, "config.json", _image(env=["X=1"]).config_bytes, False)}],
        "Config: an absolute path to a marker",
    ),
    "save-config-number": (lambda g, k, p: [g | {"Config": 1}], "Config: 1"),
    "save-config-missing": (lambda g, k, p: [g | {"Config": "nope.json"}], "Config names a missing member"),
    "save-repotags-numbers": (lambda g, k, p: [g | {"RepoTags": [1]}], "RepoTags: [1]"),
    "save-repotags-string": (lambda g, k, p: [g | {"RepoTags": "app:1"}], "RepoTags is a string"),
    "save-repotags-nulls": (lambda g, k, p: [g | {"RepoTags": [None, "app:2"]}], "RepoTags: [null, …]"),
    "save-repotags-odd": (
        lambda g, k, p: [g | {"RepoTags": ["app:\n1", "\x1b[31m:x", "\ud800:1", "noTag", ":"]}],
        "RepoTags with newline, escapes, surrogate, no tag",
    ),
    "save-layers-numbers": (lambda g, k, p: [g | {"Layers": [1, 2]}], "Layers: [1, 2]"),
    "save-layers-string": (lambda g, k, p: [g | {"Layers": "x"}], "Layers is a string"),
    "save-layers-marker-rel": (
        lambda g, k, p: [g | {"Layers": [_climb(k, p, "layer.tar", files_tar({"a": b"1"}), True)]}],
        "Layers: a relative path climbing to a marker",
    ),
    "save-layers-marker-abs": (
        lambda g, k, p: [g | {"Layers": [_climb(k, p, "layer.tar", files_tar({"a": b"1"}), False)]}],
        "Layers: an absolute path to a marker",
    ),
    "save-entry-mapping-fields": (
        lambda g, k, p: [{"Config": {"a": 1}, "RepoTags": {"a": 1}, "Layers": {"a": 1}}],
        "every field of the entry a mapping",
    ),
}
for _name, (_m, _desc) in SAVES.items():
    _tar(_name, _desc, _save(_m))

_dir(
    "save-dir-config-marker-rel",
    "an extracted docker save directory whose Config climbs to a marker",
    _save(lambda g, k, p: [g | {"Config": _climb(k, p, "config.json", _image(env=["X=1"]).config_bytes, True)}], True),
)
_dir(
    "save-dir-config-marker-abs",
    "an extracted docker save directory whose Config is an absolute marker path",
    _save(lambda g, k, p: [g | {"Config": _climb(k, p, "config.json", _image(env=["X=1"]).config_bytes, False)}], True),
)
_dir(
    "save-dir-layers-marker-rel",
    "an extracted docker save directory whose Layers climb to a marker",
    _save(lambda g, k, p: [g | {"Layers": [_climb(k, p, "layer.tar", files_tar({"a": b"1"}), True)]}], True),
)
_dir(
    "save-dir-config-etc-passwd",
    "an extracted docker save directory whose Config is /etc/passwd",
    _save(lambda g, k, p: [g | {"Config": "/etc/passwd"}], True),
)


def _save_symlink_member(k: CaseBuilder, path: Path) -> bytes:
    img = _image()
    files: dict[str, Any] = docker_save_files({"app:1": img})
    m = k.marker("config.json", img.config_bytes)
    files[img.config_digest[7:] + ".json"] = Link(str(m))
    return tree_tar(files)


_tar("save-config-symlink-member", "the Config member is a symlink member to a marker", _save_symlink_member)


def _save_repeated(k: CaseBuilder, path: Path) -> bytes:
    big = RawLayer.of(files_tar({"big.bin": b"\0" * (10 << 20)}), "none")
    img = RawImage([big])
    files = docker_save_files({"app:1": img})
    layer = next(n for n in files if n.endswith("layer.tar"))
    files["manifest.json"] = jdump(
        [{"Config": img.config_digest[7:] + ".json", "RepoTags": ["app:1"], "Layers": [layer] * 100}]
    )
    return tree_tar(files)


_tar("save-layer-listed-100-times", "one 10 MB layer listed 100 times (1 GB read to list one tag)", _save_repeated)
_tar(
    "save-manifest-oversized",
    "a 40 MB manifest.json",
    lambda k, p: tree_tar(
        docker_save_files(
            {"app:1": _image()}, manifest=[{"Config": "x", "RepoTags": ["a:1"], "Layers": [], "pad": "x" * (40 << 20)}]
        )
    ),
)


# -- OCI archives ------------------------------------------------------------------------------
def _archive(mutate: Callable[[dict[str, Any], CaseBuilder], Any]) -> Callable[[CaseBuilder, Path], bytes]:
    def make(k: CaseBuilder, path: Path) -> bytes:
        files = layout_files({"app:1": _image()})
        out = mutate(files, k)
        return out if isinstance(out, bytes) else tree_tar(out)

    return make


def _members(files: dict[str, Any]) -> list[Member]:
    return [Member(n, d) for n, d in sorted(files.items())]


ARCHIVES: dict[str, tuple[Callable[[dict[str, Any], CaseBuilder], Any], str]] = {
    "archive-index-list": (lambda f, k: f | {"index.json": b"[]"}, "an OCI archive whose index.json is a list"),
    "archive-index-number": (lambda f, k: f | {"index.json": b"7"}, "an OCI archive whose index.json is a number"),
    "archive-dotdot-members": (
        lambda f, k: tar_stream([Member("../" + n, d) for n, d in f.items()]),
        "members named ../index.json, ../blobs/…",
    ),
    "archive-absolute-members": (
        lambda f, k: tar_stream([Member("/" + n, d) for n, d in f.items()]),
        "members named /index.json",
    ),
    "archive-index-symlink-abs": (
        lambda f, k: f | {"index.json": Link(str(k.marker("index.json", f["index.json"])))},
        "index.json is a symlink member to a marker",
    ),
    "archive-blob-hardlink-passwd": (
        lambda f, k: tar_stream(
            [
                *_members({n: d for n, d in f.items() if not n.startswith("blobs/")}),
                Member("blobs/sha256/" + "0" * 64, type=tarfile.LNKTYPE, linkname="/etc/passwd"),
            ]
        ),
        "a blob member hard-linked to /etc/passwd",
    ),
    "archive-30000-members": (
        lambda f, k: tar_stream(_members(f) + [Member(f"junk/{i}", b"") for i in range(30_000)]),
        "30,000 members",
    ),
    "archive-gzipped": (lambda f, k: gz(tree_tar(f)), "an OCI archive compressed with gzip"),
    "archive-truncated": (lambda f, k: tree_tar(f)[: len(tree_tar(f)) // 2 + 100], "an OCI archive cut in the middle"),
    "archive-index-repeated-1000": (
        lambda f, k: tar_stream(_members(f) + [Member("index.json", b"[1]")] * 1000),
        "index.json given 1,000 more times",
    ),
    "archive-index-declares-1tb": (
        lambda f, k: tar_stream([Member("index.json", f["index.json"], size=1 << 40)], end=False),
        "index.json declaring 1 TB, then the archive ends",
    ),
    "archive-non-utf8-names": (
        lambda f, k: tar_stream(
            [Member(b"\xff\xfe/" + n.encode(), d) for n, d in f.items()] + _members(f), tarfile.GNU_FORMAT
        ),
        "members with non-UTF-8 names",
    ),
    "archive-pax-huge-header": (
        lambda f, k: tar_stream(
            [
                Member("index.json", f["index.json"], pax={"comment": "x" * (8 << 20)}),
                *_members({n: d for n, d in f.items() if n != "index.json"}),
            ]
        ),
        "an 8 MB PAX header before index.json",
    ),
}
for _name, (_mut, _desc) in ARCHIVES.items():
    _tar(_name, _desc, _archive(_mut))

_tar("file-not-a-tar", "a .tar file of random bytes", lambda k, p: bytes(range(256)) * 400)
_tar("file-empty", "an empty .tar file", lambda k, p: b"")
_tar(
    "file-zstd-archive",
    "a .tar.zst OCI archive",
    lambda k, p: zst(tree_tar(layout_files({"a:1": _image()}))),
    ext=".tar.zst",
)

for _label, _odd in (
    ("newline", b"a\nb"),
    ("escape", b"\x1b[31m"),
    ("rtl", "\u202e".encode()),
    ("non-utf8", b"\xff\xfe"),
):
    _dir(
        f"layout-name-{_label}",
        f"a valid layout directory whose name holds {_odd!r}",
        lambda k, p: layout_files({"app:1": _image()}),
        ok=True,
        odd=_odd,
    )
    _tar(
        f"archive-name-{_label}",
        f"a valid OCI archive whose name holds {_odd!r}",
        lambda k, p: tree_tar(layout_files({"app:1": _image()})),
        ok=True,
        odd=_odd,
    )
_dir(
    "layout-valid-control",
    "a valid layout (control: must give facts)",
    lambda k, p: layout_files({"app:1": _image()}),
    ok=True,
)
_tar(
    "save-valid-control",
    "a valid docker save tarball (control)",
    lambda k, p: tree_tar(docker_save_files({"app:1": _image()})),
    ok=True,
)
