"""Typed reads of external JSON (manifests, indexes, configs, index.json, docker save manifests).

Image metadata comes from registries and from files anyone can write: every field is checked
for the shape it must have before use, and a wrong one is an `ImageFormatError` naming the
document and the field ("index.json: manifests[3].digest is not a digest"), never a
`TypeError` from deep inside. Depth and size are bounded before parsing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hullcheck.errors import ExtractError

MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64  # image metadata is a few levels deep; 100,000 nested arrays are an attack
# The OCI digest grammar: algorithm ":" encoded (no "/" or ".." can appear).
DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class ImageFormatError(ExtractError):
    """Image metadata that is not what the specification says it is."""


def load_json(data: bytes, what: str) -> Any:
    if len(data) > MAX_JSON_BYTES:
        raise ImageFormatError(f"{what} is {len(data)} bytes, over the {MAX_JSON_BYTES}-byte limit: refused")
    depth = 0
    for byte in data:  # measured before parsing: json's recursion is not ours to catch everywhere
        if byte in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ImageFormatError(f"{what} is nested more than {MAX_DEPTH} levels deep: refused")
        elif byte in b"]}":
            depth -= 1
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ImageFormatError(f"{what} is not JSON: {e}") from None


def obj(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ImageFormatError(f"{where} is not a JSON object")
    return v


def opt_obj(v: Any, where: str) -> dict[str, Any]:
    return {} if v is None else obj(v, where)


def arr(v: Any, where: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise ImageFormatError(f"{where} is not a list")
    return v


def text(v: Any, where: str) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ImageFormatError(f"{where} is not a string")
    return v


def size(v: Any, where: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ImageFormatError(f"{where} is not a size (a non-negative integer)")
    return v


def digest(v: Any, where: str) -> str:
    if not isinstance(v, str) or not DIGEST.match(v):
        raise ImageFormatError(f"{where} is not a digest")
    return v


def strings(v: Any, where: str) -> list[str]:
    items = arr(v, where)
    if not all(isinstance(x, str) for x in items):
        raise ImageFormatError(f"{where} is not a list of strings")
    return items


def string_map(v: Any, where: str) -> dict[str, str]:
    m = opt_obj(v, where)
    if not all(isinstance(x, str) for x in m.values()):
        raise ImageFormatError(f"{where} is not a mapping of strings")
    return m
