"""What the image crawl reads from: a registry (`registry.RegistryClient`) or images on disk
(`layout.LayoutSource`) answer the same verbs, crane's names. Light: no HTTP stack imported."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass
class Fetched:
    data: bytes
    media_type: str
    digest: str


class ImageSource(Protocol):
    """Every method raises `RegistryError` (`RegistryNotFound` for what does not exist)."""

    @property
    def name(self) -> str:
        """The source in reports: the registry host, or `layout:<path>`."""
        ...

    @property
    def requests(self) -> Mapping[str, int]:
        """Requests made so far by kind ("GET manifest", "HEAD manifest", "GET blob", …)."""
        ...

    def catalog(self) -> list[str]: ...

    def ls(self, repository: str) -> list[str]: ...

    def digest(self, repository: str, reference: str) -> tuple[str, str]:
        """(digest, media type) of a tag, as cheaply as the source allows (one HEAD)."""
        ...

    def manifest(self, repository: str, reference: str, expected_digest: str | None = None) -> Fetched:
        """The manifest's bytes, verified against its digest."""
        ...

    def blob(self, repository: str, digest: str, max_bytes: int) -> bytes:
        """A small blob (a config), whole, verified, refused past `max_bytes`."""
        ...

    def open_blob(self, repository: str, digest: str) -> Iterator[bytes]:
        """A layer, streamed in chunks; the digest is checked at the end."""
        ...

    def stop(self) -> None:
        """End what is in flight as soon as possible (the crawl is being cancelled)."""
        ...

    def close(self) -> None: ...
