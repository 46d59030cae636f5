"""Reading a Dockerfile's text before parsing: decoding and parser directives (pure)."""

from __future__ import annotations

import re

from hullcheck.errors import ExtractError

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = ("syntax", "escape", "check")


class DockerfileError(ExtractError):
    """The file is not a Dockerfile BuildKit would accept; the message says where and why."""


def decode(data: bytes) -> tuple[str, list[str]]:
    """Text of a build file, and warnings. Binary content raises DockerfileError."""
    if b"\0" in data[:8192]:
        raise DockerfileError("binary content (NUL bytes): not a Dockerfile")
    warnings: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        text = data.decode("latin-1")
        warnings.append(f"not valid UTF-8 (byte {e.start}); read as Latin-1")
    return text, warnings


def parse_directives(text: str) -> dict[str, str]:
    """Parser directives at the top of the file, with BuildKit's rules: the first line that
    is not a known directive ends them; a directive given twice is an error."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _DIRECTIVE.match(line.strip())
        if not m or m.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        key = m.group(1).lower()
        if key in found:
            raise DockerfileError(f"only one {key} parser directive can be used")
        found[key] = m.group(2)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(f"invalid escape token {escape!r}: it must be ` or \\")
    return found


def escape_directive_first(text: str, directives: dict[str, str]) -> str:
    """The embedded BuildKit parser (v0.12) predates `# check=` and stops reading directives
    at it; putting the escape directive first (the same lines, reordered) keeps every line
    number and lets it see the escape character that current BuildKit would use."""
    if "escape" not in directives or len(directives) < 2:
        return text
    lines = text.split("\n")
    head = lines[: len(directives)]
    head.sort(key=lambda line: 0 if "escape" in line.split("=", 1)[0].lower() else 1)
    return "\n".join(head + lines[len(directives) :])
