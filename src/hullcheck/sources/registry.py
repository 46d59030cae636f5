"""OCI distribution client on oras-py, with oras-py's traps removed, and crane-like verbs.

oras-py's `Registry` provider gives the session (cookie policy, TLS settings); its request
wrapper is replaced because it retries every error five times with sleeps up to 83 s
(131 s to fail on a refused connection), assumes token auth and reads no DOCKER_CONFIG.
Here: per-request timeouts, bounded retries with exponential backoff and jitter only on
429, 5xx and connection errors (honouring Retry-After), auth from the WWW-Authenticate
challenge (anonymous, Basic, Bearer with a token per scope reused until it expires), and
every manifest and blob verified against its digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import oras.provider
import requests

from hullcheck.errors import CredentialError, RegistryError, RegistryNotFound
from hullcheck.sources.images import Fetched
from hullcheck.sources.registry_auth import Credentials, find_credentials, parse_challenge

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
LOOPBACK = ("127.", "localhost", "[::1]", "::1")
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def registry_host(name: str) -> str:
    """The API host of a registry name: Docker Hub's names go to registry-1.docker.io."""
    return "registry-1.docker.io" if name in ("docker.io", "index.docker.io") else name


class RegistryClient(oras.provider.Registry):
    def __init__(
        self,
        host: str,
        insecure: bool | None = None,
        credentials: Credentials | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        retries: int = 3,
        backoff: float = 0.5,
        max_manifest_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.host = registry_host(host)
        plain = host.startswith(LOOPBACK) if insecure is None else insecure
        super().__init__(hostname=self.host, insecure=plain, auth_backend="basic")
        self.session.headers["User-Agent"] = "hullcheck (+oras-py)"
        self._explicit = credentials
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.max_manifest_bytes = max_manifest_bytes
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (token, expires at)
        self._basic = False
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # "GET manifest", "HEAD manifest", "GET blob", …

    @property
    def name(self) -> str:
        return self.host

    def close(self) -> None:
        self.session.close()

    # -- plumbing --------------------------------------------------------------------
    def _creds(self) -> Credentials | None:
        if not self._credentials_loaded:
            try:
                self._credentials = find_credentials(self.host, self._explicit)
            except CredentialError as e:
                raise RegistryError(f"{self.host}: {e}") from None
            self._credentials_loaded = True
        return self._credentials

    def _auth_header(self, scope: str) -> dict[str, str]:
        with self._lock:
            token = self._tokens.get(scope)
            if token and token[1] > time.monotonic():
                return {"Authorization": f"Bearer {token[0]}"}
        creds = self._creds() if self._basic else None
        return {"Authorization": creds.basic_header()} if creds else {}

    def do_request(  # type: ignore[override]
        self,
        url: str,
        method: str = "GET",
        data: Any = None,
        headers: dict | None = None,
        json: dict | None = None,
        stream: bool = False,
        scope: str = "",
        kind: str = "",
    ) -> requests.Response:
        """One API call: retried when the failure is worth retrying, authenticated on challenge."""
        kind = kind or _kind(url)
        scope = scope or _scope(url)
        own_host = requests.compat.urlparse(url).netloc == self.host  # credentials go to this registry only
        attempt, authenticated = 0, False
        while True:
            send = {**(headers or {}), **(self._auth_header(scope) if own_host else {})}
            self.requests[f"{method} {kind}"] += 1
            try:
                response = self.session.request(
                    method, url, data=data, json=json, headers=send, stream=stream, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as e:
                if attempt >= self.retries:
                    raise RegistryError(f"{self.host}: cannot reach the registry ({_short(e)})") from None
                self._sleep(attempt, None)
                attempt += 1
                continue
            if response.status_code == 401 and not authenticated and own_host:
                response.close()
                self._authenticate(response, scope)
                authenticated = True  # one authentication per call: a second 401 is an answer
                continue
            if response.status_code in _RETRY_STATUS and attempt < self.retries:
                response.close()
                self._sleep(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            return response

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = min(8.0, self.backoff * (2**attempt)) * random.uniform(0.5, 1.5)
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = min(30.0, float(retry_after))
        time.sleep(delay)

    def _authenticate(self, response: requests.Response, scope: str) -> None:
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None:
            raise RegistryError(f"{self.host}: access denied (HTTP 401 without an auth challenge)")
        creds = self._creds()
        if challenge.scheme == "basic":
            if creds is None:
                raise RegistryError(f"{self.host}: the registry requires a login and no credentials were found")
            self._basic = True
            return
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            raise RegistryError(f"{self.host}: unsupported auth scheme {challenge.scheme!r}")
        realm = requests.compat.urljoin(self._url("/v2/"), challenge.params["realm"])  # a relative realm too
        params = {"service": challenge.params.get("service", "")}
        wanted = challenge.params.get("scope") or scope
        if wanted:
            params["scope"] = wanted
        headers = {"Authorization": creds.basic_header()} if creds and not creds.identity_token else {}
        try:
            if creds and creds.identity_token:
                token_response = self.session.post(
                    realm,
                    timeout=self.timeout,
                    data={"grant_type": "refresh_token", "refresh_token": creds.identity_token, **params},
                )
            else:
                token_response = self.session.get(realm, params=params, headers=headers, timeout=self.timeout)
        except requests.RequestException as e:
            raise RegistryError(f"{self.host}: cannot reach its token service ({_short(e)})") from None
        self.requests["GET token"] += 1
        if token_response.status_code in (401, 403):
            who = f"as {creds.username!r}" if creds and creds.username else "anonymously"
            raise RegistryError(f"{self.host}: the token service refused the credentials ({who}): wrong or expired")
        if token_response.status_code != 200:
            raise RegistryError(f"{self.host}: the token service answered HTTP {token_response.status_code}")
        try:
            body = token_response.json()
            token = body.get("token") or body.get("access_token")
            ttl = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            raise RegistryError(f"{self.host}: the token service answered something that is not a token") from None
        if not token:
            raise RegistryError(f"{self.host}: the token service returned no token")
        with self._lock:
            self._tokens[scope or wanted] = (token, time.monotonic() + max(10.0, ttl - 10.0))

    def _check(self, response: requests.Response, what: str) -> None:
        if response.status_code == 200:
            return
        if response.status_code == 404:
            raise RegistryNotFound(f"{self.host}: {what} not found")
        if response.status_code in (401, 403):
            raise RegistryError(
                f"{self.host}: access to {what} denied (HTTP {response.status_code}): wrong credentials?"
            )
        raise RegistryError(f"{self.host}: {what}: HTTP {response.status_code}")

    def _url(self, path: str) -> str:
        return f"{self.prefix}://{self.host}{path}"

    # -- verbs (crane's names) ---------------------------------------------------------
    def catalog(self, page_size: int = 1000) -> list[str]:
        repos: list[str] = []
        url: str | None = self._url(f"/v2/_catalog?n={page_size}")
        while url:
            r = self.do_request(url, "GET", scope="registry:catalog:*", kind="catalog")
            self._check(r, "the catalog")
            repos.extend(r.json().get("repositories") or [])
            nxt = r.links.get("next", {}).get("url")
            url = requests.compat.urljoin(url, nxt) if nxt else None
        return repos

    def ls(self, repository: str) -> list[str]:
        tags: list[str] = []
        url: str | None = self._url(f"/v2/{repository}/tags/list?n=1000")
        while url:
            r = self.do_request(url, "GET", scope=f"repository:{repository}:pull", kind="tags")
            self._check(r, f"repository {repository}")
            tags.extend(r.json().get("tags") or [])
            nxt = r.links.get("next", {}).get("url")
            url = requests.compat.urljoin(url, nxt) if nxt else None
        return tags

    def digest(self, repository: str, reference: str) -> tuple[str, str]:
        """(digest, media type) of a tag, with one HEAD request."""
        r = self.do_request(
            self._url(f"/v2/{repository}/manifests/{reference}"),
            "HEAD",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
            scope=f"repository:{repository}:pull",
            kind="manifest",
        )
        self._check(r, f"{repository}:{reference}")
        digest = r.headers.get("Docker-Content-Digest", "")
        if not digest:  # a registry that does not say: fall back to the body
            fetched = self.manifest(repository, reference)
            return fetched.digest, fetched.media_type
        return digest, r.headers.get("Content-Type", "").split(";")[0]

    def manifest(self, repository: str, reference: str, expected_digest: str | None = None) -> Fetched:
        r = self.do_request(
            self._url(f"/v2/{repository}/manifests/{reference}"),
            "GET",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
            scope=f"repository:{repository}:pull",
            kind="manifest",
            stream=True,
        )
        self._check(r, f"{repository}@{reference}")
        data = _read_capped(r, self.max_manifest_bytes, f"{self.host}: manifest {repository}@{reference}")
        wanted = expected_digest or (reference if reference.startswith(("sha256:", "sha512:")) else None)
        wanted = wanted or r.headers.get("Docker-Content-Digest")
        algorithm = wanted.split(":", 1)[0] if wanted and wanted.startswith("sha512:") else "sha256"
        actual = f"{algorithm}:" + hashlib.new(algorithm, data).hexdigest()
        if wanted and wanted != actual:
            raise RegistryError(
                f"{self.host}: manifest {repository}@{reference} does not match its digest "
                f"(expected {wanted}, got {actual}): refused"
            )
        return Fetched(data, r.headers.get("Content-Type", "").split(";")[0], actual)

    def blob(self, repository: str, digest: str, max_bytes: int) -> bytes:
        """A small blob (an image config), whole, refused past `max_bytes`."""
        chunks, total = [], 0
        for chunk in self.open_blob(repository, digest, max_bytes):
            total += len(chunk)
            if total > max_bytes:
                raise RegistryError(f"{self.host}: blob {digest} is over the {max_bytes}-byte limit: refused")
            chunks.append(chunk)
        return b"".join(chunks)

    def open_blob(self, repository: str, digest: str, max_bytes: int | None = None) -> Iterator[bytes]:
        """Stream a blob (layers: never whole in memory); the digest is checked at the end."""
        r = self.do_request(
            self._url(f"/v2/{repository}/blobs/{digest}"),
            "GET",
            stream=True,
            scope=f"repository:{repository}:pull",
            kind="blob",
        )
        self._check(r, f"blob {digest} of {repository}")
        declared = r.headers.get("Content-Length", "")
        if max_bytes is not None and declared.isdigit() and int(declared) > max_bytes:
            r.close()
            raise RegistryError(f"{self.host}: blob {digest} is {declared} bytes, over the {max_bytes}-byte limit")
        h = hashlib.sha256()
        for chunk in r.iter_content(1024 * 1024):
            h.update(chunk)
            yield chunk
        if "sha256:" + h.hexdigest() != digest:
            raise RegistryError(f"{self.host}: blob {digest} of {repository} does not match its digest: refused")


def _read_capped(r: requests.Response, cap: int, what: str) -> bytes:
    declared = r.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        r.close()
        raise RegistryError(f"{what} is {declared} bytes, over the {cap}-byte limit: refused")
    chunks, total = [], 0
    for chunk in r.iter_content(65536):
        total += len(chunk)
        if total > cap:
            r.close()
            raise RegistryError(f"{what} is over the {cap}-byte limit: refused")
        chunks.append(chunk)
    return b"".join(chunks)


def _kind(url: str) -> str:
    for marker, kind in (("/_catalog", "catalog"), ("/tags/list", "tags"), ("/manifests/", "manifest"),
                         ("/blobs/", "blob")):  # fmt: skip
        if marker in url:
            return kind
    return "other"


def _scope(url: str) -> str:
    path = requests.compat.urlparse(url).path
    if path.startswith("/v2/_catalog"):
        return "registry:catalog:*"
    for marker in ("/tags/list", "/manifests/", "/blobs/"):
        if marker in path:
            return f"repository:{path[len('/v2/') : path.index(marker)]}:pull"
    return ""


def _short(e: Exception) -> str:
    text = str(e)
    for needle in ("Connection refused", "timed out", "Name or service not known", "No route to host"):
        if needle in text:
            return needle.lower()
    return type(e).__name__
