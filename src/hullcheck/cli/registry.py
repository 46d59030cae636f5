"""`hullcheck registry …`: crane's verbs and outputs, to check what hullcheck sees in a registry.

Credentials and TLS: with `-c CONFIG`, those the config's `registries:` entry gives that registry
(credentials from the environment variables it names, `insecure`, `timeout_seconds`), so an operator
checks exactly what the audit will see; without it, the Docker config (DOCKER_CONFIG, credHelpers,
credsStore) as for crane. Plain HTTP for loopback hosts, with --insecure or `insecure: true`; --secure
forces HTTPS.

These are interactive: a registry that cannot be reached fails at once (the audit's retry budget is for
a night, not for a person waiting), and the usual mistakes (HTTP against HTTPS, an untrusted certificate,
no login, a mistyped repository or tag) end in one line that names the host and says what to do.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hullcheck.cli.common import FormatOpt, check_format, fail, shown
from hullcheck.errors import RegistryError, RegistryNotFound
from hullcheck.extract.image.manifest import INDEX_MEDIA_TYPES
from hullcheck.extract.image.ref import InvalidReference, parse_image_ref

if TYPE_CHECKING:  # the HTTP stack and the config model load inside the commands, not when `hullcheck` starts
    from hullcheck.config import RegistrySource
    from hullcheck.sources.registry import RegistryClient
    from hullcheck.sources.registry_auth import Credentials

app = typer.Typer(help="Read a registry the way `crane` does (catalog, ls, digest, manifest, config).",
                  no_args_is_help=True, add_completion=False)  # fmt: skip

Insecure = Annotated[
    bool | None,
    typer.Option("--insecure/--secure", help="Plain HTTP, or HTTPS even to a loopback host; default: plain HTTP "
                 "only for loopback hosts (or as the config's `insecure` says)."),
]  # fmt: skip
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", "-c", metavar="CONFIG", show_default=False,
                 help="Use the credentials and TLS settings this org config gives the registry; default: the "
                 "Docker config (DOCKER_CONFIG), as crane does."),
]  # fmt: skip
RegistryArg = Annotated[str, typer.Argument(metavar="REGISTRY", help="host[:port], e.g. registry.example.org")]
RepositoryArg = Annotated[str, typer.Argument(metavar="REPOSITORY", help="host[:port]/name, e.g. ghcr.io/acme/api")]
RefArg = Annotated[str, typer.Argument(metavar="REF", help="host[:port]/name:tag or host[:port]/name@sha256:…")]
# One retry for an answer worth retrying (429, 5xx, a reset); none for what no retry fixes (`fail_fast`).
_RETRIES, _BACKOFF = 1, 0.2


@dataclass
class _Target:
    """A client on one registry, and what its error hints need to know about how it was set up."""

    client: RegistryClient
    host: str  # as given on the command line
    insecure: bool | None  # as given on the command line (None: not given)
    config: Path | None
    entry: RegistrySource | None  # the config's entry for the registry


def _open(registry: str, insecure: bool | None, config: Path | None) -> _Target:
    from hullcheck.sources.registry import RegistryClient

    creds, read_timeout, entry, plain = None, 60.0, None, insecure
    if config is not None:
        entry = _configured(registry, config)
        creds = _config_credentials(entry, config)
        read_timeout = entry.timeout_seconds
        plain = entry.insecure if insecure is None else insecure  # the command line wins over the config
    client = RegistryClient(registry, insecure=plain, credentials=creds, timeout=(5.0, read_timeout),
                            retries=_RETRIES, backoff=_BACKOFF, fail_fast=True)  # fmt: skip
    return _Target(client, registry, insecure, config, entry)


def _configured(registry: str, config: Path) -> RegistrySource:
    from hullcheck.config import load_config
    from hullcheck.sources.registry import registry_host

    registries = load_config(config).registries  # a config error ends the command as `error: file:line: …`
    for entry in registries:
        if registry_host(entry.host) == registry_host(registry):
            return entry
    named = ", ".join(r.host for r in registries) or "none"
    raise fail(f"{registry} is not among the registries of {config} (it names {named}); without -c, the verbs use "
               "the Docker config")  # fmt: skip


def _config_credentials(entry: RegistrySource, config: Path) -> Credentials | None:
    import os

    from hullcheck.sources.registry_auth import Credentials

    if entry.credentials is None:
        return None  # as in the audit: the Docker config, else anonymous
    names = entry.credentials.username_env, entry.credentials.password_env
    unset = [f"${n}" for n in names if os.environ.get(n) is None]
    if unset:  # the variables' names only: their values are secrets
        raise fail(f"{entry.host}: {config} takes its credentials from ${names[0]} and ${names[1]}, "
                   f"and {' and '.join(unset)} {'is' if len(unset) == 1 else 'are'} not set")  # fmt: skip
    return Credentials(
        os.environ[names[0]], os.environ[names[1]], origin=f"${names[0]} and ${names[1]}, as {config} says"
    )


def _ref(ref: str) -> tuple[str, str, str]:
    """(registry, repository, tag or digest) of a reference like host:5000/team/api:1.0."""
    try:
        parsed = parse_image_ref(ref)
    except InvalidReference as e:
        raise fail(f"{ref!r} is not an image reference: {e}") from None
    return parsed.registry, parsed.repository, parsed.digest or parsed.tag or "latest"


@contextlib.contextmanager
def _hints(target: _Target) -> Iterator[None]:
    """A registry error becomes one line with a hint (exit 2); a `RegistryNotFound` is left to the command."""
    from hullcheck.sources.registry import RegistryDenied, RegistryUnreachable

    try:
        yield
    except RegistryUnreachable as e:
        raise fail(_unreachable_hint(target, e.kind, e.detail) or str(e)) from None
    except RegistryDenied as e:
        raise fail(_denied_hint(target, e)) from None
    except RegistryNotFound:
        raise
    except RegistryError as e:
        raise fail(str(e)) from None
    finally:
        target.client.close()


def _unreachable_hint(t: _Target, kind: str, detail: str) -> str | None:
    from hullcheck.sources.registry import LOOPBACK

    host, port = t.client.address()
    where = f"{t.config}'s entry for {t.host}" if t.config else "the config's entry for it"
    if kind == "refused":
        return f"{t.host}: nothing listens on {host}:{port} (connection refused): is a registry running there?"
    if kind == "dns":
        return f"{t.host}: the host name {host} does not resolve: check its spelling"
    if kind == "unreachable":
        return f"{t.host}: {host}:{port} cannot be reached from here (no route to it): check the address, the network"
    if kind == "connect-timeout":
        return f"{t.host}: no answer from {host}:{port} within {t.client.timeout[0]:g} s: a firewall, a wrong address?"
    if kind == "plain-http":
        return (f"the registry at {t.host} answered in plain HTTP, not HTTPS: use --insecure, "
                f"or `insecure: true` in {where}")  # fmt: skip
    if kind == "https-port":
        if t.insecure:
            how = "drop --insecure"
        elif t.entry is not None and t.entry.insecure:
            how = f"set `insecure: false` in {where}, or pass --secure"
        elif t.host.startswith(LOOPBACK):
            how = f"plain HTTP is the default only for loopback hosts: use --secure, or `insecure: false` in {where}"
        else:
            how = "use --secure"
        return f"the registry at {t.host} speaks HTTPS (TLS), not plain HTTP: {how}"
    if kind == "tls-verify":
        if "mismatch" in detail.lower():
            return f"{t.host}: its TLS certificate is for another name ({detail}): use a name the certificate lists"
        # The config has no CA option for registries: requests' own variable is what trusts a private CA.
        return (f"{t.host}: its TLS certificate is not trusted ({detail or 'verification failed'}): "
                f"trust the CA that signed it with REQUESTS_CA_BUNDLE=/path/to/ca.pem")  # fmt: skip
    if kind == "tls":
        return f"{t.host}: the TLS handshake failed ({detail or 'no reason given'})"
    return None


def _denied_hint(t: _Target, e: RegistryError) -> str:
    from hullcheck.sources.registry_auth import docker_config_path

    creds = t.client.credentials
    if creds is not None:  # refused: say whose and from where, never the secret
        who = f" as {creds.username!r}" if creds.username and repr(creds.username) not in str(e) else ""
        return f"{e} (credentials{who} from {creds.origin or 'the caller'})"
    docker = docker_config_path()
    if t.entry is not None:
        return (f"{t.host}: the registry requires a login; {t.config}'s entry for it names no `credentials:` "
                f"(username_env, password_env) and {docker} has none for {t.host}")  # fmt: skip
    return (f"{t.host}: the registry requires a login and there are no credentials for {t.host} in {docker} "
            f"(DOCKER_CONFIG): `docker login {t.host}`, or -c CONFIG to use those a config names")  # fmt: skip


def _missing(t: _Target, repo: str, reference: str) -> str:
    """Why a manifest is not there: the repository does not exist, or it has no such tag (a HEAD has no body)."""
    try:
        t.client.ls(repo)
    except RegistryNotFound:
        return _no_repository(t, repo)
    except RegistryError:
        pass
    shown_ref = f"{repo}@{reference}" if ":" in reference else f"{repo}:{reference}"
    what = f"no manifest {reference}" if ":" in reference else f"no tag {reference}"
    return (f"{t.host}: {shown_ref} not found: the repository has {what}; "
            f"`hullcheck registry ls {t.host}/{repo}` lists its tags")  # fmt: skip


def _no_repository(t: _Target, repo: str) -> str:
    return (f"{t.host}: repository {repo} not found: it does not exist in {t.host}; "
            f"`hullcheck registry catalog {t.host}` lists the repositories")  # fmt: skip


def _print_names(names: list[str], fmt: str, column: str) -> None:
    """One name a line (crane's output), a JSON array of strings, or CSV with a header."""
    if fmt == "json":
        typer.echo(json.dumps(names))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([[column], *([shown(n)] for n in names)])
        typer.echo(out.getvalue(), nl=False)
    else:
        for name in names:
            typer.echo(shown(name))


@app.command()
def catalog(registry: RegistryArg, fmt: FormatOpt = "table", insecure: Insecure = None,
            config: ConfigFile = None) -> None:  # fmt: skip
    """List the repositories of REGISTRY, one per line.

    \b
    Examples:
      hullcheck registry catalog registry.example.org
      hullcheck registry catalog localhost:5000 --format json
      hullcheck registry catalog registry.example.org -c hullcheck.yaml
    """
    check_format(fmt)
    target = _open(registry, insecure, config)
    with _hints(target):
        try:
            names = target.client.catalog()
        except RegistryNotFound:
            raise fail(f"{registry}: the registry offers no catalog (GET /v2/_catalog: 404); list one repository's "
                       f"tags with `hullcheck registry ls {registry}/NAME`") from None  # fmt: skip
    _print_names(names, fmt, "repository")


@app.command()
def ls(repository: RepositoryArg, fmt: FormatOpt = "table", insecure: Insecure = None,
       config: ConfigFile = None) -> None:  # fmt: skip
    """List the tags of REPOSITORY, one per line.

    \b
    Examples:
      hullcheck registry ls registry.example.org/team/api
      hullcheck registry ls localhost:5000/team/api --format json
    """
    check_format(fmt)
    reg, repo, _ = _ref(repository)
    target = _open(reg, insecure, config)
    with _hints(target):
        try:
            tags = target.client.ls(repo)
        except RegistryNotFound:
            raise fail(_no_repository(target, repo)) from None
    _print_names(tags, fmt, "tag")


@app.command()
def digest(ref: RefArg, insecure: Insecure = None, config: ConfigFile = None) -> None:
    """Print the digest REF points to, from one HEAD request.

    \b
    Examples:
      hullcheck registry digest registry.example.org/team/api:1.4
      hullcheck registry digest localhost:5000/team/api:latest -c hullcheck.yaml
    """
    reg, repo, reference = _ref(ref)
    target = _open(reg, insecure, config)
    with _hints(target):
        try:
            found = target.client.digest(repo, reference)[0]
        except RegistryNotFound:
            raise fail(_missing(target, repo, reference)) from None
    typer.echo(found)


@app.command()
def manifest(ref: RefArg, insecure: Insecure = None, config: ConfigFile = None) -> None:
    """Print the manifest of REF exactly as the registry serves it (verified against its digest).

    \b
    Examples:
      hullcheck registry manifest registry.example.org/team/api:1.4
      hullcheck registry manifest localhost:5000/team/api@sha256:…
    """
    reg, repo, reference = _ref(ref)
    target = _open(reg, insecure, config)
    with _hints(target):
        try:
            fetched = target.client.manifest(repo, reference)
        except RegistryNotFound:
            raise fail(_missing(target, repo, reference)) from None
    sys.stdout.buffer.write(fetched.data)


@app.command()
def config(
    ref: RefArg,
    insecure: Insecure = None,
    platform: Annotated[
        str, typer.Option(metavar="OS/ARCH[/VARIANT]", help="For an index: which platform's config.")
    ] = "linux/amd64",
    config: ConfigFile = None,
) -> None:
    """Print the raw config JSON of REF (for an index, of the --platform image).

    \b
    Examples:
      hullcheck registry config registry.example.org/team/api:1.4
      hullcheck registry config localhost:5000/team/api:1.4 --platform linux/arm64/v8
    """
    reg, repo, reference = _ref(ref)
    target = _open(reg, insecure, config)
    client = target.client

    def fetch() -> bytes:
        try:
            fetched = client.manifest(repo, reference)
        except RegistryNotFound:
            raise fail(_missing(target, repo, reference)) from None
        doc = json.loads(fetched.data)
        if fetched.media_type in INDEX_MEDIA_TYPES or "manifests" in doc:
            want = platform.split("/")
            for m in doc.get("manifests") or []:
                p = m.get("platform") or {}
                have = [p.get("os"), p.get("architecture")] + ([p["variant"]] if p.get("variant") else [])
                if have[: len(want)] == want:
                    doc = json.loads(client.manifest(repo, m["digest"], expected_digest=m["digest"]).data)
                    break
            else:
                raise RegistryError(f"{reg}: {repo}@{reference} has no image for platform {platform}")
        cfg = doc["config"]
        return client.blob(repo, cfg["digest"], 4 * 1024 * 1024)

    with _hints(target):
        data = fetch()
    sys.stdout.buffer.write(data)
