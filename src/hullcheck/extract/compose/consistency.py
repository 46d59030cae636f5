"""What Compose checks once a project's model is loaded: its name, and the consistency of its services.

These refusals come after the files parsed and merged, so the services are known: the loader keeps
them (flagged by the project's `error`) instead of dropping what a query could still use.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from hullcheck.errors import ExtractError
from hullcheck.extract.compose.merge import as_mapping
from hullcheck.extract.compose.services import implicit_dependencies

_NOT_IN_NAME = re.compile(r"[^a-z0-9_-]")
_VALID_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ProjectNameError(ExtractError):
    pass


def normalize_name(name: str) -> str:
    """As compose-go normalises a `name:` or a directory's name: lower case, only `[a-z0-9_-]`, starting
    with a letter or digit (`.devcontainer` is `devcontainer`, `UNNORMALIZED PATH` is `unnormalizedpath`)."""
    return _NOT_IN_NAME.sub("", name.lower()).lstrip("_-")


def project_name(declared: Any, env: dict[str, str], project_dir: str, default: str | None) -> str | None:
    """COMPOSE_PROJECT_NAME (validated, never normalised, as Compose does), else `name:`, else the directory's."""
    if env.get("COMPOSE_PROJECT_NAME"):  # Compose lets the environment win over `name:`
        name = env["COMPOSE_PROJECT_NAME"]
        if not _VALID_NAME.match(name):
            raise ProjectNameError(
                f'invalid project name "{name}": must consist only of lowercase alphanumeric characters, '
                "hyphens, and underscores as well as start with a letter or number"
            )
        return name
    if isinstance(declared, str) and normalize_name(declared):
        return normalize_name(declared)
    base = posixpath.basename(project_dir) if project_dir else default
    return normalize_name(base) or None if base else None


def _active(svc: Any, profiles: set[str]) -> bool:
    own = svc.get("profiles") if isinstance(svc, dict) else None
    return not own or "*" in profiles or bool(profiles & {str(p) for p in own if isinstance(own, list)})


def consistency_error(services: dict[str, Any], profiles: set[str]) -> str | None:
    """Compose's refusal of the services that would start (those of active profiles), in its words; None if none."""
    active = {n: s for n, s in services.items() if isinstance(s, dict) and _active(s, profiles)}
    for name in sorted(active):
        svc = active[name]
        if not svc.get("image") and svc.get("build") is None:  # a fragment, meant to be layered with `-f`
            return f'service "{name}" has neither an image nor a build context specified: invalid compose project'
    graph = {
        n: sorted({*as_mapping(s.get("depends_on"), "depends_on"), *implicit_dependencies(s)})
        for n, s in active.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for dep in graph.get(name, []):
            if state.get(dep) == 1:
                return [*path, name, dep]
            if dep in graph and state.get(dep) is None and (cycle := visit(dep, [*path, name])):
                return cycle
        state[name] = 2
        return None

    for name in sorted(graph):
        if state.get(name) is None and (cycle := visit(name, [])):
            start = cycle.index(cycle[-1])
            return f"dependency cycle detected: {' -> '.join(cycle[start:])}"
    return None
