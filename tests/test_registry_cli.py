"""`hullcheck registry …` as an operator meets it: real registries (plain, TLS, Basic and Bearer auth), the
installed command in a subprocess. It fails at once when nothing listens, says which protocol the
registry speaks, which credentials are missing or refused (never printing one), which repository or tag
does not exist; `-c CONFIG` uses the credentials and TLS settings the config names; lists parse as JSON."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from support.oci.builder import Image, Layer
from support.oci.push import RegistryClient as PushClient
from support.oci.registry import REGISTRY_BIN, Registry, _config, free_port
from support.smtp import _certificates

from hullcheck.sources.registry import RegistryClient, RegistryUnreachable

EXE = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[1] / ".venv")) / "bin" / "hullcheck"


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command, with a Docker config of our own (never the developer's ~/.docker)."""
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, **(env or {})})  # fmt: skip


@pytest.fixture
def no_docker_login(tmp_path: Path) -> dict[str, str]:
    """An empty Docker config: no credentials for any registry."""
    (tmp_path / "docker").mkdir()
    return {"DOCKER_CONFIG": str(tmp_path / "docker")}


def _image(seed: str = "") -> Image:
    return Image([Layer({"etc/app": f"app {seed}".encode()})], {"User": "app"})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens here once the socket closes


def _error(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command (exit 2, no traceback)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: "), result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, Path]]:
    """`docker-registry` serving HTTPS on a loopback port, its certificate (127.0.0.1, localhost) signed by a
    private CA; yields the registry (holding `tls/app:1`) and the CA file."""
    root = tmp_path_factory.mktemp("tls-registry")
    ca, cert, key = _certificates(root)
    port = free_port()
    cfg = _config(root, port, None)
    cfg["http"]["tls"] = {"certificate": str(cert), "key": str(key)}
    (root / "config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    log = root / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([REGISTRY_BIN, "serve", str(root / "config.yml")], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)  # fmt: skip
    reg = Registry(f"127.0.0.1:{port}", root, proc, log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"https://{reg.host}/v2/", verify=str(ca), timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the TLS registry did not start:\n{reg.log()}") from None
                time.sleep(0.05)
        pusher = PushClient(f"https://{reg.host}")
        pusher.session.verify = str(ca)
        try:
            pusher.push("tls/app", "1", _image("tls"))
        finally:
            pusher.close()
        yield reg, ca
    finally:
        reg.stop()


# -- fail fast ------------------------------------------------------------------------------------------


def test_a_refused_port_fails_at_once_and_says_nothing_listens() -> None:
    port = _closed_port()
    extra = []
    for _ in range(3):  # the best of three: a busy machine must not make this flaky
        start = time.monotonic()  # what starting Python, hullcheck and its HTTP stack costs on this machine now
        subprocess.run([str(EXE.parent / "python"), "-c", "import hullcheck.cli.app, hullcheck.sources.registry"],
                       check=True, timeout=60)  # fmt: skip
        startup = time.monotonic() - start
        start = time.monotonic()
        result = _run("registry", "catalog", f"127.0.0.1:{port}")
        extra.append((time.monotonic() - start - startup, startup))
        message = _error(result)
        assert f"nothing listens on 127.0.0.1:{port}" in message and "retried" not in message, message
    # Under a second beyond start-up (the whole command takes ~0.4 s on an idle machine); with the audit's
    # retries and backoff it took 4.3 s, never less than 1.75 s.
    assert min(e for e, _ in extra) < 1.0, extra
    # The same client with the audit's retry budget asks once when interactive (`fail_fast`).
    client = RegistryClient(f"127.0.0.1:{port}", retries=3, backoff=0.01, fail_fast=True)
    with pytest.raises(RegistryUnreachable) as caught:
        client.catalog()
    assert caught.value.kind == "refused" and client.requests["GET catalog"] == 1


def test_an_unknown_host_name_is_named() -> None:
    message = _error(_run("registry", "catalog", "no-such-registry.invalid"))
    assert "the host name no-such-registry.invalid does not resolve" in message, message


# -- HTTP against HTTPS ---------------------------------------------------------------------------------


def test_https_to_a_plain_http_registry_says_use_insecure(registry: Registry, tmp_path: Path) -> None:
    message = _error(_run("registry", "catalog", registry.host, "--secure"))
    assert f"the registry at {registry.host} answered in plain HTTP" in message, message
    assert "--insecure" in message and "`insecure: true`" in message, message
    cfg = tmp_path / "hullcheck.yaml"
    cfg.write_text(yaml.safe_dump({"registries": [{"url": registry.host, "insecure": False}]}))
    message = _error(_run("registry", "catalog", registry.host, "-c", str(cfg)))
    assert "answered in plain HTTP" in message and f"{cfg}'s entry for {registry.host}" in message, message


def test_plain_http_to_a_tls_port_says_use_secure(tls_registry: tuple[Registry, Path], tmp_path: Path) -> None:
    reg, _ = tls_registry
    message = _error(_run("registry", "catalog", reg.host))  # loopback: plain HTTP by default
    assert f"the registry at {reg.host} speaks HTTPS (TLS), not plain HTTP" in message, message
    assert "--secure" in message and "loopback" in message, message
    assert "drop --insecure" in _error(_run("registry", "ls", f"{reg.host}/tls/app", "--insecure"))
    cfg = tmp_path / "hullcheck.yaml"
    cfg.write_text(yaml.safe_dump({"registries": [{"url": reg.host, "insecure": True}]}))
    message = _error(_run("registry", "catalog", reg.host, "-c", str(cfg)))
    assert f"`insecure: false` in {cfg}" in message, message


def test_an_untrusted_certificate_names_the_ca_option_and_the_ca_makes_it_work(
    tls_registry: tuple[Registry, Path],
) -> None:
    reg, ca = tls_registry
    message = _error(_run("registry", "catalog", reg.host, "--secure"))
    assert f"{reg.host}: its TLS certificate is not trusted" in message and "REQUESTS_CA_BUNDLE" in message, message
    trusted = {"REQUESTS_CA_BUNDLE": str(ca)}
    for host in (reg.host, reg.host.replace("127.0.0.1", "localhost")):  # both names are in the certificate
        listed = _run("registry", "catalog", host, "--secure", env=trusted)
        assert listed.returncode == 0 and listed.stdout.split() == ["tls/app"], listed.stderr
    digest = _run("registry", "digest", f"{reg.host}/tls/app:1", "--secure", env=trusted)
    assert digest.returncode == 0 and digest.stdout.startswith("sha256:"), digest.stderr


# -- what does not exist ---------------------------------------------------------------------------------


def test_a_missing_repository_or_tag_says_which_and_how_to_list(registry: Registry) -> None:
    registry.push("team/app", "1.0", _image())
    host = registry.host
    for args in (("ls", f"{host}/team/nope"), ("digest", f"{host}/team/nope:1.0"),
                 ("manifest", f"{host}/team/nope:1.0"), ("config", f"{host}/team/nope:1.0")):  # fmt: skip
        message = _error(_run("registry", *args))
        assert f"repository team/nope not found: it does not exist in {host}" in message, (args, message)
        assert f"`hullcheck registry catalog {host}` lists" in message, message
    for verb in ("digest", "manifest", "config"):
        message = _error(_run("registry", verb, f"{host}/team/app:2.0"))
        assert f"{host}: team/app:2.0 not found: the repository has no tag 2.0" in message, message
        assert f"`hullcheck registry ls {host}/team/app` lists its tags" in message, message


# -- credentials: the Docker config, or -c CONFIG ----------------------------------------------------------


def test_a_config_s_credentials_open_a_basic_auth_registry(
    basic_registry: Registry, tmp_path: Path, no_docker_login: dict[str, str]
) -> None:
    basic_registry.push("private/app", "1", _image("basic"))
    host, password = basic_registry.host, basic_registry.password or ""
    message = _error(_run("registry", "catalog", host, env=no_docker_login))
    assert f"there are no credentials for {host} in {no_docker_login['DOCKER_CONFIG']}/config.json" in message
    assert f"`docker login {host}`" in message and "-c CONFIG" in message, message

    cfg = tmp_path / "hullcheck.yaml"
    creds = {"username_env": "HC_REG_USER", "password_env": "HC_REG_PASS"}
    cfg.write_text(yaml.safe_dump({"registries": [{"url": host, "credentials": creds}]}))
    login = {**no_docker_login, "HC_REG_USER": basic_registry.username or "", "HC_REG_PASS": password}
    listed = _run("registry", "catalog", host, "-c", str(cfg), "--format", "json", env=login)
    assert listed.returncode == 0 and json.loads(listed.stdout) == ["private/app"], listed.stderr
    for args in (("ls", f"{host}/private/app"), ("digest", f"{host}/private/app:1"),
                 ("config", f"{host}/private/app:1")):  # fmt: skip
        done = _run("registry", *args, "-c", str(cfg), env=login)
        assert done.returncode == 0 and done.stdout.strip(), (args, done.stderr)
        assert password not in done.stdout + done.stderr

    unset = _error(_run("registry", "catalog", host, "-c", str(cfg), env=no_docker_login))
    assert "$HC_REG_USER and $HC_REG_PASS are not set" in unset and host in unset, unset
    wrong = _error(_run("registry", "catalog", host, "-c", str(cfg),
                        env={**login, "HC_REG_PASS": "not-the-password"}))  # fmt: skip
    assert f"{host}: access to the catalog denied (HTTP 401)" in wrong and "$HC_REG_USER" in wrong, wrong
    assert "not-the-password" not in wrong
    cfg.write_text(yaml.safe_dump({"registries": [{"url": host}]}))  # an entry without credentials
    bare = _error(_run("registry", "catalog", host, "-c", str(cfg), env=no_docker_login))
    assert f"{cfg}'s entry for it names no `credentials:`" in bare, bare
    other = _error(_run("registry", "catalog", "127.0.0.1:1", "-c", str(cfg), env=no_docker_login))
    assert f"127.0.0.1:1 is not among the registries of {cfg} (it names {host})" in other, other


def test_a_config_s_credentials_open_a_token_registry(
    token_registry: Registry, tmp_path: Path, no_docker_login: dict[str, str]
) -> None:
    token_registry.push("team/tok", "1", _image("token"))
    host = token_registry.host
    message = _error(_run("registry", "ls", f"{host}/team/tok", env=no_docker_login))
    assert f"there are no credentials for {host}" in message, message
    cfg = tmp_path / "hullcheck.yaml"
    creds = {"username_env": "HC_REG_USER", "password_env": "HC_REG_PASS"}
    cfg.write_text(yaml.safe_dump({"registries": [{"url": host, "credentials": creds}]}))
    login = {
        **no_docker_login,
        "HC_REG_USER": token_registry.username or "",
        "HC_REG_PASS": token_registry.password or "",
    }
    tags = _run("registry", "ls", f"{host}/team/tok", "-c", str(cfg), "--format", "json", env=login)
    assert tags.returncode == 0 and json.loads(tags.stdout) == ["1"], tags.stderr


# -- output ------------------------------------------------------------------------------------------------


def test_lists_as_lines_json_and_csv(registry: Registry) -> None:
    for tag in ("1.0", "2.0"):
        registry.push("fmt/app", tag, _image(tag))
    host = registry.host
    repos = json.loads(_run("registry", "catalog", host, "--format", "json").stdout)
    assert isinstance(repos, list) and "fmt/app" in repos and all(isinstance(r, str) for r in repos)
    assert _run("registry", "catalog", host).stdout.splitlines() == repos  # the default: crane's, one a line
    tags = json.loads(_run("registry", "ls", f"{host}/fmt/app", "--format", "json").stdout)
    assert sorted(tags) == ["1.0", "2.0"]  # in the registry's order, as crane prints them
    rows = list(csv.reader(io.StringIO(_run("registry", "ls", f"{host}/fmt/app", "--format", "csv").stdout)))
    assert rows == [["tag"], *([t] for t in tags)]
    assert "unknown format 'yaml'" in _error(_run("registry", "ls", f"{host}/fmt/app", "--format", "yaml"))


def test_help_names_values_and_gives_examples() -> None:
    for verb, metavar in (("catalog", "REGISTRY"), ("ls", "REPOSITORY"), ("digest", "REF"), ("manifest", "REF"),
                          ("config", "REF")):  # fmt: skip
        text = _run("registry", verb, "--help").stdout
        assert metavar in text and "Examples:" in text and f"hullcheck registry {verb} " in text, text
        assert "--config CONFIG" in text and "--insecure / --secure" in text, text
        assert "<str>" not in text and "<bool>" not in text and "<Path>" not in text, text
