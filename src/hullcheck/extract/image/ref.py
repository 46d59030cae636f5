"""Image references split and normalised the way Docker does (distribution/reference).

`ubuntu` is `docker.io/library/ubuntu:latest`; a first component with a dot, a colon or
`localhost` is a registry host; `index.docker.io` is Docker Hub too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hullcheck.errors import ExtractError

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io"}  # registry-1.docker.io is not rewritten by Docker
_REPO_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_IMAGE_ID = re.compile(r"^[a-f0-9]{64}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


class InvalidReference(ExtractError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ImageRef:
    registry: str
    repository: str
    tag: str | None  # as written; None when the reference has none
    digest: str | None

    @property
    def normalized(self) -> str:
        """Full reference; an absent tag and digest means `:latest`, as `docker pull` reads it."""
        out = f"{self.registry}/{self.repository}"
        if self.tag or not self.digest:
            out += f":{self.tag or 'latest'}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_image_ref(ref: str) -> ImageRef:
    ref = ref.strip()
    if not ref:
        raise InvalidReference("empty image reference")
    if _IMAGE_ID.match(ref):
        raise InvalidReference("a 64-hex image id is not a reference")
    name, digest = ref, None
    if "@" in ref:
        name, digest = ref.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReference(f"invalid digest {digest!r}")
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid tag {tag!r}")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    for component in path.split("/"):
        if not _REPO_COMPONENT.match(component):
            raise InvalidReference(f"invalid repository name {path!r} (names are lower case)")
    return ImageRef(registry=registry, repository=path, tag=tag, digest=digest)
