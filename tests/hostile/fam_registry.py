"""Layers (`layers`): images in the real registry fixture read with layer_scan on, and a subset of the
same layers in OCI layouts, OCI archives and docker save tarballs (scanned where the config model lets
layouts set `layer_scan`; otherwise only their rows are checked); and the image part of `secrets`.

layers: gzip and zstd bombs (one member declaring 256 MB, many members, many frames), truncated
and corrupt gzip, trailing garbage, GNU and PAX sparse members declaring a petabyte, sizes of
2^80 in base-256, 5,000 and 20,000 files, 5,000 whiteouts over 5,000 files, odd whiteouts,
non-UTF-8 and escape-laden names, a 100 KB path, odd links and devices, mislabelled media types
(gzip as zstd, zstd as gzip, tar as gzip, gzip as tar, octet-stream, bzip2), empty, JSON and
random layers, 400 layers in one image, tags YAML would misread, 100-platform indexes.

secrets (registry and layout carriers): canaries in config Env (by name, in URLs, in JSON),
Labels, Cmd/Entrypoint exec forms, Healthcheck, history `created_by` (BuildKit's `|1 NPM_TOKEN=…`),
manifest and index annotations, OnBuild, layer file contents, and ref names with credentials.
"""

from __future__ import annotations

import bz2
import random
import tarfile
from collections.abc import Callable
from typing import Any

from hostile.blobs import (
    LAYER_GZIP,
    LAYER_TAR,
    LAYER_ZSTD,
    Member,
    RawImage,
    RawIndex,
    RawLayer,
    _gz_zeros,
    _zst_zeros,
    config_doc,
    docker_save_files,
    files_tar,
    gnu_sparse_header,
    gz,
    gzip_bomb,
    header,
    jdump,
    layout_files,
    small_layer,
    tar_stream,
    tree_tar,
    zst,
    zstd_bomb,
)
from hostile.model import CaseBuilder, register

L = "layers"
BOMB = 256 << 20  # uncompressed bytes of each bomb (the compressed blob is well under 1 MB)


def _layer_case(name: str, description: str, layers: Callable[[], list[RawLayer]], facts: bool = True) -> None:
    def build(k: CaseBuilder) -> None:
        ls = layers()
        k.registry_image(RawImage(ls, config_doc(ls, labels={"case": k.case.id})))
        k.expect("image_ok")
        if facts:
            k.expect("layer_facts")

    register(L, name, "registry", description, build)


def _one(blob: Callable[[], bytes], media: str = LAYER_GZIP) -> Callable[[], list[RawLayer]]:
    return lambda: [RawLayer(blob(), media)]


def _many_members_bomb() -> bytes:
    out = b""
    for i in range(BOMB // (16 << 20)):
        out += gz(header(Member(f"f{i}.bin", size=16 << 20))) + _gz_zeros()
    return out


def _zstd_frames_bomb() -> bytes:
    out = b""
    for i in range(BOMB // (16 << 20)):
        out += zst(header(Member(f"f{i}.bin", size=16 << 20))) + _zst_zeros()
    return out


def _bad_crc() -> bytes:
    data = bytearray(gz(files_tar({"a.txt": b"hello" * 1000})))
    data[-8:-4] = b"\xde\xad\xbe\xef"
    return bytes(data)


def _sparse_gnu() -> bytes:
    head = gnu_sparse_header("sparse.img", 10**15, 512, [(10**15 - 512, 512)])
    return gz(head + b"\xab" * 512 + b"\0" * 1024)


def _sparse_pax() -> bytes:
    pax = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "sparse.img",
        "GNU.sparse.realsize": str(10**15),
    }
    sparse_map = b"1\n999999999999488\n512\n".ljust(512, b"\0")
    return gz(tar_stream([Member("GNUSparseFile.0/sparse.img", sparse_map + b"\xcd" * 512, pax=pax)]))


def _base256_truncated() -> bytes:
    return gz(header(Member("huge.bin", size=2**80), tarfile.GNU_FORMAT) + b"\0" * 4096)


def _pax_size() -> bytes:
    return gz(tar_stream([Member("huge.bin", b"", pax={"size": str(10**20)})], end=False) + b"\0" * 4096)


def _whiteouts() -> list[RawLayer]:
    files = {f"d{i % 50}/f{i}": b"x" * 100 for i in range(5000)}
    wh = [Member(f"d{i % 50}/.wh.f{i}", b"") for i in range(5000)] + [
        Member(f"d{j}/.wh..wh..opq", b"") for j in range(50)
    ]
    return [RawLayer.of(files_tar(files)), RawLayer.of(tar_stream(wh))]


def _odd_whiteouts() -> bytes:
    names = [
        ".wh..wh..opq",
        ".wh...",
        "/.wh.etc",
        ".wh.",
        "a/../.wh.b",
        ".wh.." + "/x",
        "x/.wh..wh..opq/.wh.y",
        "./.wh..wh..opq",
        "../.wh.root",
    ]
    return gz(tar_stream([Member(n, b"") for n in names]))


def _odd_names(gnu: bool) -> bytes:
    names: list[str | bytes] = [
        b"\xff\xfe/f",
        b"dir\xed\xa0\x80/x",
        b"a\nb",
        b"\x1b[31mred",
        "\u202eexe.txt".encode(),
        b"\r",
    ]
    fmt = tarfile.GNU_FORMAT if gnu else tarfile.PAX_FORMAT
    if not gnu:
        names = [n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names]
    return gz(tar_stream([Member(n, b"data") for n in names], fmt))


def _links() -> bytes:
    members = [
        Member("loop1", type=tarfile.SYMTYPE, linkname="loop2"),
        Member("loop2", type=tarfile.SYMTYPE, linkname="loop1"),
        Member("hard-missing", type=tarfile.LNKTYPE, linkname="does/not/exist"),
        Member("hard-passwd", type=tarfile.LNKTYPE, linkname="../../etc/passwd"),
        Member("shadow", type=tarfile.SYMTYPE, linkname="/etc/shadow"),
        Member("chr", type=tarfile.CHRTYPE),
        Member("blk", type=tarfile.BLKTYPE),
        Member("fifo", type=tarfile.FIFOTYPE),
        Member("cont", b"contiguous", type=tarfile.CONTTYPE),
    ]
    return gz(tar_stream(members))


_layer_case("gzip-bomb", "a gzip layer of one member declaring 256 MB of zeros", _one(lambda: gzip_bomb(BOMB)))
_layer_case("gzip-bomb-many-members", "16 files of 16 MB zeros, one gzip member each", _one(_many_members_bomb))
_layer_case("zstd-bomb", "a zstd layer declaring 256 MB of zeros", _one(lambda: zstd_bomb(BOMB), LAYER_ZSTD))
_layer_case("zstd-bomb-frames", "16 files of 16 MB zeros, one zstd frame each", _one(_zstd_frames_bomb, LAYER_ZSTD))
_layer_case(
    "gzip-truncated",
    "a gzip layer cut in the middle",
    _one(lambda: gz(files_tar({f"f{i}": b"y" * 999 for i in range(200)}))[:3000]),
)
_layer_case(
    "gzip-trailing-garbage",
    "a complete gzip layer followed by junk",
    _one(lambda: gz(files_tar({"a": b"a"})) + random.Random(3).randbytes(5000)),
)
_layer_case("gzip-bad-crc", "a gzip layer whose CRC is wrong", _one(_bad_crc))
_layer_case("sparse-gnu-1pb", "an old-GNU sparse member declaring a petabyte", _one(_sparse_gnu))
_layer_case("sparse-pax-1pb", "a PAX 1.0 sparse member declaring a petabyte", _one(_sparse_pax))
_layer_case("size-2-80-base256", "a member declaring 2^80 bytes (base-256), the stream ends", _one(_base256_truncated))
_layer_case("size-pax-1e20", "a PAX size of 10^20", _one(_pax_size))
_layer_case(
    "files-5000",
    "a layer of 5,000 files",
    lambda: [RawLayer.of(files_tar({f"d{i % 100}/f{i}": b"z" for i in range(5000)}))],
)
_layer_case(
    "files-20000-empty",
    "a layer of 20,000 empty files",
    lambda: [RawLayer.of(tar_stream([Member(f"e/{i}", b"") for i in range(20_000)]))],
)
_layer_case("whiteouts-5000", "5,000 whiteouts and 50 opaque directories over 5,000 files", _whiteouts)
_layer_case("whiteouts-odd", "whiteouts of ., .., /, the root and nested markers", _one(_odd_whiteouts))
_layer_case("names-non-utf8", "member names with non-UTF-8 bytes (GNU format)", _one(lambda: _odd_names(True)))
_layer_case("names-escapes", "member names with newlines, escapes, U+202E (PAX)", _one(lambda: _odd_names(False)))
_layer_case(
    "path-100k", "a member with a 100 KB path (PAX)", _one(lambda: gz(tar_stream([Member("p/" * 50_000 + "f", b"x")])))
)
_layer_case("links-and-devices", "symlink loops, dangling and climbing hard links, devices, FIFOs", _one(_links))
_layer_case("gzip-labelled-zstd", "a gzip layer labelled zstd", _one(lambda: gz(files_tar({"a": b"1"})), LAYER_ZSTD))
_layer_case("zstd-labelled-gzip", "a zstd layer labelled gzip", _one(lambda: zst(files_tar({"a": b"2"})), LAYER_GZIP))
_layer_case("tar-labelled-gzip", "a plain tar labelled gzip", _one(lambda: files_tar({"a": b"3"}), LAYER_GZIP))
_layer_case(
    "gzip-labelled-tar", "a gzip layer labelled as a plain tar", _one(lambda: gz(files_tar({"a": b"4"})), LAYER_TAR)
)
_layer_case("empty-blob", "an empty blob labelled gzip", _one(lambda: b"", LAYER_GZIP))
_layer_case("json-layer", "a gzip of JSON, labelled as a layer", _one(lambda: gz(b'{"not": "a tar"}' * 100)))
_layer_case(
    "random-layer", "random bytes labelled as a plain tar", _one(lambda: random.Random(4).randbytes(100_000), LAYER_TAR)
)
_layer_case(
    "octet-stream",
    "a real layer labelled application/octet-stream",
    _one(lambda: gz(files_tar({"a": b"5"})), "application/octet-stream"),
    facts=False,
)
_layer_case(
    "bzip2-layer",
    "a bzip2 layer (tar+bzip2)",
    _one(lambda: bz2.compress(files_tar({"a": b"6"})), "application/vnd.oci.image.layer.v1.tar+bzip2"),
)
_layer_case("only-end-blocks", "a layer of two zero blocks", _one(lambda: gz(b"\0" * 1024)))
_layer_case(
    "layers-400",
    "an image of 400 small layers",
    lambda: [RawLayer.of(files_tar({f"l{i}/f": b"%d" % i})) for i in range(400)],
)


def _layout_layer_case(name: str, description: str, layers: Callable[[], list[RawLayer]], form: str = "dir") -> None:
    """The same layers in an image on disk (layouts scan layers too where the config allows `layer_scan`)."""

    def build(k: CaseBuilder) -> None:
        ls = layers()
        img = RawImage(ls, config_doc(ls, labels={"case": k.case.id}))
        if form == "dir":
            k.layout_dir(layout_files({"app:1": img}))
        elif form == "archive":
            k.layout_file(tree_tar(layout_files({"app:1": img})), ".tar")
        else:
            k.layout_file(tree_tar(docker_save_files({"app:1": img})), ".tar")
        k.expect("image_ok")
        k.expect("layer_facts")

    register(L, name, "layout", description + f" ({'OCI layout' if form == 'dir' else form})", build)


_layout_layer_case("layout-gzip-bomb", "a gzip bomb layer of 256 MB", _one(lambda: gzip_bomb(BOMB)))
_layout_layer_case("archive-gzip-bomb", "a gzip bomb layer of 256 MB", _one(lambda: gzip_bomb(BOMB)), "archive")
_layout_layer_case("layout-zstd-bomb", "a zstd bomb layer of 256 MB", _one(lambda: zstd_bomb(BOMB), LAYER_ZSTD))
_layout_layer_case("layout-gzip-bomb-many-members", "16 gzip members of 16 MB zeros", _one(_many_members_bomb))
_layout_layer_case(
    "layout-gzip-truncated", "a truncated gzip layer", _one(lambda: gz(files_tar({"f": b"y" * 99_999}))[:2000])
)
_layout_layer_case("layout-sparse-gnu-1pb", "an old-GNU sparse member declaring a petabyte", _one(_sparse_gnu))
_layout_layer_case("layout-size-2-80-base256", "a member declaring 2^80 bytes", _one(_base256_truncated))
_layout_layer_case(
    "layout-files-5000",
    "a layer of 5,000 files",
    lambda: [RawLayer.of(files_tar({f"d{i % 100}/f{i}": b"w" for i in range(5000)}))],
)
_layout_layer_case("layout-whiteouts-5000", "5,000 whiteouts over 5,000 files", _whiteouts)
_layout_layer_case("layout-names-non-utf8", "member names with non-UTF-8 bytes", _one(lambda: _odd_names(True)))
_layout_layer_case(
    "layout-gzip-labelled-zstd", "a gzip layer labelled zstd", _one(lambda: gz(files_tar({"a": b"7"})), LAYER_ZSTD)
)
_layout_layer_case(
    "layout-tar-labelled-gzip", "a plain tar labelled gzip", _one(lambda: files_tar({"a": b"8"}), LAYER_GZIP)
)
_layout_layer_case("layout-empty-blob", "an empty layer blob labelled gzip", _one(lambda: b"", LAYER_GZIP))
_layout_layer_case(
    "layout-random-layer", "random bytes labelled tar", _one(lambda: random.Random(5).randbytes(50_000), LAYER_TAR)
)
_layout_layer_case("layout-links-and-devices", "links, devices, FIFOs", _one(_links))
_layout_layer_case(
    "save-huge-declared-member",
    "an uncompressed layer whose member declares 1 TB, then the stream ends",
    _one(lambda: header(Member("huge.bin", size=1 << 40)) + b"\0" * 4096, LAYER_TAR),
    "docker save",
)
_layout_layer_case(
    "save-files-5000",
    "an uncompressed layer of 5,000 files",
    lambda: [RawLayer(files_tar({f"s{i % 50}/f{i}": b"v" for i in range(5000)}), LAYER_TAR)],
    "docker save",
)


def _tags(k: CaseBuilder) -> None:
    k.registry_image(
        RawImage([small_layer()], config_doc([small_layer()], labels={"case": "tags"})),
        ["null", "true", "1", "0x10", "NaN", "t" * 128],
    )
    k.expect("image_ok")


register(L, "odd-tags", "registry", "tags null, true, 1, 0x10, NaN and a 128-character tag", _tags)


def _index_100(k: CaseBuilder) -> None:
    children = []
    for i in range(100):
        ls = [small_layer({f"p{i}": b"%d" % i})]
        children.append((RawImage(ls, config_doc(ls, cmd=[str(i)])), {"os": "linux", "architecture": f"arch{i}"}))
    k.registry_image(RawIndex(children))
    k.expect("image_ok")


register(L, "index-100-platforms", "registry", "an index of 100 platform images (each scanned)", _index_100)


def _config_case(name: str, description: str, **config: Any) -> None:
    def build(k: CaseBuilder) -> None:
        ls = [small_layer()]
        k.registry_image(RawImage(ls, config_doc(ls, **config)))
        k.expect("image_ok")

    register(L, name, "registry", description, build)


_config_case(
    "config-surrogates",
    "config Labels, Env and User of lone surrogates",
    labels={"\ud800": "\udc00", "k": "\udfff\ud800"},
    env=["K\ud800=v\udc00"],
    extra={"User": "\ud800"},
)
_config_case("config-env-10000", "a config of 10,000 Env entries", env=[f"V{i}=x" for i in range(10_000)])
_config_case(
    "config-history-10000",
    "a config of 10,000 history entries",
    history=[{"created_by": f"RUN {i}", "empty_layer": True} for i in range(10_000)] + [{"created_by": "ADD"}],
)
_config_case(
    "config-numbers",
    "ExposedPorts and created beyond every range",
    extra={"ExposedPorts": {"99999999999/tcp": {}}},
    top={"created": "99999-01-01T00:00:00Z"},
)


def _annotations_huge(k: CaseBuilder) -> None:
    k.registry_image(RawImage([small_layer()], annotations={f"a{i}": "v" * 100 for i in range(20_000)}))
    k.expect("image_ok")


register(L, "manifest-annotations-2mb", "registry", "a manifest with 20,000 annotations (2 MB)", _annotations_huge)


# -- secrets in images -------------------------------------------------------------------------
S = "secrets"


def _image_secret(name: str, kind: str, make: Callable[[str], RawImage | RawIndex]) -> None:
    def build(k: CaseBuilder) -> None:
        k.registry_image(make(k.canary(kind)))
        k.expect("image_ok")

    register(S, f"image-{name}", "registry", kind, build)


def _cfg(**config: Any) -> Callable[[str], RawImage]:
    def make(t: str) -> RawImage:
        ls = [small_layer()]

        def sub(v: Any) -> Any:
            if isinstance(v, str):
                return v.replace("@T", t)
            if isinstance(v, list):
                return [sub(x) for x in v]
            if isinstance(v, dict):
                return {sub(a): sub(b) for a, b in v.items()}
            return v

        return RawImage(ls, config_doc(ls, **{key: sub(v) for key, v in config.items()}))

    return make


IMAGE_SECRETS: dict[str, tuple[str, Callable[[str], RawImage | RawIndex]]] = {
    "env-password": ("image config Env DB_PASSWORD=…", _cfg(env=["DB_PASSWORD=@T"])),
    "env-dsn": ("image config Env DATABASE_URL=postgres://u:…@db", _cfg(env=["DATABASE_URL=postgres://app:@T@db/app"])),
    "env-redis": (
        "image config Env REDIS_URL=redis://:…@host (empty user)",
        _cfg(env=["REDIS_URL=redis://:@T@cache:6379"]),
    ),
    "env-json": ('image config Env SETTINGS={"password": "…"}', _cfg(env=['SETTINGS={"password": "@T"}'])),
    "env-curl": ("image config Env PROBE=curl -uuser:…", _cfg(env=["PROBE=curl -uadmin:@T http://x"])),
    "labels-password": ("image config Labels {password: …}", _cfg(labels={"password": "@T"})),
    "labels-source-url": (
        "image config Labels org.opencontainers.image.source https://user:…@github",
        _cfg(labels={"org.opencontainers.image.source": "https://ci:@T@github.com/org/app"}),
    ),
    "cmd-exec-token": ('image config Cmd ["--token", "…"]', _cfg(cmd=["serve", "--token", "@T"])),
    "entrypoint-curl": (
        "image config Entrypoint [sh, -c, curl -uuser:…]",
        _cfg(entrypoint=["sh", "-c", "curl -uadmin:@T x"]),
    ),
    "healthcheck-curl": (
        "image config Healthcheck [CMD-SHELL, curl -u user:…]",
        _cfg(healthcheck={"Test": ["CMD-SHELL", "curl -u admin:@T http://localhost"]}),
    ),
    "history-build-arg": (
        "image history created_by |1 NPM_TOKEN=… /bin/sh -c npm ci",
        _cfg(history=[{"created_by": "|1 NPM_TOKEN=@T /bin/sh -c npm ci"}]),
    ),
    "history-server-password": (
        "image history created_by RUN … Server=db;Password=…",
        _cfg(history=[{"created_by": 'RUN /bin/sh -c sqlcmd "Server=db;Password=@T"'}]),
    ),
    "history-comment": (
        "image history comment holding API_TOKEN=…",
        _cfg(history=[{"created_by": "ADD x", "comment": "API_TOKEN=@T"}]),
    ),
    "onbuild": ("image config OnBuild [ENV API_TOKEN=…]", _cfg(extra={"OnBuild": ["ENV API_TOKEN=@T"]})),
    "manifest-annotation": (
        "manifest annotation com.example.token: …",
        lambda t: RawImage([small_layer()], annotations={"com.example.token": t}),
    ),
    "index-annotation": (
        "index annotation api_key: …",
        lambda t: RawIndex(
            [(_cfg(cmd=["idx"])(t), {"os": "linux", "architecture": "amd64"})], annotations={"api_key": t}
        ),
    ),
    "layer-file-content": (
        "content of a .env file inside a layer (PASSWORD=…), never stored",
        lambda t: RawImage([small_layer({"app/.env": f"PASSWORD={t}\n".encode()})]),
    ),
}
for _name, (_kind, _make) in IMAGE_SECRETS.items():
    _image_secret(_name, _kind, _make)


def _layout_secret(name: str, kind: str, make: Callable[[str], dict[str, Any] | bytes], ext: str = "") -> None:
    def build(k: CaseBuilder) -> None:
        out = make(k.canary(kind))
        if isinstance(out, bytes):
            k.layout_file(out, ext)
        else:
            k.layout_dir(out)
        k.expect("image_ok")

    register(S, f"layout-{name}", "layout", kind, build)


_layout_secret(
    "env-password",
    "OCI layout config Env PASSWORD=…",
    lambda t: layout_files({"app:1": _cfg(env=[f"PASSWORD={t}"])(t)}),
)
_layout_secret(
    "labels-token",
    "docker save config Labels api.token: …",
    lambda t: tree_tar(docker_save_files({"app:1": _cfg(labels={"api.token": "@T"})(t)})),
    ".tar",
)
_layout_secret(
    "cmd-token",
    "OCI archive config Cmd [--token, …]",
    lambda t: tree_tar(layout_files({"app:1": _cfg(cmd=["--token", "@T"])(t)})),
    ".tar",
)
_layout_secret(
    "history-build-arg",
    "OCI layout history |1 GITHUB_TOKEN=… /bin/sh -c make",
    lambda t: layout_files({"app:1": _cfg(history=[{"created_by": "|1 GITHUB_TOKEN=@T /bin/sh -c make"}])(t)}),
)
_layout_secret(
    "index-entry-annotation",
    "an OCI layout index.json entry annotation password: …",
    lambda t: (
        layout_files({"app:1": (img := _cfg(cmd=["ann"])(t))})
        | {
            "index.json": jdump(
                {
                    "manifests": [
                        img.descriptor()
                        | {"annotations": {"org.opencontainers.image.ref.name": "app:1", "password": t}}
                    ]
                }
            )
        }
    ),
)
