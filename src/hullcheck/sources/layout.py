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
from typing import IO

from hullcheck import jsonshape as shape
from hullcheck.errors import ExtractError, RegistryError, RegistryNotFound
from hullcheck.jsonshape import DIGEST, MAX_JSON_BYTES
from hullcheck.sources.images import Fetched

_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
REF_NAME = "org.opencontainers.image.ref.name"
_CHUNK = 1024 * 1024


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
        self._root = path.resolve() if path.is_dir() else None
        self._synthetic: dict[str, bytes] = {}  # digest -> bytes of manifests made from docker save
        self._files: dict[str, str] = {}  # blob digest -> member path (docker save layers and configs)
        self._tags: dict[str, dict[str, tuple[str, str]]] = {}  # repo -> tag -> (digest, media type)
        try:
            if path.is_dir():
                self._load()
            else:
                self._tar = tarfile.open(path)  # noqa: SIM115 - kept open while the crawl reads blobs
                self._load()
        except (OSError, tarfile.TarError, EOFError, ValueError, KeyError, ExtractError) as e:
            raise RegistryError(f"{self.name}: not an OCI layout or image archive: {e}") from None

    def stop(self) -> None:
        """Nothing to interrupt: local reads end on their own, quickly."""

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()

    # -- reading members, never outside the layout ------------------------------------------
    def _open(self, member: str) -> IO[bytes] | None:
        """A member of the layout, or None when absent or when it points outside the layout
        (`..`, an absolute path, a symlink leaving the directory): such a path is never opened."""
        if not member or member.startswith("/") or "\0" in member:
            return None
        member = posixpath.normpath(member)
        if member == ".." or member.startswith("../"):
            return None
        if self._tar is None:
            assert self._root is not None
            p = (self._root / member).resolve()
            if not p.is_relative_to(self._root) or not p.is_file():
                return None
            return p.open("rb")
        try:
            info = self._tar.getmember(member)
        except KeyError:
            return None
        if info.islnk() or info.issym():  # a link inside an archive resolves inside it, or not at all
            target = posixpath.normpath(posixpath.join(posixpath.dirname(member), info.linkname))
            if info.linkname.startswith("/") or target.startswith("../") or target == "..":
                return None
        try:
            return self._tar.extractfile(info)
        except KeyError:
            return None

    def _read(self, member: str, cap: int = MAX_JSON_BYTES) -> bytes | None:
        f = self._open(member)
        if f is None:
            return None
        with f:
            data = f.read(cap + 1)
        if len(data) > cap:
            raise RegistryError(f"{self.name}: {member} is over the {cap}-byte limit: refused")
        return data

    def _blob_member(self, digest: str) -> str:
        if digest in self._files:
            return self._files[digest]
        if not DIGEST.match(digest):
            raise RegistryNotFound(f"{self.name}: {digest!r} is not a digest")
        algo, _, hexdigest = digest.partition(":")
        return f"blobs/{algo}/{hexdigest}"

    def _load(self) -> None:
        repo_default = self.path.name.split(".")[0] or "image"
        index = self._read("index.json")
        if index is not None:
            doc = shape.obj(shape.load_json(index, "index.json"), "index.json")
            for i, m in enumerate(shape.arr(doc.get("manifests"), "index.json: manifests")):
                where = f"index.json: manifests[{i}]"
                m = shape.obj(m, where)
                digest = shape.digest(m.get("digest"), f"{where}.digest")
                notes = shape.string_map(m.get("annotations"), f"{where}.annotations")
                # Docker >= 25 `docker save` puts the full name in containerd's annotation, a bare tag in ref.name.
                name = notes.get("io.containerd.image.name") or notes.get(REF_NAME) or digest.split(":")[1][:12]
                repo, tag = _split_ref_name(name, repo_default)
                media = shape.text(m.get("mediaType"), f"{where}.mediaType") or ""
                self._tags.setdefault(repo, {})[tag] = (digest, media)
        docker = self._read("manifest.json")
        if docker is not None and not self._tags:
            entries = shape.arr(shape.load_json(docker, "manifest.json"), "manifest.json")
            for i, entry in enumerate(entries):
                where = f"manifest.json[{i}]"
                entry = shape.obj(entry, where)
                config_path = shape.text(entry.get("Config"), f"{where}.Config") or ""
                config = self._read(config_path)
                if config is None:
                    raise RegistryError(f"{self.name}: {where}.Config ({config_path}) is not a file in the archive")
                config_digest = _sha(config)
                self._files[config_digest] = config_path
                layers = []
                for layer_path in shape.strings(entry.get("Layers"), f"{where}.Layers"):
                    d, n = self._digest_of(layer_path)
                    if d is None:
                        raise RegistryError(f"{self.name}: {where}.Layers: {layer_path} is not a file in the archive")
                    self._files[d] = layer_path
                    layers.append({"mediaType": _DOCKER_LAYER, "size": n, "digest": d})
                manifest = json.dumps({
                    "schemaVersion": 2, "mediaType": _DOCKER_MANIFEST,
                    "config": {"mediaType": _DOCKER_CONFIG, "size": len(config), "digest": config_digest},
                    "layers": layers,
                }).encode()  # fmt: skip
                digest = _sha(manifest)
                self._synthetic[digest] = manifest
                for ref in shape.strings(entry.get("RepoTags"), f"{where}.RepoTags") or [
                    f"{repo_default}:{digest[7:19]}"
                ]:
                    repo, _, tag = ref.rpartition(":")
                    self._tags.setdefault(repo or repo_default, {})[tag] = (digest, _DOCKER_MANIFEST)
        if not self._tags:
            raise ValueError("neither index.json nor manifest.json names an image")

    def _digest_of(self, member: str) -> tuple[str | None, int]:
        """(sha256 digest, size) of a member, read in chunks (a layer is never whole in memory)."""
        f = self._open(member)
        if f is None:
            return None, 0
        h, n = hashlib.sha256(), 0
        with f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                n += len(chunk)
        return "sha256:" + h.hexdigest(), n

    # -- the ImageSource verbs -----------------------------------------------------------------
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
        if data is None:  # listed by the index: a broken layout (not a tag deleted while we read)
            raise RegistryError(f"{self.name}: manifest {digest} missing from the layout (or not a file in it)")
        if _sha(data) != (expected_digest or digest):
            raise RegistryError(f"{self.name}: manifest {digest} does not match its digest: refused")
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            doc = None
        media_type = doc.get("mediaType") if isinstance(doc, dict) else None
        return Fetched(data, media_type if isinstance(media_type, str) else "", digest)

    def blob(self, repository: str, digest: str, max_bytes: int) -> bytes:
        self._count("GET blob")
        data = self._read(self._blob_member(digest), max_bytes)
        if data is None:
            raise RegistryNotFound(f"{self.name}: blob {digest} missing from the layout")
        if _sha(data) != digest:
            raise RegistryError(f"{self.name}: blob {digest} does not match its digest: refused")
        return data

    def open_blob(self, repository: str, digest: str) -> Iterator[bytes]:
        """A layer, streamed in chunks, its digest checked at the end."""
        self._count("GET blob")
        f = self._open(self._blob_member(digest))
        if f is None:
            raise RegistryNotFound(f"{self.name}: blob {digest} missing from the layout")
        h = hashlib.sha256()
        with f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                yield chunk
        if "sha256:" + h.hexdigest() != digest:
            raise RegistryError(f"{self.name}: blob {digest} does not match its digest: refused")
