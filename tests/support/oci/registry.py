"""A real CNCF distribution registry (`docker-registry serve`, Debian's 2.8.2) run as a child process.

Why: the registry client must be tested against the software it will meet, not a mock.
`start_registry` writes a config (filesystem storage in a tmp dir, deletes enabled, log
level warn), picks a free loopback port, starts the binary and waits until `GET /v2/`
answers. Auth is optional: htpasswd (bcrypt via `htpasswd -Bbn`) or token, where
`TokenIssuer` (in `support.oci.token_issuer`) plays the authorization server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from support.oci.push import Pushable, RegistryClient
from support.oci.token_issuer import TokenIssuer

REGISTRY_BIN = os.environ.get("HULLCHECK_REGISTRY_BIN", "/usr/bin/docker-registry")


class RegistryError(RuntimeError):
    """The registry process did not start or answer (its log is in the message)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def registry_available() -> bool:
    return Path(REGISTRY_BIN).exists() or shutil.which("docker-registry") is not None


@dataclass
class Registry:
    """A running registry: `.host` ("127.0.0.1:PORT"), `.url`, credentials if any, `.push()`."""

    host: str
    root: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    username: str | None = None
    password: str | None = None
    issuer: TokenIssuer | None = None
    pushed: dict[str, str] = field(default_factory=dict)  # "repo:tag" -> manifest digest
    images: dict[str, Pushable] = field(default_factory=dict)  # "repo:tag" -> what was pushed there

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username and self.password else None

    @property
    def token_requests(self) -> int:
        """How many times the token endpoint was asked (0 without token auth)."""
        return self.issuer.token_requests if self.issuer else 0

    def ref(self, repo: str, tag: str) -> str:
        """`HOST/repo:tag`, as skopeo or docker would write it."""
        return f"{self.host}/{repo}:{tag}"

    def client(self) -> RegistryClient:
        """A raw, authenticated `requests` client on this registry (for probing in tests)."""
        return RegistryClient(self.url, self.auth)

    def push(self, repo: str, tag: str, image: Pushable) -> str:
        client = self.client()
        try:
            digest = client.push(repo, tag, image)
        finally:
            client.close()
        self.pushed[f"{repo}:{tag}"] = digest
        self.images[f"{repo}:{tag}"] = image
        return digest

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd entry from Apache's own tool (distribution accepts bcrypt only)."""
    out = subprocess.run(["htpasswd", "-Bbn", username, password], check=True, capture_output=True, text=True)
    return out.stdout.strip() + "\n"


def _config(root: Path, port: int, auth: dict[str, Any] | None) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "data")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "hullcheck-test-secret", "headers": {}},
    }
    if auth:
        cfg["auth"] = auth
    return cfg


def start_registry(
    root: Path,
    auth: dict[str, Any] | None = None,
    *,
    username: str | None = None,
    password: str | None = None,
    issuer: TokenIssuer | None = None,
    timeout: float = 20,
) -> Registry:
    """Start `docker-registry serve` under `root`; retries on a port race. Caller must `.stop()`."""
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    last = ""
    for attempt in range(3):
        port = free_port()
        cfg_path = root / "config.yml"
        cfg_path.write_text(yaml.safe_dump(_config(root, port, auth), sort_keys=False))
        log_path = root / f"registry-{attempt}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [REGISTRY_BIN, "serve", str(cfg_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        reg = Registry(f"127.0.0.1:{port}", root, proc, log_path, username, password, issuer)
        if _wait_ready(reg, timeout):
            return reg
        reg.stop()
        last = reg.log()
        if "address already in use" not in last:
            break
    raise RegistryError(f"docker-registry did not answer on GET /v2/:\n{last[-3000:]}")


def _wait_ready(reg: Registry, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    with requests.Session() as s:
        s.trust_env = False
        while time.monotonic() < deadline:
            if reg.proc.poll() is not None:
                return False
            try:
                if s.get(reg.url + "/v2/", timeout=1).status_code in (200, 401):
                    return True
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
    return False


def start_basic_registry(root: Path, username: str = "hullcheck", password: str = "s3cret-pass") -> Registry:
    htpasswd = root / "htpasswd"
    root.mkdir(parents=True, exist_ok=True)
    htpasswd.write_text(htpasswd_line(username, password))
    auth = {"htpasswd": {"realm": "hullcheck-basic", "path": str(htpasswd)}}
    return start_registry(root, auth, username=username, password=password)


def start_token_registry(root: Path, username: str = "hullcheck", password: str = "t0ken-pass") -> Registry:
    """Registry with `auth: token` whose realm is a `TokenIssuer` on another loopback port."""
    root.mkdir(parents=True, exist_ok=True)
    issuer = TokenIssuer({username: password})
    cert = root / "token-issuer.crt"
    cert.write_bytes(issuer.cert_pem)
    auth = {
        "token": {
            "realm": issuer.realm,
            "service": issuer.service,
            "issuer": issuer.issuer,
            "rootcertbundle": str(cert),
        }
    }
    try:
        return start_registry(root, auth, username=username, password=password, issuer=issuer)
    except BaseException:
        issuer.close()
        raise


def stop(reg: Registry) -> None:
    reg.stop()
    if reg.issuer is not None:
        reg.issuer.close()
