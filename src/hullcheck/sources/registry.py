"""OCI distribution client on oras-py, with oras-py's traps removed, and crane-like verbs.

oras-py's `Registry` provider gives the session (cookie policy, TLS settings); its request
wrapper is replaced because it retries every error five times with sleeps up to 83 s
(131 s to fail on a refused connection), assumes token auth and reads no DOCKER_CONFIG.
Here: per-request timeouts, bounded retries with exponential backoff and jitter only on
429, 5xx and connection errors (honouring Retry-After), auth from the WWW-Authenticate
challenge (anonymous, Basic, Bearer with a token per scope reused until it expires), and
every manifest and blob verified against its digest.

The nightly audit retries; an interactive command (`fail_fast=True`) does not retry what no
retry would fix (nothing listens, the name does not resolve, TLS fails) and, when TLS fails,
checks whether the other protocol answers, so that the error can say "use --insecure".
The failures a person acts on are typed: `RegistryUnreachable` (with a `kind`), `RegistryDenied`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TypeVar

import oras.provider
import requests

from hullcheck.errors import CredentialError, Interrupted, RegistryError, RegistryNotFound
from hullcheck.sources.http_failures import TRANSIENT, describe, lasting, tls_reason
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
_CHUNK = 1024 * 1024
_MAX_LIST_BYTES = 64 * 1024 * 1024  # a catalog or tag list page
_MAX_PAGES, _MAX_LIST_ITEMS = 10_000, 2_000_000  # a catalog or tag list, whole
T = TypeVar("T")


class RegistryUnreachable(RegistryError):
    """No usable HTTP answer at all. `kind`: "refused", "dns", "connect-timeout", "tls-verify", "tls"
    (see `http_failures.lasting`), "plain-http" (HTTPS asked, the registry speaks plain HTTP) or
    "https-port" (plain HTTP asked, the port speaks TLS); `detail`: the TLS library's reason, if any."""

    def __init__(self, message: str, kind: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind, self.detail = kind, detail


class RegistryDenied(RegistryError):
    """The registry or its token service refused access (HTTP 401/403); `anonymous`: no credentials were sent."""

    def __init__(self, message: str, anonymous: bool) -> None:
        super().__init__(message)
        self.anonymous = anonymous


class _Retry(Exception):
    """Raised inside an attempt: the answer was bad in a way another attempt may fix."""

    def __init__(self, words: str, final: str | None = None) -> None:
        super().__init__(words)
        self.words = words
        self.final = final  # the whole message when no attempt is left, if `words` would not read well


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
        fail_fast: bool = False,
    ) -> None:
        self.host = registry_host(host)
        plain = host.startswith(LOOPBACK) if insecure is None else insecure
        super().__init__(hostname=self.host, insecure=plain, auth_backend="basic")
        self.session.headers["User-Agent"] = "hullcheck (+oras-py)"
        self._explicit = credentials
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.fail_fast = fail_fast  # interactive: no retry of a failure no retry would fix, protocol probes
        self.max_manifest_bytes = max_manifest_bytes
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (token, expires at)
        self._basic = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: Counter[str] = Counter()  # "GET manifest", "HEAD manifest", "GET blob", …

    @property
    def name(self) -> str:
        return self.host

    @property
    def credentials(self) -> Credentials | None:
        """The credentials the client sends once the registry asked for them (None: anonymous, or not asked yet)."""
        return self._credentials

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

    def stop(self) -> None:
        """Stop soon: no new request, no retry, no backoff sleep (the crawl is being cancelled)."""
        self._stopping.set()

    def _exchange(
        self,
        url: str,
        what: str,
        read: Callable[[requests.Response], T],
        method: str = "GET",
        headers: dict[str, str] | None = None,
        scope: str = "",
        kind: str = "",
        keep_open: bool = False,
    ) -> T:
        """One API call, reading the answer included: retried when the failure is worth retrying (429, 5xx,
        a connection refused, reset, cut short or stalled before or during the body, a body that does not
        match its digest), authenticated on challenge. `what` names the thing read, for the error.
        With `keep_open`, the response stays open after `read` (the caller streams and closes it)."""
        kind = kind or _kind(url)
        scope = scope or _scope(url)
        own_host = requests.compat.urlparse(url).netloc == self.host  # credentials go to this registry only
        attempt, authenticated = 0, False
        while True:
            if self._stopping.is_set():
                raise Interrupted(f"{self.host}: stopped before reading {what}")
            send = {**(headers or {}), **(self._auth_header(scope) if own_host else {})}
            self.requests[f"{method} {kind}"] += 1
            retry_after, final, wall = None, None, None
            response, opened = None, False
            try:
                response = self.session.request(method, url, headers=send, stream=True, timeout=self.timeout)
                if response.status_code == 401 and not authenticated and own_host:
                    self._authenticate(response, scope)
                    authenticated = True  # one authentication per call: a second 401 is an answer
                    continue
                if response.status_code in _RETRY_STATUS:
                    retry_after = response.headers.get("Retry-After")
                    raise _Retry(f"the registry answered HTTP {response.status_code}")
                if response.status_code == 400 and self.fail_fast and self.prefix == "http" and self._speaks_tls():
                    # Go's server answers plain HTTP on a TLS port with a 400: the wrong protocol, not a bad request
                    raise RegistryUnreachable(f"{self.host}: the registry speaks HTTPS, not plain HTTP ({what})",
                                              "https-port")  # fmt: skip
                self._check(response, what)
                value = read(response)
                opened = keep_open
                return value
            except _Retry as e:
                failure, final = e.words, e.final
            except TRANSIENT as e:
                failure, wall = describe(e, self.timeout[1]), lasting(e)
                if self.fail_fast:
                    self._fail_fast(e, wall, failure, what)
            finally:
                if response is not None and not opened:
                    response.close()
            if attempt >= self.retries:
                tries = f"; retried {attempt} time{'s' if attempt != 1 else ''}" if attempt else ""
                if final is not None:
                    raise RegistryError(final + tries)
                if failure.startswith("the connection") or failure.startswith("the host name"):
                    message = f"{self.host}: cannot reach the registry ({failure}) for {what}{tries}"
                    raise RegistryUnreachable(message, wall) if wall else RegistryError(message)
                raise RegistryError(f"{self.host}: {failure} while reading {what}{tries}")
            self._sleep(attempt, retry_after)
            attempt += 1

    def _fail_fast(self, e: BaseException, kind: str | None, failure: str, what: str) -> None:
        """Interactive: raise at once when no retry would help; on a TLS failure, say whether plain HTTP answers."""
        if kind == "tls" and self.prefix == "https" and self._answers_plain_http():
            raise RegistryUnreachable(f"{self.host}: the registry answered in plain HTTP, not HTTPS ({what})",
                                      "plain-http", tls_reason(e)) from None  # fmt: skip
        cut_off = "closed the connection" in failure or "reset" in failure  # how some TLS servers meet plain HTTP
        if kind is None and cut_off and self.prefix == "http" and self._speaks_tls():
            raise RegistryUnreachable(f"{self.host}: the registry speaks HTTPS, not plain HTTP ({what})",
                                      "https-port") from None  # fmt: skip
        if kind is not None:
            raise RegistryUnreachable(f"{self.host}: cannot reach the registry ({failure}) for {what}", kind,
                                      tls_reason(e)) from None  # fmt: skip

    def address(self) -> tuple[str, int]:
        """(host name, port) the requests go to."""
        parsed = requests.compat.urlparse(f"//{self.host}")
        return parsed.hostname or self.host, parsed.port or (443 if self.prefix == "https" else 80)

    def _speaks_tls(self) -> bool:
        """Whether the registry's port completes a TLS handshake (any certificate: this only names the protocol)."""
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        host, port = self.address()
        try:
            with socket.create_connection((host, port), timeout=2) as raw, context.wrap_socket(raw):
                return True
        except (OSError, ValueError):
            return False

    def _answers_plain_http(self) -> bool:
        """Whether the registry's port answers a plain-HTTP request (an HTTPS client met a plain-HTTP server)."""
        host, port = self.address()
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            with self.session.get(f"http://{netloc}/v2/", timeout=(2.0, 2.0), allow_redirects=False, stream=True):
                return True
        except requests.RequestException:
            return False

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = min(8.0, self.backoff * (2**attempt)) * random.uniform(0.5, 1.5)
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = min(30.0, float(retry_after))
        if self._stopping.wait(delay):  # a stop ends the backoff at once
            raise Interrupted(f"{self.host}: stopped while waiting to retry")

    def _authenticate(self, response: requests.Response, scope: str) -> None:
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None:
            raise RegistryError(f"{self.host}: access denied (HTTP 401 without an auth challenge)")
        creds = self._creds()
        if challenge.scheme == "basic":
            if creds is None:
                raise RegistryDenied(f"{self.host}: the registry requires a login and no credentials were found", True)
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
            raise RegistryError(f"{self.host}: cannot reach its token service ({describe(e)})") from None
        self.requests["GET token"] += 1
        if token_response.status_code in (401, 403):
            who = f"as {creds.username!r}" if creds and creds.username else "anonymously"
            raise RegistryDenied(f"{self.host}: the token service refused the credentials ({who}): wrong or expired",
                                 creds is None)  # fmt: skip
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
            raise RegistryDenied(
                f"{self.host}: access to {what} denied (HTTP {response.status_code}): wrong credentials?",
                self._credentials is None,
            )
        raise RegistryError(f"{self.host}: {what}: HTTP {response.status_code}")

    def _url(self, path: str) -> str:
        return f"{self.prefix}://{self.host}{path}"

    # -- verbs (crane's names) ---------------------------------------------------------
    def catalog(self, page_size: int = 1000) -> list[str]:
        return self._pages(self._url(f"/v2/_catalog?n={page_size}"), "repositories", "the catalog",
                           "registry:catalog:*", "catalog")  # fmt: skip

    def ls(self, repository: str) -> list[str]:
        return self._pages(self._url(f"/v2/{repository}/tags/list?n=1000"), "tags", f"the tag list of {repository}",
                           f"repository:{repository}:pull", "tags")  # fmt: skip

    def _pages(self, url: str | None, key: str, what: str, scope: str, kind: str) -> list[str]:
        """A paginated list (Link: rel=next), each page read whole inside its attempt."""
        items: list[str] = []

        def page(r: requests.Response) -> tuple[list[str], str | None]:
            try:
                doc = json.loads(_read_capped(r, _MAX_LIST_BYTES, f"{self.host}: {what}"))
            except ValueError:
                raise _Retry("an unexpected answer (not JSON)") from None
            values = doc.get(key) if isinstance(doc, dict) else None
            if values is not None and not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
                raise RegistryError(f"{self.host}: {what} is not a list of names")
            nxt = r.links.get("next", {}).get("url")
            return values or [], (requests.compat.urljoin(r.url, nxt) if nxt else None)

        pages = 0
        while url:
            values, url = self._exchange(url, what, page, scope=scope, kind=kind)
            items.extend(values)
            pages += 1
            if pages >= _MAX_PAGES or len(items) > _MAX_LIST_ITEMS:  # a registry whose `next` link never ends
                raise RegistryError(f"{self.host}: {what} goes on past {len(items)} names in {pages} pages: refused")
        return items

    def digest(self, repository: str, reference: str) -> tuple[str, str]:
        """(digest, media type) of a tag, with one HEAD request."""
        what = f"the manifest of {_ref(repository, reference)}"
        headers = self._exchange(
            self._url(f"/v2/{repository}/manifests/{reference}"), what, lambda r: r.headers, "HEAD",
            headers={"Accept": ", ".join(MANIFEST_TYPES)}, scope=f"repository:{repository}:pull", kind="manifest",
        )  # fmt: skip
        digest = headers.get("Docker-Content-Digest", "")
        if not digest:  # a registry that does not say: fall back to the body
            fetched = self.manifest(repository, reference)
            return fetched.digest, fetched.media_type
        return digest, headers.get("Content-Type", "").split(";")[0]

    def manifest(self, repository: str, reference: str, expected_digest: str | None = None) -> Fetched:
        what = f"the manifest of {_ref(repository, reference)}"

        def read(r: requests.Response) -> Fetched:
            data = _read_capped(r, self.max_manifest_bytes, f"{self.host}: manifest {repository}@{reference}")
            wanted = expected_digest or (reference if reference.startswith(("sha256:", "sha512:")) else None)
            wanted = wanted or r.headers.get("Docker-Content-Digest")
            algorithm = wanted.split(":", 1)[0] if wanted and wanted.startswith("sha512:") else "sha256"
            actual = f"{algorithm}:" + hashlib.new(algorithm, data).hexdigest()
            if wanted and wanted != actual:  # corrupted on the way, or a registry serving the wrong bytes
                raise _Retry(
                    "the body did not match its digest",
                    f"{self.host}: manifest {_ref(repository, reference)}"
                    f" does not match its digest (expected {wanted}, got {actual}): refused",
                )
            return Fetched(data, r.headers.get("Content-Type", "").split(";")[0], actual)

        return self._exchange(self._url(f"/v2/{repository}/manifests/{reference}"), what, read,
                              headers={"Accept": ", ".join(MANIFEST_TYPES)}, scope=f"repository:{repository}:pull",
                              kind="manifest")  # fmt: skip

    def blob(self, repository: str, digest: str, max_bytes: int) -> bytes:
        """A small blob (an image config), whole, verified, refused past `max_bytes`."""
        what = f"blob {digest} of {repository}"

        def read(r: requests.Response) -> bytes:
            data = _read_capped(r, max_bytes, f"{self.host}: blob {digest}")
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                raise _Retry(
                    "the body did not match its digest", f"{self.host}: {what} does not match its digest: refused"
                )
            return data

        return self._exchange(self._url(f"/v2/{repository}/blobs/{digest}"), what, read,
                              scope=f"repository:{repository}:pull", kind="blob")  # fmt: skip

    def open_blob(self, repository: str, digest: str, max_bytes: int | None = None) -> Iterator[bytes]:
        """Stream a blob (layers: never whole in memory); the digest is checked at the end.

        A failure mid-stream resumes where it stopped with an HTTP Range request (within the
        client's retry budget), so the consumer never sees a byte twice or a gap."""
        url, what = self._url(f"/v2/{repository}/blobs/{digest}"), f"blob {digest} of {repository}"
        h, offset, failures = hashlib.sha256(), 0, 0
        while True:
            headers = {"Range": f"bytes={offset}-"} if offset else None
            r = self._exchange(
                url,
                what,
                lambda r: r,
                headers=headers,
                scope=f"repository:{repository}:pull",
                kind="blob",
                keep_open=True,
            )
            try:
                declared = r.headers.get("Content-Length", "")
                if not offset and max_bytes is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise RegistryError(f"{self.host}: {what} is {declared} bytes, over the {max_bytes}-byte limit")
                skip = offset if r.status_code == 200 else 0  # a registry that ignores Range sends it all again
                for chunk in r.iter_content(_CHUNK):
                    if skip:
                        cut = min(skip, len(chunk))
                        chunk, skip = chunk[cut:], skip - cut
                    if chunk:
                        h.update(chunk)
                        offset += len(chunk)
                        yield chunk
                break
            except TRANSIENT as e:
                failures += 1
                if failures > self.retries:
                    raise RegistryError(f"{self.host}: {describe(e, self.timeout[1])} while reading {what} "
                                        f"(at byte {offset}); resumed {failures - 1} times") from None  # fmt: skip
                self._sleep(failures - 1, None)
            finally:
                r.close()
        if "sha256:" + h.hexdigest() != digest:
            raise RegistryError(f"{self.host}: {what} does not match its digest: refused")


def _read_capped(r: requests.Response, cap: int, what: str, deadline_seconds: float = 120.0) -> bytes:
    """A small document (manifest, config, list page), whole: refused past `cap` bytes, and given up
    past `deadline_seconds` in all (a server sending a byte per second never trips a read timeout)."""
    declared = r.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        r.close()
        raise RegistryError(f"{what} is {declared} bytes, over the {cap}-byte limit: refused")
    chunks, total = [], 0
    give_up = time.monotonic() + deadline_seconds
    while chunk := r.raw.read1(65536, decode_content=True):  # whatever has arrived: the deadline is checked often
        total += len(chunk)
        if total > cap:
            r.close()
            raise RegistryError(f"{what} is over the {cap}-byte limit: refused")
        chunks.append(chunk)
        if time.monotonic() > give_up:
            r.close()
            raise _Retry(f"the answer took longer than {deadline_seconds:g} s to arrive")
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


def _ref(repository: str, reference: str) -> str:
    return f"{repository}@{reference}" if ":" in reference else f"{repository}:{reference}"
