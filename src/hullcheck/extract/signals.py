"""Repository signals from scripts, Makefiles and CI files (pure): how images get built.

- `docker_build`: a `docker build` / `docker buildx build` / `docker image build` /
  `podman build` invocation (one row each; count them per file for scripted multi-builds);
- `compose_exec` / `compose_run`: `docker compose exec|run` (or `docker-compose …`);
- `compose_file`: a Compose file named with `-f` / `--file` (detail: the path as written);
- `buildkit_disabled`: `DOCKER_BUILDKIT=0` (shell, Makefile or CI YAML).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hullcheck.redact import redact_text

_BUILD = re.compile(r"\b(?:docker|podman)\s+(?:buildx\s+|image\s+)?build\b")
_COMPOSE = re.compile(r"\bdocker(?:-compose|\s+compose)\b")
_BUILDKIT_OFF = re.compile(r"\bDOCKER_BUILDKIT\s*[=:]\s*[\"']?0\b")
_COMPOSE_VALUE_OPTS = {
    "-f",
    "--file",
    "-p",
    "--project-name",
    "--profile",
    "--env-file",
    "--project-directory",
    "--ansi",
    "--progress",
    "--parallel",
}
_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")


@dataclass(slots=True)
class SignalRow:
    line: int
    signal: str
    detail: str


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with the number of its first line."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), start=1):
        if not buf:
            start = n
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        out.append((start, buf + raw))
        buf = ""
    if buf:
        out.append((start, buf))
    return out


def _compose_command(segment: str) -> list[SignalRow] | None:
    m = _COMPOSE.search(segment)
    if not m:
        return None
    words = segment[m.end() :].split()
    rows: list[SignalRow] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("-f", "--file") and i + 1 < len(words):
            rows.append(SignalRow(0, "compose_file", words[i + 1].strip("\"'")))
        elif w.startswith(("-f=", "--file=")):
            rows.append(SignalRow(0, "compose_file", w.split("=", 1)[1].strip("\"'")))
        if w in _COMPOSE_VALUE_OPTS:
            i += 2
            continue
        if w.startswith("-"):
            i += 1
            continue
        if w in ("exec", "run"):
            rows.append(SignalRow(0, f"compose_{w}", " ".join(words[i : i + 3])))
        break
    return rows


def extract_signals(data: bytes) -> list[SignalRow]:
    text = data.decode("utf-8", errors="replace")
    rows: list[SignalRow] = []
    for line_no, line in logical_lines(text):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if _BUILDKIT_OFF.search(line):
            rows.append(SignalRow(line_no, "buildkit_disabled", redact_text(stripped)[:200]))
        for segment in _SEPARATORS.split(line):
            if _BUILD.search(segment):
                rows.append(SignalRow(line_no, "docker_build", redact_text(segment.strip())[:200]))
                continue
            for row in _compose_command(segment) or []:
                row.line = line_no
                row.detail = redact_text(row.detail)[:200]
                rows.append(row)
    return rows
