"""Registry credentials and auth challenges, the way crane's default keychain finds them.

Order: explicit credentials (config or environment) → `$DOCKER_CONFIG/config.json` (or
`~/.docker/config.json`): `credHelpers[host]`, then `auths[host]`, then `credsStore`.
Secrets stay in memory: never logged, never stored, never part of an error message.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hullcheck.errors import CredentialError

HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
HUB_CONFIG_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)  # OAuth2 refresh token from `docker login`
    origin: str = field(default="", compare=False)  # where they were found, for an error that says so (no secret)

    def basic_header(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def _config_keys(host: str) -> tuple[str, ...]:
    if host in HUB_ALIASES:
        return HUB_CONFIG_KEYS
    return (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/")


def docker_config_path() -> Path:
    """The Docker config file crane and docker read: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`."""
    return Path(os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")) / "config.json"


def _docker_config() -> dict:
    path = docker_config_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise CredentialError(f"{path}: cannot read the Docker config: {e}") from None


def _helper(name: str, host: str) -> Credentials | None:
    binary = f"docker-credential-{name}"
    try:
        proc = subprocess.run([binary, "get"], input=host, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        raise CredentialError(f"credential helper {binary} is configured but not installed") from None
    except subprocess.TimeoutExpired:
        raise CredentialError(f"credential helper {binary} did not answer within 30 s") from None
    if proc.returncode != 0:
        if "credentials not found" in (proc.stdout + proc.stderr).lower():
            return None
        raise CredentialError(f"credential helper {binary} failed for {host} (exit {proc.returncode})")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise CredentialError(f"credential helper {binary} returned something that is not JSON") from None
    user, secret = data.get("Username", ""), data.get("Secret", "")
    if user == "<token>":
        return Credentials(identity_token=secret, origin=f"credential helper {binary}")
    return Credentials(user, secret, origin=f"credential helper {binary}")


def find_credentials(host: str, explicit: Credentials | None = None) -> Credentials | None:
    """Credentials for `host`, or None for anonymous access."""
    if explicit is not None:
        return explicit
    config = _docker_config()
    keys = _config_keys(host)
    helpers = config.get("credHelpers") or {}
    for key in keys:
        if key in helpers:
            return _helper(helpers[key], key)
    auths = config.get("auths") or {}
    for key in keys:
        entry = auths.get(key)
        if not entry:
            continue
        origin = f"{docker_config_path()} (auths)"
        if entry.get("identitytoken"):
            return Credentials(entry.get("username", ""), identity_token=entry["identitytoken"], origin=origin)
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except ValueError:
                raise CredentialError(f"Docker config: the auth entry for {key} is not valid base64") from None
            return Credentials(user, password, origin=origin)
        if entry.get("username"):
            return Credentials(entry["username"], entry.get("password", ""), origin=origin)
    if config.get("credsStore"):
        return _helper(config["credsStore"], keys[0])
    return None


_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Challenge:
    scheme: str  # basic | bearer
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    return Challenge(scheme.lower(), dict(_CHALLENGE.findall(rest)))
