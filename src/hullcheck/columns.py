"""How row dataclasses map to table columns: every field is a column of the same name,
except fields whose metadata is `NOT_STORED` (nested rows that go to tables of their own).
Shared by the extractors (which declare rows) and the store (which writes them)."""

from __future__ import annotations

from types import MappingProxyType

NOT_STORED = MappingProxyType({"stored": False})


def is_stored(metadata: object) -> bool:
    return getattr(metadata, "get", lambda *_: True)("stored", True) is not False
