"""Push a `support.oci.builder` image or index to a registry with raw `requests` (distribution spec v1.0 push).

Why by hand and not with oras or skopeo: the code under test is an oras-py client, so the
images it reads must reach the registry by an independent path, and the test images live
only in memory. Flow per blob: HEAD (skip when present), POST /blobs/uploads/, PUT
<Location>&digest=… (monolithic). Then PUT the manifest with its own Content-Type; child
manifests of an index go first, by digest. Auth: Basic, or the Bearer token flow read from
WWW-Authenticate (realm/service/scope), tokens cached per scope.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Protocol
from urllib.parse import quote, urljoin

import requests


class PushError(RuntimeError):
    """The registry refused a push step (carries method, URL, status and body)."""


class Pushable(Protocol):
    """What `push` needs: `support.oci.builder.Image` and `.Index` both fit."""

    @property
    def media_type(self) -> str: ...
    @property
    def manifest_bytes(self) -> bytes: ...
    @property
    def manifest_digest(self) -> str: ...

    def blobs(self) -> dict[str, bytes]: ...


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` -> ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_PARAM.findall(rest))


class RegistryClient:
    """A tiny authenticated session against one registry, enough to push and to probe."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = None, timeout: float = 30) -> None:
        self.base = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # never a proxy from the environment: loopback only
        self._authz: dict[str, str] = {}  # scope ("" for none) -> Authorization header value
        self.token_fetches = 0

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, scope: str = "", **kw: Any) -> requests.Response:
        """Send; on 401 answer the challenge once (Basic or Bearer) and resend."""
        url = path if path.startswith("http") else self.base + path
        headers = dict(kw.pop("headers", None) or {})
        if scope in self._authz:
            headers["Authorization"] = self._authz[scope]
        resp = self.session.request(method, url, headers=headers, timeout=self.timeout, **kw)
        if resp.status_code != 401 or "WWW-Authenticate" not in resp.headers:
            return resp
        scheme, params = parse_challenge(resp.headers["WWW-Authenticate"])
        if scheme == "basic":
            if self.auth is None:
                return resp
            value = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        elif scheme == "bearer":
            value = "Bearer " + self._token(params, scope)
        else:
            return resp
        self._authz[scope] = headers["Authorization"] = value
        return self.session.request(method, url, headers=headers, timeout=self.timeout, **kw)

    def _token(self, params: dict[str, str], scope: str) -> str:
        scopes = [s for s in (params.get("scope"), scope) if s]
        query: dict[str, Any] = {"scope": list(dict.fromkeys(scopes))}
        if "service" in params:
            query["service"] = params["service"]
        self.token_fetches += 1
        resp = self.session.get(params["realm"], params=query, auth=self.auth, timeout=self.timeout)
        if resp.status_code != 200:
            raise PushError(f"token request to {params['realm']} -> {resp.status_code}: {resp.text[:300]}")
        body = resp.json()
        return str(body.get("token") or body["access_token"])

    def _check(self, resp: requests.Response, *ok: int) -> requests.Response:
        if resp.status_code not in ok:
            req = resp.request
            raise PushError(f"{req.method} {req.url} -> {resp.status_code}: {resp.text[:500]}")
        return resp

    def push_blob(self, repo: str, digest: str, data: bytes) -> bool:
        """Upload one blob unless the registry has it; True when it was uploaded."""
        scope = f"repository:{repo}:pull,push"
        head = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope)
        if head.status_code == 200:
            return False
        start = self._check(self.request("POST", f"/v2/{repo}/blobs/uploads/", scope), 202)
        location = urljoin(self.base + "/", start.headers["Location"])
        sep = "&" if "?" in location else "?"
        put = self.request(
            "PUT",
            f"{location}{sep}digest={quote(digest)}",
            scope,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        self._check(put, 201)
        return True

    def push_manifest(self, repo: str, ref: str, media_type: str, data: bytes, digest: str) -> str:
        scope = f"repository:{repo}:pull,push"
        resp = self.request(
            "PUT", f"/v2/{repo}/manifests/{ref}", scope, data=data, headers={"Content-Type": media_type}
        )
        self._check(resp, 201)
        served = resp.headers.get("Docker-Content-Digest")
        if served and served != digest:
            raise PushError(f"registry computed {served} for manifest {digest} of {repo}:{ref}")
        return digest

    def push(self, repo: str, tag: str, item: Pushable) -> str:
        """Blobs, then child manifests by digest (for an index), then the tagged manifest."""
        children: list[Pushable] = list(getattr(item, "images", []))
        for child in children:
            for digest, data in child.blobs().items():
                self.push_blob(repo, digest, data)
            self.push_manifest(
                repo, child.manifest_digest, child.media_type, child.manifest_bytes, child.manifest_digest
            )
        if not children:
            for digest, data in item.blobs().items():
                self.push_blob(repo, digest, data)
        return self.push_manifest(repo, tag, item.media_type, item.manifest_bytes, item.manifest_digest)


def push(base_url: str, repo: str, tag: str, image_or_index: Pushable, auth: tuple[str, str] | None = None) -> str:
    """Push `image_or_index` as `repo:tag` to the registry at `base_url`; returns the manifest digest."""
    client = RegistryClient(base_url, auth)
    try:
        return client.push(repo, tag, image_or_index)
    finally:
        client.close()
