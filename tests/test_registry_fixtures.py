"""The registry fixtures and the image builder, checked by an independent tool (skopeo).

Why: the crawler's tests will trust these fixtures, so the fixtures must be right by a
measure that is not our own code. skopeo (containers/image) reads what we pushed and
what we wrote to disk, verifies digests when it copies, and speaks Basic and token auth.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from support.oci.builder import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    MTIME,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    Index,
    Layer,
)
from support.oci.catalogue import APP_CONF_V1, WHITEOUT_WASTED_BYTES, _catalogue, test_images, upx_elf
from support.oci.layouts import write_docker_save, write_oci_archive, write_oci_layout
from support.oci.proxy import RegistryProxy
from support.oci.push import PushError
from support.oci.registry import Registry
from support.registry_fixtures import PUSHED_REFS, PUSHED_REPOS, expected_image

IMAGES = test_images()
ACCEPT = {"Accept": ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])}
Proxies = Callable[[Registry], RegistryProxy]


def skopeo(*args: str, ok: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(["skopeo", *args], capture_output=True, timeout=60)
    if ok and proc.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed: {proc.stderr.decode()[-800:]}")
    return proc


def remote(reg: Registry | RegistryProxy, ref: str, *flags: str, creds: bool = False, ok: bool = True) -> bytes | str:
    """`skopeo inspect FLAGS docker://HOST/ref` -> stdout (or stderr when `ok` is False and it failed)."""
    auth = ["--creds", f"{reg.username}:{reg.password}"] if creds else []
    proc = skopeo("inspect", "--tls-verify=false", *flags, *auth, f"docker://{reg.host}/{ref}", ok=ok)
    return proc.stdout if proc.returncode == 0 else proc.stderr.decode()


def sha(data: bytes | str) -> str:
    assert isinstance(data, bytes)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parallel(fn: Callable[[str], object], items: list[str]) -> list[object]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(fn, items))


# --- the pushed registry, read by skopeo --------------------------------------------------


def test_every_pushed_manifest_is_served_byte_for_byte(pushed_registry: Registry) -> None:
    assert set(pushed_registry.pushed) == set(PUSHED_REFS)
    raws = parallel(lambda ref: remote(pushed_registry, ref, "--raw"), list(PUSHED_REFS))
    for ref, raw in zip(PUSHED_REFS, raws, strict=True):
        item = IMAGES[PUSHED_REFS[ref]]
        assert raw == item.manifest_bytes, ref
        assert sha(raw) == item.digest == pushed_registry.pushed[ref], ref
    assert pushed_registry.pushed["test/single:1.0"] == pushed_registry.pushed["test/single:latest"]
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{pushed_registry.host}/test/single").stdout)
    assert sorted(tags["Tags"]) == ["1.0", "latest"]  # distribution 2.8 lists tags in storage order


def test_every_config_is_ours(pushed_registry: Registry) -> None:
    refs = [ref for ref in PUSHED_REFS if ref != "test/single:latest"]
    configs = parallel(lambda ref: remote(pushed_registry, ref, "--config", "--raw"), refs)
    for ref, config in zip(refs, configs, strict=True):
        assert config == expected_image(IMAGES[PUSHED_REFS[ref]]).config_bytes, ref
    seen = json.loads(remote(pushed_registry, "test/single:1.0", "--config"))["config"]
    single = IMAGES["single"]
    assert isinstance(single, Image)
    for key in ("User", "Env", "Entrypoint", "Cmd", "WorkingDir", "Labels", "ExposedPorts", "StopSignal"):
        assert seen[key] == single.container_config[key], key
    assert "DB_PASSWORD=hunter2" in seen["Env"]


@pytest.mark.parametrize("name", ["multiarch", "dockerv2"])
def test_index_children_by_digest_and_platform(pushed_registry: Registry, name: str) -> None:
    index = IMAGES[name]
    assert isinstance(index, Index)
    for child in index.images:
        assert remote(pushed_registry, f"test/{name}@{child.digest}", "--raw") == child.manifest_bytes
    arm = skopeo(
        "--override-arch", "arm64", "--override-variant", "v8",
        "inspect", "--tls-verify=false", "--config", "--raw", f"docker://{pushed_registry.host}/test/{name}:latest",
    )  # fmt: skip
    assert arm.stdout == expected_image(index, "arm64").config_bytes


def test_every_blob_survives_a_verifying_copy(pushed_registry: Registry, tmp_path: Path) -> None:
    """skopeo checks each blob's digest while copying: layers, configs and child manifests are intact."""
    policy = tmp_path / "policy.json"
    policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    src = f"docker://{pushed_registry.host}"
    parallel(
        lambda repo: skopeo(
            "--policy", str(policy), "copy", "--all", "--src-tls-verify=false", f"{src}/{repo}:latest",
            f"dir:{tmp_path / repo.replace('/', '_')}",
        ),
        PUSHED_REPOS,
    )  # fmt: skip
    zstd = IMAGES["zstd"]
    assert isinstance(zstd, Image)
    assert (tmp_path / "test_zstd" / zstd.layers[0].digest.removeprefix("sha256:")).read_bytes() == zstd.layers[0].blob


def test_registry_negotiates_manifests_by_accept(pushed_registry: Registry) -> None:
    """Distribution 2.8 facts a client must live with: no Accept -> OCI is 404, Docker v2 becomes schema 1."""
    base = f"{pushed_registry.url}/v2"
    bare = requests.get(f"{base}/test/multiarch/manifests/latest", timeout=10)
    assert bare.status_code == 404 and "accept header does not support OCI" in bare.text
    legacy = requests.get(f"{base}/test/emptylayer/manifests/latest", timeout=10)
    assert legacy.headers["Content-Type"] == "application/vnd.docker.distribution.manifest.v1+prettyjws"
    assert legacy.headers["Docker-Content-Digest"] != IMAGES["emptylayer"].digest
    for ref, name in PUSHED_REFS.items():
        repo, _, tag = ref.rpartition(":")
        head = requests.head(f"{base}/{repo}/manifests/{tag}", headers=ACCEPT, timeout=10)
        assert head.headers["Content-Type"] == IMAGES[name].media_type, ref
        assert head.headers["Docker-Content-Digest"] == IMAGES[name].digest, ref
    assert len(requests.get(f"{base}/test/single/tags/list?n=1", timeout=10).json()["tags"]) == 2  # no paging


def test_catalog_pages_with_small_n(pushed_registry: Registry) -> None:
    repos, pages, url = [], 0, f"{pushed_registry.url}/v2/_catalog?n=3"
    while url:
        resp = requests.get(url, timeout=10)
        resp.raise_for_status()
        repos += resp.json()["repositories"]
        pages += 1
        url = f"{pushed_registry.url}{resp.links['next']['url']}" if "next" in resp.links else ""
    assert repos == PUSHED_REPOS
    assert pages == 4


# --- auth ----------------------------------------------------------------------------------


def test_basic_registry_refuses_anonymous_and_accepts_credentials(basic_registry: Registry) -> None:
    digest = basic_registry.push("private/app", "1", IMAGES["distroless"])
    challenge = requests.get(f"{basic_registry.url}/v2/", timeout=10)
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "unauthorized" in str(remote(basic_registry, "private/app:1", "--raw", ok=False))
    assert sha(remote(basic_registry, "private/app:1", "--raw", creds=True)) == digest
    wrong = skopeo("inspect", "--tls-verify=false", "--creds", f"{basic_registry.username}:nope",
                   f"docker://{basic_registry.host}/private/app:1", ok=False)  # fmt: skip
    assert wrong.returncode != 0


def test_token_registry_runs_the_bearer_flow(token_registry: Registry) -> None:
    issuer = token_registry.issuer
    assert issuer is not None
    digest = token_registry.push("private/app", "1", IMAGES["single"])
    anon = requests.get(f"{token_registry.url}/v2/private/app/manifests/1", timeout=10)
    assert anon.status_code == 401
    challenge = anon.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{issuer.realm}"')
    assert f'service="{issuer.service}"' in challenge and 'scope="repository:private/app:pull"' in challenge

    assert "credentials" in str(remote(token_registry, "private/app:1", "--raw", ok=False))
    before = token_registry.token_requests
    assert sha(remote(token_registry, "private/app:1", "--raw", creds=True)) == digest
    assert token_registry.token_requests > before
    assert any(e.user == token_registry.username and "repository:private/app:pull" in e.scopes for e in issuer.log)

    client = token_registry.client()  # the catalog needs registry:catalog:* in the token
    catalog = client.request("GET", "/v2/_catalog", "registry:catalog:*")
    assert catalog.status_code == 200 and "private/app" in catalog.json()["repositories"]
    client.close()


def test_token_registry_enforces_the_access_claim(token_registry: Registry) -> None:
    issuer = token_registry.issuer
    assert issuer is not None
    issuer.grant = lambda user, kind, name, actions: [a for a in actions if a == "pull"]
    try:
        with pytest.raises(PushError, match="401"):
            token_registry.push("private/readonly", "1", IMAGES["zstd"])
    finally:
        issuer.grant = lambda user, kind, name, actions: actions
    assert token_registry.push("private/readonly", "1", IMAGES["zstd"]) == IMAGES["zstd"].digest


# --- the proxy -----------------------------------------------------------------------------


def test_proxy_forwards_and_counts(pushed_registry: Registry, registry_proxy: Proxies) -> None:
    proxy = registry_proxy(pushed_registry)
    assert remote(proxy, "test/single:1.0", "--raw") == IMAGES["single"].manifest_bytes
    assert proxy.manifest_gets >= 1
    remote(proxy, "test/single:1.0", "--config", "--raw")
    assert proxy.blob_gets >= 1
    skopeo("list-tags", "--tls-verify=false", f"docker://{proxy.host}/test/single")
    assert proxy.tags_requests == 1
    first = requests.get(f"{proxy.url}/v2/_catalog?n=3", timeout=10)
    assert first.links["next"]["url"].startswith("/v2/_catalog?")
    assert proxy.catalog_requests == 1 and ("GET", "/v2/_catalog?n=3") in proxy.requests
    assert requests.head(f"{proxy.url}/v2/test/single/manifests/1.0", headers=ACCEPT, timeout=10).headers[
        "Docker-Content-Digest"
    ]
    assert proxy.manifest_heads == 1


def test_proxy_rewrites_upload_locations(registry: Registry, registry_proxy: Proxies) -> None:
    """A push through the proxy: every upload PUT comes back to it, so Location was rewritten."""
    proxy = registry_proxy(registry)
    toolchain = IMAGES["toolchain"]
    assert proxy.push("proxied/app", "1", toolchain) == toolchain.digest
    assert proxy.count("upload", "POST") == proxy.count("upload", "PUT") == len(toolchain.blobs())
    assert registry.pushed["proxied/app:1"] == toolchain.digest
    assert remote(registry, "proxied/app:1", "--raw") == toolchain.manifest_bytes


def test_proxy_injects_failures(pushed_registry: Registry, registry_proxy: Proxies) -> None:
    proxy = registry_proxy(pushed_registry)
    proxy.fail_next(2, status=503, retry_after=2)
    answers = [requests.get(f"{proxy.url}/v2/", timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "2"
    assert [e.injected for e in proxy.log] == [True, True, False]

    proxy.fail_next(1, status=429, kinds={"blob"})
    config = expected_image(IMAGES["single"]).config_digest
    assert requests.get(f"{proxy.url}/v2/test/single/manifests/1.0", headers=ACCEPT, timeout=10).status_code == 200
    assert requests.get(f"{proxy.url}/v2/test/single/blobs/{config}", timeout=10).status_code == 429
    assert requests.get(f"{proxy.url}/v2/test/single/blobs/{config}", timeout=10).status_code == 200

    proxy.delay(0.3)
    start = time.monotonic()
    requests.get(f"{proxy.url}/v2/", timeout=10)
    assert time.monotonic() - start >= 0.3
    proxy.delay(0)


def test_proxy_tampers_manifests_and_a_real_client_notices(pushed_registry: Registry, registry_proxy: Proxies) -> None:
    proxy = registry_proxy(pushed_registry)
    proxy.tamper_manifests(True)
    single = IMAGES["single"]
    resp = requests.get(f"{proxy.url}/v2/test/single/manifests/1.0", headers={"Accept": single.media_type}, timeout=10)
    assert resp.headers["Docker-Content-Digest"] == single.digest
    assert sha(resp.content) != single.digest and len(resp.content) == len(single.manifest_bytes)
    assert sum(a != b for a, b in zip(resp.content, single.manifest_bytes, strict=True)) == 1
    json.loads(resp.content)  # still valid JSON: only the digest check can tell
    err = remote(proxy, f"test/single@{single.digest}", "--raw", ok=False)
    assert "digest" in str(err).lower()
    proxy.tamper_manifests(False)
    assert remote(proxy, f"test/single@{single.digest}", "--raw") == single.manifest_bytes


def test_proxy_keeps_the_token_challenge(token_registry: Registry, registry_proxy: Proxies) -> None:
    proxy = registry_proxy(token_registry)
    digest = token_registry.push("private/via-proxy", "1", IMAGES["upx"])
    assert token_registry.issuer is not None
    assert (
        f'realm="{token_registry.issuer.realm}"'
        in requests.get(f"{proxy.url}/v2/", timeout=10).headers["WWW-Authenticate"]
    )
    assert sha(remote(proxy, "private/via-proxy:1", "--raw", creds=True)) == digest


# --- files on disk -------------------------------------------------------------------------


def test_oci_layout_and_archives_are_read_by_skopeo(tmp_path: Path, registry: Registry) -> None:
    single, multi, zstd = expected_image(IMAGES["single"]), IMAGES["multiarch"], IMAGES["zstd"]
    layout = write_oci_layout(tmp_path / "layout", {"1.0": single, "multi": multi, "zstd": zstd})
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert skopeo("inspect", "--raw", f"oci:{layout}:1.0").stdout == single.manifest_bytes
    assert skopeo("inspect", "--raw", f"oci:{layout}:multi").stdout == multi.manifest_bytes
    assert skopeo("inspect", "--config", "--raw", f"oci:{layout}:zstd").stdout == expected_image(zstd).config_bytes
    policy = tmp_path / "policy.json"
    policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    skopeo("--policy", str(policy), "copy", "--all", "--dest-tls-verify=false",
           f"oci:{layout}:multi", f"docker://{registry.host}/copied/multi:1")  # fmt: skip
    assert sha(remote(registry, "copied/multi:1", "--raw")) == multi.digest  # same bytes after a verifying copy

    archive = write_oci_archive(tmp_path / "oci.tar", {"1.0": single})
    assert skopeo("inspect", "--raw", f"oci-archive:{archive}:1.0").stdout == single.manifest_bytes

    toolchain = expected_image(IMAGES["toolchain"])
    saved = write_docker_save(tmp_path / "save.tar", {"test/single:1.0": single, "test/single:latest": single,
                                                    "test/toolchain:latest": toolchain})  # fmt: skip
    for ref in ("test/single:1.0", "test/single:latest"):
        config = skopeo("inspect", "--config", "--raw", f"docker-archive:{saved}:{ref}").stdout
        assert config == expected_image(single).config_bytes
    seen = json.loads(skopeo("inspect", f"docker-archive:{saved}:test/toolchain:latest").stdout)
    assert seen["Layers"] == [layer.diff_id for layer in toolchain.layers]
    with tarfile.open(saved) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert sorted(tag for entry in manifest for tag in entry["RepoTags"]) == [
        "test/single:1.0", "test/single:latest", "test/toolchain:latest"
    ]  # fmt: skip


# --- the builder itself --------------------------------------------------------------------


def test_builds_are_deterministic_and_tars_normalised() -> None:
    _catalogue.cache_clear()
    again = test_images()
    assert {k: v.digest for k, v in again.items()} == {k: v.digest for k, v in IMAGES.items()}
    layer = expected_image(IMAGES["toolchain"]).layers[1]
    with tarfile.open(fileobj=io.BytesIO(layer.tar)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) and names[:2] == ["usr", "usr/bin"]
    assert {m.mtime for m in members} == {MTIME} and {m.uid for m in members} == {0}
    assert {m.name: m.mode for m in members if m.isfile()}["usr/bin/gcc"] == 0o755
    assert layer.blob[4:8] == b"\0\0\0\0"  # gzip header mtime 0


def test_catalogue_contents() -> None:
    whiteouts = expected_image(IMAGES["whiteouts"])
    with tarfile.open(fileobj=io.BytesIO(whiteouts.layers[1].tar)) as tar:
        names = tar.getnames()
    assert "app/.wh.big.bin" in names and "var/cache/apt/.wh..wh..opq" in names and "etc/app.conf" in names
    assert 65_536 + 32_768 + 16_384 + len(APP_CONF_V1) == WHITEOUT_WASTED_BYTES  # deleted, hidden, overwritten

    empty = expected_image(IMAGES["emptylayer"])
    assert empty.layers[1].tar == b"\0" * 1024 and empty.media == "docker"
    assert empty.layers[1].diff_id == "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    assert sum(1 for h in empty.config_doc["history"] if h.get("empty_layer")) == 4

    assert IMAGES["dockerv2"].media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert all(img.media == "docker" for img in IMAGES["dockerv2"].images)  # type: ignore[union-attr]
    assert expected_image(IMAGES["zstd"]).layers[0].media_type == "application/vnd.oci.image.layer.v1.tar+zstd"
    distroless = expected_image(IMAGES["distroless"])
    assert distroless.container_config["User"] == "nonroot"
    files = {name for layer in distroless.layers for name in layer.entries()}
    assert not {"bin/sh", "usr/bin/apt-get", "usr/bin/dpkg", "sbin/apk"} & files
    datasets = expected_image(IMAGES["datasets"])
    size = sum(len(getattr(e, "data", b"")) for e in datasets.layers[1].entries().values())
    assert 200_000 < size < 600_000
    with pytest.raises(ValueError):
        Layer({"/x": b"1"}, compression="zstd").media_type_for("docker")


def test_upx_marked_elf_is_a_real_executable(tmp_path: Path) -> None:
    data = upx_elf()
    assert data[:4] == b"\x7fELF" and b"UPX!" in data[:4096]  # where the layer scan looks
    if shutil.which("upx") is None:  # the hand-made stand-in also names UPX's sections
        assert b"UPX0\0UPX1\0" in data
    assert b"packed with the UPX executable packer" in data
    if platform.machine() in ("x86_64", "AMD64"):
        path = tmp_path / "packed"
        path.write_bytes(data)
        path.chmod(0o755)
        assert subprocess.run([str(path)], timeout=10).returncode == 0
