"""Parameter values as a person writes them: `100MB`, `2GiB`, `90d`, glob lists (pure).

Sizes: decimal units are powers of 1000 (MB, GB: what registries and `docker images` show),
binary units powers of 1024 (MiB, GiB). Durations: s, m, h, d, w. A bare number is bytes or
seconds. Each parser raises ValueError with the accepted forms, for the config error message.
"""

from __future__ import annotations

import re
from typing import Any

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_FACTORS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4, "p": 1000**5, "pb": 1000**5,
    "ki": 1024, "kib": 1024, "mi": 1024**2, "mib": 1024**2, "gi": 1024**3, "gib": 1024**3,
    "ti": 1024**4, "tib": 1024**4, "pi": 1024**5, "pib": 1024**5,
}  # fmt: skip
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_DURATION_FACTORS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SEVERITIES = ("info", "warning", "error", "critical")
PARAM_TYPES = ("bytes", "duration", "int", "float", "bool", "string", "strings", "globs", "severity")
# How each type is stored in the typed `params` table a policy's SQL joins.
SQL_TYPES = {
    "bytes": "BIGINT", "duration": "BIGINT", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
    "string": "VARCHAR", "strings": "VARCHAR[]", "globs": "VARCHAR[]", "severity": "VARCHAR",
}  # fmt: skip


def parse_bytes(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a size such as 100MB, 2GiB or a number of bytes")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if isinstance(value, float) and value >= 0:
        return int(value)
    m = _SIZE.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"{value!r} is not a size (write e.g. 100MB, 1.5GB, 512MiB or a number of bytes)")
    unit = (m.group(2) or "").lower()
    if unit not in _SIZE_FACTORS:
        raise ValueError(f"{value!r}: unknown size unit (use B, kB, MB, GB, TB or KiB, MiB, GiB, TiB)")
    return int(float(m.group(1)) * _SIZE_FACTORS[unit])


def parse_duration(value: Any) -> int:
    """Seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90d, 12h or 2w")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"{value!r} is not a duration (write e.g. 90d, 12h, 30m, 2w or a number of seconds)")
    return int(float(m.group(1)) * _DURATION_FACTORS[m.group(2).lower()])


def parse_value(kind: str, value: Any) -> Any:
    """A parameter value of the given type, validated; ValueError says what was expected."""
    if kind == "bytes":
        return parse_bytes(value)
    if kind == "duration":
        return parse_duration(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} is not a whole number")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a number")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not text")
        return value
    if kind in ("strings", "globs"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{value!r} is not a list of non-empty strings")
        return list(value)
    if kind == "severity":
        if value not in SEVERITIES:
            raise ValueError(f"{value!r} is not a severity ({', '.join(SEVERITIES)})")
        return value
    raise ValueError(f"unknown parameter type {kind!r} (one of {', '.join(PARAM_TYPES)})")


def show_value(kind: str, value: Any) -> str:
    """A value as a person would write it back (`100 MB`, `90d`), for messages and explain."""
    if kind == "bytes":
        return human_bytes(int(value))
    if kind == "duration":
        v = int(value)
        for unit, f in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
            if v and v % f == 0:
                return f"{v // f}{unit}"
        return f"{v}s"
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    return str(value).lower() if isinstance(value, bool) else str(value)


def human_bytes(n: int) -> str:
    for unit, f in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if abs(n) >= f:
            return f"{n / f:.1f} {unit}".replace(".0 ", " ")
    return f"{n} B"
