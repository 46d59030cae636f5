"""pytest plugin: real OCI registries for the registry crawler's tests.

Registered from tests/conftest.py (`pytest_plugins = ["support.registry_fixtures"]`). Why real:
the client (oras-py underneath) must meet a registry's true behaviour — auth challenges,
pagination Link headers, content negotiation by Accept, digests — which a mock would
only restate. Each fixture runs Debian's `docker-registry` (CNCF distribution 2.8.2) on a
free 127.0.0.1 port with storage in a tmp dir and stops it at teardown.

Fixtures
- `registry` (module): anonymous registry, empty.
- `basic_registry` (module): htpasswd (bcrypt) auth; `.username`, `.password`.
- `token_registry` (module): Bearer token auth via a loopback `TokenIssuer`; `.issuer`, `.token_requests`.
- `pushed_registry` (module): anonymous registry holding every image of `test_images()` at `PUSHED_REFS`.
- `registry_proxy` (function): factory `registry_proxy(reg) -> RegistryProxy`, closed at teardown.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest

from support.oci.builder import Image, Index
from support.oci.catalogue import test_images
from support.oci.proxy import RegistryProxy
from support.oci.registry import (
    Registry,
    registry_available,
    start_basic_registry,
    start_registry,
    start_token_registry,
    stop,
)

# "repo:tag" -> name in test_images(). test/single has two tags on one digest; ten repositories
# make `GET /v2/_catalog?n=3` take four pages.
PUSHED_REFS: dict[str, str] = {
    "test/single:1.0": "single",
    "test/single:latest": "single",
    "test/multiarch:latest": "multiarch",
    "test/dockerv2:latest": "dockerv2",
    "test/emptylayer:latest": "emptylayer",
    "test/whiteouts:latest": "whiteouts",
    "test/toolchain:latest": "toolchain",
    "test/datasets:latest": "datasets",
    "test/upx:latest": "upx",
    "test/zstd:latest": "zstd",
    "test/distroless:latest": "distroless",
}
PUSHED_REPOS: list[str] = sorted({ref.rpartition(":")[0] for ref in PUSHED_REFS})


def _need_tools() -> None:
    """Fail loudly (not skip) when the registry is missing: a green run must mean the tests ran."""
    missing = [tool for tool in ("htpasswd", "skopeo") if shutil.which(tool) is None]
    if not registry_available():
        missing.insert(0, "docker-registry")
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: apt-get install docker-registry skopeo apache2-utils")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An empty anonymous registry; push with `registry.push(repo, tag, image)`."""
    _need_tools()
    reg = start_registry(tmp_path_factory.mktemp("registry"))
    yield reg
    stop(reg)


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry behind htpasswd Basic auth; `.push()` sends the credentials."""
    _need_tools()
    reg = start_basic_registry(tmp_path_factory.mktemp("basic-registry"))
    yield reg
    stop(reg)


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry behind Bearer token auth; `.issuer` is the realm (log, `.grant` hook), `.token_requests` counts."""
    _need_tools()
    reg = start_token_registry(tmp_path_factory.mktemp("token-registry"))
    yield reg
    stop(reg)


def push_catalogue(reg: Registry | RegistryProxy, refs: dict[str, str] | None = None) -> dict[str, str]:
    """Push `test_images()` at `refs` ("repo:tag" -> image name); returns "repo:tag" -> digest."""
    images = test_images()
    out = {}
    for ref, name in (refs or PUSHED_REFS).items():
        repo, _, tag = ref.rpartition(":")
        out[ref] = reg.push(repo, tag, images[name])
    return out


@pytest.fixture(scope="module")
def pushed_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An anonymous registry holding the whole catalogue; `.pushed` ref -> digest, `.images` ref -> Image/Index."""
    _need_tools()
    reg = start_registry(tmp_path_factory.mktemp("pushed-registry"))
    try:
        push_catalogue(reg)
    except BaseException:
        stop(reg)
        raise
    yield reg
    stop(reg)


@pytest.fixture
def registry_proxy() -> Iterator[Callable[[Registry], RegistryProxy]]:
    """Factory: `proxy = registry_proxy(some_registry)`; every proxy is closed after the test."""
    made: list[RegistryProxy] = []

    def make(target: Registry) -> RegistryProxy:
        proxy = RegistryProxy(target)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


def expected_image(item: Image | Index, arch: str = "amd64") -> Image:
    """The image a platform-resolving client picks: the item itself, or the index child for `arch`."""
    if isinstance(item, Image):
        return item
    return next(img for img in item.images if img.architecture == arch)
