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
# What interpolation may add to a whole project (or one `.env` file) beyond the text as written: many
# values under MAX_VALUE each multiply just as well (20,000 values of 5 x `${A}` with a 10 KB A
# would be 1 GB). Files are capped in size already, so only growth is counted.
MAX_GROWTH = 4 * 1024 * 1024
# Defaults nested in defaults (`${A:-${B:-…}}`) past this depth are refused: each level rescans the
# rest of the value (quadratic), and 10,000 levels overflowed Python's stack. Real files nest two or three.
MAX_NESTING = 64


class InterpolationError(ExtractError):
    pass


class ExpansionBudget:
    """The characters interpolation may still add, shared by every value of one project or `.env` file."""

    def __init__(self, limit: int = MAX_GROWTH) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, grown: int) -> None:
        self.left -= max(grown, 0)
        if self.left < 0:
            raise InterpolationError(
                f"interpolation adds more than {self.limit} characters to the values "
                "(variables expanding into each other, or used very many times?): refused"
            )


def interpolate(
    text: str, env: Mapping[str, str], unset: set[str], budget: ExpansionBudget | None = None, depth: int = 0
) -> str:
    """`text` with its variables substituted; the growth is charged to `budget` when given."""
    if depth > MAX_NESTING:
        raise InterpolationError(f"variables nested more than {MAX_NESTING} levels deep (${{A:-${{B:-…}}}}): refused")
    if "$" not in text:
        return text
    out: list[str] = []
    i, n, size = 0, len(text), 0
    while i < n:
        c = text[i]
        if c != "$" or i + 1 >= n:
            nxt_dollar = text.find("$", i + 1)  # copy plain text in one piece, not a character at a time
            end = n if nxt_dollar < 0 else nxt_dollar
            out.append(text[i:end])
            size += end - i
            i = end
            continue
        nxt = text[i + 1]
        if nxt == "$":
            piece = "$"
            i += 2
        elif nxt == "{":
            end = _closing(text, i + 2)
            if end < 0:
                raise InterpolationError("invalid interpolation format: unclosed ${")
            piece = _braced(text[i + 2 : end], env, unset, depth)
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
    result = "".join(out)
    if budget is not None:
        budget.spend(len(result) - n)
    return result


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


def _braced(body: str, env: Mapping[str, str], unset: set[str], depth: int) -> str:
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
        return value if present and value is not None else interpolate(arg, env, unset, depth=depth + 1)
    if op in (":+", "+"):
        return interpolate(arg, env, unset, depth=depth + 1) if present else ""
    if not present:
        reason = interpolate(arg, env, unset, depth=depth + 1) or ("is missing a value" if ":" in op else "is not set")
        raise InterpolationError(
            f"required variable {name} {reason}" if not arg else f"required variable {name}: {reason}"
        )
    return value or ""


def interpolate_tree(value: Any, env: Mapping[str, str], unset: set[str], budget: ExpansionBudget) -> Any:
    """Every string value (not keys) of a loaded Compose document, interpolated within `budget`."""
    if isinstance(value, str):
        return interpolate(value, env, unset, budget)
    if isinstance(value, dict):
        return {k: interpolate_tree(v, env, unset, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate_tree(v, env, unset, budget) for v in value]
    if isinstance(value, Reset | Override):
        return type(value)(interpolate_tree(value.value, env, unset, budget))
    return value


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*(?:=\s*(.*))?$")


def parse_dotenv(data: bytes, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A `.env` file as Compose reads it: comments, `export`, quotes, `${VAR}` from earlier lines."""
    budget = ExpansionBudget()
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
            parts = [body]  # a multi-line quoted value: only each new line is searched for the quote
            while quote not in parts[-1] and i < len(lines):
                parts.append(lines[i])
                i += 1
            body = "\n".join(parts)
            value = body[: body.rfind(quote)] if quote in body else body
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
                value = _interpolate_line(key, value, scope, budget)
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
            value = _interpolate_line(key, value, scope, budget)
        env[key] = value
        scope[key] = value
    return env


def _interpolate_line(key: str, value: str, scope: Mapping[str, str], budget: ExpansionBudget) -> str:
    try:
        return interpolate(value, scope, set(), budget)
    except InterpolationError as e:
        raise InterpolationError(f".env variable {key}: {e}") from None  # the value itself is never echoed
