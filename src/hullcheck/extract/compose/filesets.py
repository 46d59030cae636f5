"""The Compose file sets a repository's scripts, Makefiles and CI files run (pure): each one a project.

Repositories layer files (`docker compose -f compose.yaml -f compose.full.yaml up` in a Makefile,
`COMPOSE_FILE=a.yml:b.yml` in CI, a `test.sh` adding a test override), so the stack people run is
often no single file. What is recognised, per logical line (continuations joined):

- a `docker compose` / `docker-compose` command with `-f`/`--file` (and `--project-directory`),
  after expanding variables the same file assigns (Make `NAME = …`, `:=`, `?=`, `+=`; shell
  `NAME=…`, `export NAME=…`), so `$(COMPOSE_FILES)` and `$COMPOSE` count;
- `COMPOSE_FILE=a.yml:b.yml` (shell, Make) or `COMPOSE_FILE: a.yml:b.yml` (CI YAML), split on
  `COMPOSE_PATH_SEPARATOR` when the file sets it, else `:`.

Paths count from the file's directory (a CI file's: the repository root), after any `cd DIR` earlier
on the line; when the files are not there, from the repository root (scripts run as `./scripts/x.sh`).
A set naming a variable left unexpanded, stdin or a path outside the repository is not a project.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from hullcheck.extract.signals import logical_lines

_COMPOSE = re.compile(r"\bdocker(?:-compose|\s+compose)\b")
_ASSIGN = re.compile(r"^\s*(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|:::=|::=|:=|\+=|=)\s*(.*)$")
_YAML_ENV = re.compile(r"^\s*-?\s*[\"']?(COMPOSE_FILE|COMPOSE_PATH_SEPARATOR)[\"']?\s*:\s*(.+?)\s*$")
_REFERENCE = re.compile(r"\$\((\w+)\)|\$\{(\w+)\}|\$(\w+)")
_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
MAX_EXPANSIONS = 8  # variables naming variables: real files nest two or three


@dataclass(frozen=True, slots=True)
class FileSet:
    origin_path: str  # the file whose command names the set
    origin_line: int
    project_dir: str  # --project-directory, else the first file's directory (as Compose decides)
    files: tuple[str, ...]  # repository-relative, in the order given (overrides last)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def _variables(lines: list[tuple[int, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for _, line in lines:
        m = _ASSIGN.match(line)
        if not m:
            continue
        name, op, value = m.group(1), m.group(2), _unquote(m.group(3))
        if op == "+=" and name in out:
            out[name] = f"{out[name]} {value}"
        elif op == "?=":
            out.setdefault(name, value)
        else:
            out[name] = value
    for m in (_YAML_ENV.match(line) for _, line in lines):
        if m:
            out.setdefault(m.group(1), _unquote(m.group(2)))
    return out


def _expand(text: str, variables: dict[str, str]) -> str:
    for _ in range(MAX_EXPANSIONS):
        expanded = _REFERENCE.sub(lambda m: variables.get(m.group(1) or m.group(2) or m.group(3), m.group(0)), text)
        if expanded == text:
            break
        text = expanded
    return text


def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment, comments=False)
    except ValueError:  # an unclosed quote (a Makefile's own quoting): plain words then
        return segment.split()


def _compose_args(words: list[str]) -> tuple[list[str], str | None, str | None] | None:
    """(-f files, --project-directory, COMPOSE_FILE= prefix) of a compose command's words."""
    text = " ".join(words)
    m = _COMPOSE.search(text)
    if not m:
        return None
    prefix = text[: m.start()].split()
    env_file = next((w.split("=", 1)[1] for w in prefix if w.startswith("COMPOSE_FILE=")), None)
    rest = text[m.end() :].split()
    files: list[str] = []
    project: str | None = None
    i = 0
    while i < len(rest):
        w = rest[i]
        value = rest[i + 1] if i + 1 < len(rest) else None
        if w in ("-f", "--file") and value is not None:
            files.append(value)
            i += 2
            continue
        if w.startswith(("-f=", "--file=")):
            files.append(w.split("=", 1)[1])
        elif w == "--project-directory" and value is not None:
            project = value
            i += 2
            continue
        elif w.startswith("--project-directory="):
            project = w.split("=", 1)[1]
        elif not w.startswith("-"):
            break  # the subcommand: what follows is its own
        i += 1
    return files, project, env_file


def file_sets(path: str, data: bytes, is_ci: bool, exists: Callable[[str], bool]) -> list[FileSet]:
    """The Compose file sets `path` (a script, Makefile or CI file) runs; `exists(path)`: a repository file."""
    lines = logical_lines(data.decode("utf-8", errors="replace"))
    variables = _variables(lines)
    separator = variables.get("COMPOSE_PATH_SEPARATOR") or ":"
    home = "" if is_ci else posixpath.dirname(path)
    out: list[FileSet] = []
    for line_no, line in lines:
        if line.strip().startswith("#"):
            continue
        cwd = home
        assign = _YAML_ENV.match(line) or _ASSIGN.match(line)
        if assign and assign.group(1) == "COMPOSE_FILE":  # `COMPOSE_FILE: a:b` (CI), `export COMPOSE_FILE := a:b`
            # `COMPOSE_FILE=a.yml make up`: a shell prefix of a command, the value is its first word
            value = (_expand(_unquote(assign.group(assign.lastindex or 2)), variables).split() or [""])[0]
            out += _resolved(path, line_no, cwd, value.split(separator), None, exists)
            continue
        for segment in _SEPARATORS.split(_expand(line, variables)):
            words = _words(segment)
            if len(words) == 2 and words[0] == "cd":
                cwd = posixpath.normpath(posixpath.join(cwd, words[1]))
                continue
            args = _compose_args(words)
            if args is not None:
                files, project, env_files = args
                listed = files or (env_files.split(separator) if env_files else [])
                if listed:
                    out += _resolved(path, line_no, cwd, listed, project, exists)
                continue
            # `export COMPOSE_FILE=a:b` or `COMPOSE_FILE=a:b make up` later on the line
            assigned = next((w.split("=", 1)[1] for w in words[:2] if w.startswith("COMPOSE_FILE=")), None)
            if assigned and (words[0] == "export" or words[0].startswith("COMPOSE_FILE=")):
                out += _resolved(path, line_no, cwd, assigned.split(separator), None, exists)
    return out


def _resolved(
    origin: str, line: int, cwd: str, listed: list[str], project: str | None, exists: Callable[[str], bool]
) -> list[FileSet]:
    listed = [f for f in listed if f]
    if not listed or any("$" in f or f == "-" or f.startswith(("/", "~")) for f in listed):
        return []
    candidates = []
    for base in dict.fromkeys((cwd, "")):  # the file's directory first, then the repository root
        files = [posixpath.normpath(posixpath.join(base, f)) for f in listed]
        if not any(f == ".." or f.startswith("../") for f in files):
            candidates.append((base, files, sum(map(exists, files))))
    # All files found wins; else the most found (a missing one is the project's error, as for Compose);
    # none found: files made at run time, not a project of this repository.
    best = max(candidates, key=lambda c: c[2], default=None)
    if best is None or best[2] == 0:
        return []
    base, files, _ = best
    directory = posixpath.normpath(posixpath.join(base, project)) if project else posixpath.dirname(files[0])
    return [FileSet(origin, line, "" if directory == "." else directory, tuple(files))]
