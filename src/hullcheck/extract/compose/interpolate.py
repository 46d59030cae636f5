"""Compose interpolation and `.env` files, from the project's `.env` only (never this machine's environment).

Forms: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`, `${VAR:+a}`,
`${VAR+a}`, `$$`; defaults are interpolated too (`${A:-${B}}`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hullcheck.errors import ExtractError
from hullcheck.extract.compose.yaml_nodes import Override, Reset

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
# One interpolated value, at most: `.env` lines that expand into each other (`A2=${A1}${A1}` …) grow
# exponentially (430 bytes became 737 MB); no real Compose value comes near this.
MAX_VALUE = 1024 * 1024


class InterpolationError(ExtractError):
    pass


def interpolate(text: str, env: Mapping[str, str], unset: set[str]) -> str:
    out: list[str] = []
    i, n, size = 0, len(text), 0
    while i < n:
        c = text[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            piece = "$"
            i += 2
        elif nxt == "{":
            end = _closing(text, i + 2)
            if end < 0:
                raise InterpolationError("invalid interpolation format: unclosed ${")
            piece = _braced(text[i + 2 : end], env, unset, text)
            i = end + 1
        elif m := _NAME.match(text, i + 1):
            name = m.group()
            if name not in env:
                unset.add(name)
            piece = env.get(name, "")
            i = m.end()
        else:
            piece = c
            i += 1
        out.append(piece)
        size += len(piece)
        if size > MAX_VALUE:
            raise InterpolationError(
                f"a value expands to more than {MAX_VALUE} characters (variables expanding into each other?): refused"
            )
    return "".join(out)


def _closing(text: str, start: int) -> int:
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{" and text[j - 1] == "$":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _braced(body: str, env: Mapping[str, str], unset: set[str], whole: str) -> str:
    m = _NAME.match(body)
    if not m:
        raise InterpolationError("invalid interpolation format: ${ is not followed by a variable name")
    name, rest = m.group(), body[m.end() :]
    value = env.get(name)
    if not rest:
        if value is None:
            unset.add(name)
        return value or ""
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            break
    else:
        raise InterpolationError(f"invalid interpolation format in ${{{name}…}}: unknown operator")
    present = value is not None and (value != "" or ":" not in op)
    if op in (":-", "-"):
        return value if present and value is not None else interpolate(arg, env, unset)
    if op in (":+", "+"):
        return interpolate(arg, env, unset) if present else ""
    if not present:
        reason = interpolate(arg, env, unset) or ("is missing a value" if ":" in op else "is not set")
        raise InterpolationError(
            f"required variable {name} {reason}" if not arg else f"required variable {name}: {reason}"
        )
    return value or ""


def interpolate_tree(value: Any, env: Mapping[str, str], unset: set[str]) -> Any:
    """Every string value (not keys) of a loaded Compose document, interpolated."""
    if isinstance(value, str):
        return interpolate(value, env, unset)
    if isinstance(value, dict):
        return {k: interpolate_tree(v, env, unset) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate_tree(v, env, unset) for v in value]
    if isinstance(value, Reset | Override):
        return type(value)(interpolate_tree(value.value, env, unset))
    return value


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*(?:=\s*(.*))?$")


def parse_dotenv(data: bytes, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A `.env` file as Compose reads it: comments, `export`, quotes, `${VAR}` from earlier lines."""
    env: dict[str, str] = {}
    scope = dict(base or {})
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _DOTENV_LINE.match(line)
        if not m:
            continue
        if m.group(2) is None:
            continue  # a bare KEY passes a variable through from the environment, which we never read
        key, raw = m.group(1), m.group(2)
        if raw[:1] in ("'", '"'):
            quote = raw[0]
            body = raw[1:]
            while quote not in body and i < len(lines):  # multi-line quoted value
                body += "\n" + lines[i]
                i += 1
            value = body[: body.rfind(quote)] if quote in body else body
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
                value = _interpolate_line(key, value, scope)
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
            value = _interpolate_line(key, value, scope)
        env[key] = value
        scope[key] = value
    return env


def _interpolate_line(key: str, value: str, scope: Mapping[str, str]) -> str:
    try:
        return interpolate(value, scope, set())
    except InterpolationError as e:
        raise InterpolationError(f".env variable {key}: {e}") from None  # the value itself is never echoed
