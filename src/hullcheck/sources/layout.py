"""Images on disk as a registry: OCI image layouts, OCI archives and `docker save` tarballs.

`LayoutSource` is an `ImageSource` like `RegistryClient` (catalog, ls, digest, manifest,
blob), so the image crawl and the image extractor run on it unchanged. That is what CI
pipelines that export images, and the demo, use.

- OCI layout (directory or tar): `index.json` entries named by the
  `org.opencontainers.image.ref.name` annotation; a name `repo:tag` is split, a bare `tag`
  belongs to the repository named after the file.
- `docker save`: `manifest.json` lists Config, RepoTags and Layers; when the archive is not
  also an OCI layout (Docker < 25), a Docker v2 manifest is synthesised from it, so its
  digest is hullcheck's, not a registry's.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from collections.abc import Iterator
from pathlib import Path

from hullcheck.errors import RegistryError, RegistryNotFound
from hullcheck.sources.images import Fetched

_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
REF_NAME = "org.opencontainers.image.ref.name"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _split_ref_name(name: str, default_repo: str) -> tuple[str, str]:
    """`repo:tag`, `registry:5000/repo:tag`, `repo` (tag latest) or a bare `tag`."""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = name.rpartition(":")
        return repo, tag
    return (name, "latest") if "/" in name else (default_repo, name)


class LayoutSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"layout:{path}"
        self.requests: dict[str, int] = {}
        self._tar: tarfile.TarFile | None = None
        self._synthetic: dict[str, bytes] = {}  # digest -> bytes of manifests made from docker save
        self._files: dict[str, str] = {}  # blob digest -> member path (docker save layers and configs)
        self._tags: dict[str, dict[str, tuple[str, str]]] = {}  # repo -> tag -> (digest, media type)
        try:
            if path.is_dir():
                self._load()
            else:
                self._tar = tarfile.open(path)  # noqa: SIM115 - kept open while the crawl reads blobs
                self._load()
        except (OSError, tarfile.TarError, ValueError, KeyError) as e:
            raise RegistryError(f"{self.name}: not an OCI layout or image archive: {e}") from None

    def stop(self) -> None:
        """Nothing to interrupt: local reads end on their own, quickly."""

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()

    # -- reading members -----------------------------------------------------------------
    def _read(self, member: str) -> bytes | None:
        member = posixpath.normpath(member)
        if self._tar is None:
            p = self.path / member
            return p.read_bytes() if p.is_file() else None
        try:
            f = self._tar.extractfile(member)
        except KeyError:
            return None
        return f.read() if f else None

    def _blob_member(self, digest: str) -> str:
        if digest in self._files:
            return self._files[digest]
        algo, _, hexdigest = digest.partition(":")
        return f"blobs/{algo}/{hexdigest}"

    def _load(self) -> None:
        repo_default = self.path.name.split(".")[0] or "image"
        index = self._read("index.json")
        if index is not None:
            for m in json.loads(index).get("manifests") or []:
                notes = m.get("annotations") or {}
                # Docker >= 25 `docker save` puts the full name in containerd's annotation, a bare tag in ref.name.
                name = notes.get("io.containerd.image.name") or notes.get(REF_NAME) or m["digest"].split(":")[1][:12]
                repo, tag = _split_ref_name(name, repo_default)
                self._tags.setdefault(repo, {})[tag] = (m["digest"], m.get("mediaType", ""))
        docker = self._read("manifest.json")
        if docker is not None and not self._tags:
            for entry in json.loads(docker):
                config = self._read(entry["Config"]) or b""
                config_digest = _sha(config)
                self._files[config_digest] = entry["Config"]
                layers = []
                for layer_path in entry["Layers"]:
                    layer = self._read(layer_path) or b""
                    d = _sha(layer)
                    self._files[d] = layer_path
                    layers.append({"mediaType": _DOCKER_LAYER, "size": len(layer), "digest": d})
                manifest = json.dumps({
                    "schemaVersion": 2, "mediaType": _DOCKER_MANIFEST,
                    "config": {"mediaType": _DOCKER_CONFIG, "size": len(config), "digest": config_digest},
                    "layers": layers,
                }).encode()  # fmt: skip
                digest = _sha(manifest)
                self._synthetic[digest] = manifest
                for ref in entry.get("RepoTags") or [f"{repo_default}:{digest[7:19]}"]:
                    repo, _, tag = ref.rpartition(":")
                    self._tags.setdefault(repo, {})[tag] = (digest, _DOCKER_MANIFEST)
        if not self._tags:
            raise ValueError("neither index.json nor manifest.json names an image")

    # -- the RegistryClient verbs -------------------------------------------------------------
    def _count(self, key: str) -> None:
        self.requests[key] = self.requests.get(key, 0) + 1

    def catalog(self) -> list[str]:
        return sorted(self._tags)

    def ls(self, repository: str) -> list[str]:
        if repository not in self._tags:
            raise RegistryNotFound(f"{self.name}: repository {repository} not found")
        return sorted(self._tags[repository])

    def digest(self, repository: str, reference: str) -> tuple[str, str]:
        self._count("HEAD manifest")
        try:
            return self._tags[repository][reference]
        except KeyError:
            raise RegistryNotFound(f"{self.name}: {repository}:{reference} not found") from None

    def manifest(self, repository: str, reference: str, expected_digest: str | None = None) -> Fetched:
        self._count("GET manifest")
        digest = reference if reference.startswith("sha256:") else self.digest(repository, reference)[0]
        data = self._synthetic.get(digest) or self._read(self._blob_member(digest))
        if data is None:
            raise RegistryNotFound(f"{self.name}: manifest {digest} missing from the layout")
        if _sha(data) != (expected_digest or digest):
            raise RegistryError(f"{self.name}: manifest {digest} does not match its digest: refused")
        media_type = json.loads(data).get("mediaType") or ""
        return Fetched(data, media_type, digest)

    def blob(self, repository: str, digest: str, max_bytes: int) -> bytes:
        self._count("GET blob")
        data = self._read(self._blob_member(digest))
        if data is None:
            raise RegistryNotFound(f"{self.name}: blob {digest} missing from the layout")
        if len(data) > max_bytes:
            raise RegistryError(f"{self.name}: blob {digest} is over the {max_bytes}-byte limit: refused")
        if _sha(data) != digest:
            raise RegistryError(f"{self.name}: blob {digest} does not match its digest: refused")
        return data

    def open_blob(self, repository: str, digest: str) -> Iterator[bytes]:
        yield self.blob(repository, digest, 1 << 40)
