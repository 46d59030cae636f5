"""`hullcheck registry …`: crane's verbs and outputs, to check what hullcheck sees in a registry.

Credentials come from the Docker config (DOCKER_CONFIG, credHelpers, credsStore) as for crane;
plain HTTP is used for loopback hosts or with --insecure.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from hullcheck.cli.common import fail
from hullcheck.errors import RegistryError
from hullcheck.extract.image.manifest import INDEX_MEDIA_TYPES
from hullcheck.extract.image.ref import InvalidReference, parse_image_ref

if TYPE_CHECKING:  # the HTTP stack loads inside the commands, not when `hullcheck` starts
    from hullcheck.sources.registry import RegistryClient

app = typer.Typer(help="Read a registry the way `crane` does (catalog, ls, digest, manifest, config).",
                  no_args_is_help=True, add_completion=False)  # fmt: skip

Insecure = Annotated[bool | None, typer.Option("--insecure", help="Plain HTTP (default only for loopback hosts).")]


def _client(registry: str, insecure: bool | None) -> RegistryClient:
    from hullcheck.sources.registry import RegistryClient

    return RegistryClient(registry, insecure=insecure)


def _ref(ref: str) -> tuple[str, str, str]:
    """(registry, repository, tag or digest) of a reference like host:5000/team/api:1.0."""
    try:
        parsed = parse_image_ref(ref)
    except InvalidReference as e:
        raise fail(f"{ref!r} is not an image reference: {e}") from None
    return parsed.registry, parsed.repository, parsed.digest or parsed.tag or "latest"


@app.command()
def catalog(registry: str, insecure: Insecure = None) -> None:
    """List the repositories of REGISTRY (host[:port]), one per line."""
    for repo in _client(registry, insecure).catalog():
        typer.echo(repo)


@app.command()
def ls(repository: str, insecure: Insecure = None) -> None:
    """List the tags of REPOSITORY (host[:port]/name), one per line."""
    reg, repo, _ = _ref(repository)
    for tag in _client(reg, insecure).ls(repo):
        typer.echo(tag)


@app.command()
def digest(ref: str, insecure: Insecure = None) -> None:
    """Print the digest REF (host/name:tag) points to, from one HEAD request."""
    reg, repo, reference = _ref(ref)
    typer.echo(_client(reg, insecure).digest(repo, reference)[0])


@app.command()
def manifest(ref: str, insecure: Insecure = None) -> None:
    """Print the manifest of REF exactly as the registry serves it (verified against its digest)."""
    reg, repo, reference = _ref(ref)
    fetched = _client(reg, insecure).manifest(repo, reference)
    sys.stdout.buffer.write(fetched.data)


@app.command()
def config(
    ref: str,
    insecure: Insecure = None,
    platform: Annotated[str, typer.Option(help="For an index: which platform's config.")] = "linux/amd64",
) -> None:
    """Print the raw config JSON of REF (for an index, of the --platform image)."""
    reg, repo, reference = _ref(ref)
    client = _client(reg, insecure)

    def fetch() -> bytes:
        fetched = client.manifest(repo, reference)
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

    sys.stdout.buffer.write(fetch())
