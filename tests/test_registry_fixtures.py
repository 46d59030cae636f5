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
from typing import Any

import pytest
import requests
import urllib3
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


# --- the proxy's body faults (a real `requests` client, not hullcheck's) --------------------

BIG_BLOB = max(expected_image(IMAGES["datasets"]).layers, key=lambda layer: len(layer.blob))
FAST = (5, 0.5)  # connect, read timeouts of a client that gives up on a stalled body


def broken_read(url: str, **kwargs: Any) -> tuple[int, int, int, requests.RequestException]:
    """GET `url` streaming -> (status, Content-Length, bytes received, the exception that ended the body).

    Bytes received are counted in whole 8 KiB chunks: urllib3 drops the partial chunk it was filling."""
    with requests.get(url, stream=True, **kwargs) as resp:
        got = 0
        try:
            for chunk in resp.iter_content(8192):
                got += len(chunk)
        except requests.RequestException as exc:
            return resp.status_code, int(resp.headers["Content-Length"]), got, exc
    raise AssertionError(f"{url}: the body arrived whole ({got} bytes)")


def test_proxy_resets_and_truncates_mid_body(pushed_registry: Registry, registry_proxy: Proxies) -> None:
    proxy = registry_proxy(pushed_registry)
    blob = f"{proxy.url}/v2/test/datasets/blobs/{BIG_BLOB.digest}"
    manifest = f"{proxy.url}/v2/test/single/manifests/1.0"
    size = len(BIG_BLOB.blob)

    proxy.break_next(1, "reset", kinds={"blob"})
    assert requests.get(manifest, headers=ACCEPT, timeout=10).status_code == 200  # not a blob: untouched
    status, length, got, exc = broken_read(blob, timeout=10)
    assert (status, length) == (200, size) and size // 2 - 8192 < got <= size // 2  # real headers, half the body
    assert type(exc) is requests.exceptions.ChunkedEncodingError
    assert isinstance(exc.args[0], urllib3.exceptions.ProtocolError)
    assert isinstance(exc.args[0].args[1], ConnectionResetError)  # ECONNRESET, not a clean close

    proxy.break_next(2, "truncate")
    status, length, got, exc = broken_read(blob, timeout=10)
    assert (status, length) == (200, size) and size // 2 - 8192 < got <= size // 2
    assert type(exc) is requests.exceptions.ChunkedEncodingError
    assert f"IncompleteRead({size // 2} bytes read, {size - size // 2} more expected)" in str(exc)
    assert isinstance(exc.args[0].args[1], urllib3.exceptions.IncompleteRead)  # a short read, Content-Length enforced
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):  # a small body too
        requests.get(manifest, headers=ACCEPT, timeout=10)

    assert requests.get(blob, timeout=10).content == BIG_BLOB.blob  # n used up: forwarded whole again
    assert [(e.kind, e.status, e.injected, e.fault) for e in proxy.log] == [
        ("manifest", 200, False, None),
        ("blob", 200, True, "reset"),
        ("blob", 200, True, "truncate"),
        ("manifest", 200, True, "truncate"),
        ("blob", 200, False, None),
    ]
    assert proxy.fault_counts == {("reset", "blob", "GET"): 1, ("truncate", "blob", "GET"): 1,
                                  ("truncate", "manifest", "GET"): 1}  # fmt: skip
    with pytest.raises(ValueError):
        proxy.break_next(1, "explode")


def test_proxy_resets_before_the_headers(
    pushed_registry: Registry, registry: Registry, registry_proxy: Proxies
) -> None:
    """reset_before on any request; reset/truncate/stall where there is no body to break in (HEAD, empty)."""
    proxy = registry_proxy(pushed_registry)
    manifest = f"{proxy.url}/v2/test/single/manifests/1.0"
    proxy.break_next(1, "reset_before")
    with pytest.raises(requests.exceptions.ConnectionError, match="Connection aborted") as caught:
        requests.get(manifest, headers=ACCEPT, timeout=10)
    assert type(caught.value) is requests.exceptions.ConnectionError  # not the ChunkedEncodingError of a body
    assert isinstance(caught.value.args[0].args[1], ConnectionResetError)
    for mode in ("reset", "truncate", "stall"):
        proxy.break_next(1, mode, kinds={"manifest"})
        with pytest.raises(requests.exceptions.ConnectionError, match="Connection aborted"):
            requests.head(manifest, headers=ACCEPT, timeout=FAST)  # no stall either: a HEAD has no middle
    session = requests.Session()  # a kept-alive connection dies the same way, and the next one is fine
    assert session.head(manifest, headers=ACCEPT, timeout=10).status_code == 200
    proxy.break_next(1, "reset_before")
    with pytest.raises(requests.exceptions.ConnectionError):
        session.head(manifest, headers=ACCEPT, timeout=10)
    assert session.head(manifest, headers=ACCEPT, timeout=10).status_code == 200
    session.close()
    assert [(e.method, e.status, e.fault) for e in proxy.log] == [
        ("GET", 200, "reset_before"),  # forwarded: the registry answered, the client never saw it
        *[("HEAD", 200, "reset_before")] * 3,
        ("HEAD", 200, None),
        ("HEAD", 200, "reset_before"),
        ("HEAD", 200, None),
    ]
    assert proxy.faults("reset_before") == 5 and proxy.faults(kind="manifest", method="HEAD") == 4

    empty = registry_proxy(registry)  # starting an upload: 202 with an empty body
    empty.break_next(1, "truncate", kinds={"upload"})
    with pytest.raises(requests.exceptions.ConnectionError, match="Connection aborted"):
        requests.post(f"{empty.url}/v2/proxied/empty/blobs/uploads/", timeout=10)
    assert [(e.kind, e.status, e.fault) for e in empty.log] == [("upload", 202, "reset_before")]


def test_proxy_stalls_mid_body_without_blocking_others(pushed_registry: Registry, registry_proxy: Proxies) -> None:
    proxy = registry_proxy(pushed_registry)
    assert proxy.stall_seconds == 5.0  # the default: longer than any sane read timeout
    blob = f"{proxy.url}/v2/test/datasets/blobs/{BIG_BLOB.digest}"
    proxy.break_next(2, "stall", kinds={"blob"}, stall_seconds=1.5)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        streamed = pool.submit(broken_read, blob, timeout=FAST)
        plain = pool.submit(requests.get, blob, timeout=FAST)
        deadline = time.monotonic() + 5
        while proxy.faults("stall") < 2 and time.monotonic() < deadline:  # both answers are stalled now...
            time.sleep(0.01)
        answers = list(pool.map(lambda _: requests.get(f"{proxy.url}/v2/", timeout=FAST).status_code, range(8)))
        assert answers == [200] * 8  # ...and other connections are served meanwhile, in parallel too
        status, length, got, exc = streamed.result()
        with pytest.raises(requests.exceptions.ConnectionError, match="Read timed out") as caught:
            plain.result()
    timed_out = time.monotonic() - start
    assert (status, length) == (200, len(BIG_BLOB.blob)) and 0 < got <= len(BIG_BLOB.blob) // 2
    # Mid-body, requests reports a read timeout as a ConnectionError (requests.ReadTimeout only
    # covers the wait for the headers) wrapping urllib3's ReadTimeoutError; streamed or not.
    for error in (exc, caught.value):
        assert type(error) is requests.exceptions.ConnectionError
        assert not isinstance(error, requests.exceptions.Timeout)
        assert isinstance(error.args[0], urllib3.exceptions.ReadTimeoutError)
    assert timed_out > 0.4  # gave up after its 0.5 s read timeout (the stall ending would be a short read)

    proxy.stall_seconds = 0.2  # a patient client waits the stall out and then meets a short read
    proxy.break_next(1, "stall")
    start = time.monotonic()
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        requests.get(blob, timeout=10)
    assert time.monotonic() - start >= 0.2
    assert proxy.faults("stall", "blob", "GET") == 3


def _plan() -> list[tuple[str, str, dict[str, str]]]:
    """A crawl: ping, then per repository a catalog page, its tags, the `latest` manifest HEAD and GET,
    its config blob -> [(method, path, headers)]."""
    plan: list[tuple[str, str, dict[str, str]]] = [("GET", "/v2/", {})]
    previous = ""
    for repo in PUSHED_REPOS:
        config = expected_image(IMAGES[PUSHED_REFS[f"{repo}:latest"]]).config_digest
        plan += [
            ("GET", f"/v2/_catalog?n=1&last={previous}" if previous else "/v2/_catalog?n=1", {}),
            ("GET", f"/v2/{repo}/tags/list", {}),
            ("HEAD", f"/v2/{repo}/manifests/latest", ACCEPT),
            ("GET", f"/v2/{repo}/manifests/latest", ACCEPT),
            ("GET", f"/v2/{repo}/blobs/{config}", {}),
        ]
        previous = repo
    return plan


def _crawl(proxy: RegistryProxy, plan: list[tuple[str, str, dict[str, str]]]) -> list[tuple[str, str, int | str]]:
    """Run `plan` in order through `proxy` -> [(method, path, status or the exception's class name)]."""
    seen: list[tuple[str, str, int | str]] = []
    for method, path, headers in plan:
        try:
            outcome: int | str = requests.request(method, proxy.url + path, headers=headers, timeout=5).status_code
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        seen.append((method, path, outcome))
    return seen


CHAOS_MODES = [429, 502, 503, "reset", "truncate", "stall", "reset_before"]
CRAWLED = {"catalog", "tags", "manifest", "blob"}


def test_proxy_chaos_is_reproducible_and_hits_every_kind(pushed_registry: Registry, registry_proxy: Proxies) -> None:
    proxy, plan = registry_proxy(pushed_registry), _plan()
    proxy.stall_seconds = 0.05  # shorter than the crawl's read timeout: a stall ends as a short read
    proxy.chaos(0.3, CHAOS_MODES, seed=3, kinds=CRAWLED)
    first = _crawl(proxy, plan)
    log, counts = list(proxy.log), proxy.fault_counts

    meets = {"429": 429, "502": 502, "503": 503, "reset_before": "ConnectionError"}  # others: a broken body
    for (method, path, outcome), entry in zip(first, log, strict=True):
        assert (entry.method, entry.path) == (method, path)
        if entry.fault is None:
            assert outcome == 200 and not entry.injected, path
        else:
            assert entry.injected and outcome == meets.get(entry.fault, "ChunkedEncodingError"), (path, entry)
    assert all(e.fault is None for e in log if e.kind == "ping")  # outside `kinds`
    for kind, method in [("catalog", "GET"), ("tags", "GET"), ("manifest", "HEAD"), ("manifest", "GET"),
                         ("blob", "GET")]:  # fmt: skip
        assert proxy.faults(kind=kind, method=method) > 0, (kind, method)
    assert {mode for mode, _, _ in counts} == set(map(str, CHAOS_MODES))  # seed 3 draws every mode here
    assert 0.15 < proxy.faults() / len(log) < 0.45

    proxy.reset()
    proxy.chaos(0.3, CHAOS_MODES, seed=3, kinds=CRAWLED)
    assert _crawl(proxy, plan) == first and proxy.log == log and proxy.fault_counts == counts  # same seed, same night
    proxy.reset()
    proxy.chaos(0.3, CHAOS_MODES, seed=4, kinds=CRAWLED)
    assert _crawl(proxy, plan[:16]) != first[:16]

    proxy.reset()  # the same requests from four concurrent clients: the same number of faults
    proxy.chaos(0.3, CHAOS_MODES, seed=3, kinds=CRAWLED)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: _crawl(proxy, plan[i::4]), range(4)))
    assert len(proxy.log) == len(plan) and proxy.faults() == sum(counts.values())

    proxy.chaos(1.0, [429, 503, 502], seed=1)
    answers = [requests.get(f"{proxy.url}/v2/", timeout=10) for _ in range(12)]
    assert {(a.status_code, a.headers.get("Retry-After")) for a in answers} == {(429, "0"), (503, "0"), (502, None)}
    with pytest.raises(ValueError):
        proxy.chaos(0.5, ["explode"], seed=1)

    proxy.clear_faults()
    proxy.reset()
    assert all(outcome == 200 for _, _, outcome in _crawl(proxy, plan))
    assert proxy.faults() == 0 and not any(e.injected for e in proxy.log)
    for ref, name in PUSHED_REFS.items():
        repo, _, tag = ref.rpartition(":")
        got = requests.get(f"{proxy.url}/v2/{repo}/manifests/{tag}", headers=ACCEPT, timeout=10)
        assert got.content == IMAGES[name].manifest_bytes, ref


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
