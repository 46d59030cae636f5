"""Compose projects of one commit: which files form which project (as `docker compose` finds them), then the loader."""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from hullcheck.extract.compose.filesets import FileSet
from hullcheck.extract.compose.load import DEFAULT_FILES, load_compose_project
from hullcheck.extract.compose.rows import ComposeFacts

_OVERRIDE_NAMES = {f"{n.rsplit('.', 1)[0]}.override.{n.rsplit('.', 1)[1]}" for n in DEFAULT_FILES}


def discover_projects(
    compose_paths: list[str], env_paths: list[str], read: Callable[[str], bytes | None]
) -> list[tuple[str, list[str] | None]]:
    """(project directory, explicit files or None for Compose's own discovery) for a commit.

    A directory with a default-named file (or a `.env` naming COMPOSE_FILE) is one project,
    its override file included; every other file with top-level `services:` is a project
    of its own (`docker-stack.yml`, `notebook.yml`, `compose.prod.yaml`).
    """
    projects: dict[tuple[str, tuple[str, ...] | None], None] = {}
    default_dirs = {posixpath.dirname(p) for p in compose_paths if posixpath.basename(p) in DEFAULT_FILES}
    for env in env_paths:
        if posixpath.basename(env) == ".env" and b"COMPOSE_FILE" in (read(env) or b""):
            default_dirs.add(posixpath.dirname(env))
    for d in sorted(default_dirs):
        projects[(d, None)] = None
    for p in sorted(compose_paths):
        base = posixpath.basename(p)
        if base in DEFAULT_FILES or base in _OVERRIDE_NAMES:
            continue
        projects[(posixpath.dirname(p), (p,))] = None
    return [(d, list(files) if files is not None else None) for d, files in projects]


def extract_projects(
    compose_paths: list[str],
    env_paths: list[str],
    read: Callable[[str], bytes | None],
    repo: str,
    file_sets: list[FileSet] | None = None,
) -> list[ComposeFacts]:
    """Every project of a commit: those Compose's discovery finds, then each file set a script, Makefile
    or CI file runs (`file_sets`, first origin first), once each, with the origin that asked for it."""
    loaded = []
    for project_dir, files in discover_projects(compose_paths, env_paths, read):
        default_name = posixpath.basename(project_dir) or repo
        loaded.append(load_compose_project(read, project_dir, files, default_name=default_name))
    known = {(f.project.project_dir, tuple(f.project.files)): f for f in loaded}
    for fs in sorted(file_sets or [], key=lambda fs: (fs.origin_path, fs.origin_line)):
        facts = known.get((fs.project_dir, fs.files))
        if facts is None:
            default_name = posixpath.basename(fs.project_dir) or repo
            facts = load_compose_project(read, fs.project_dir, list(fs.files), default_name=default_name)
            known[(fs.project_dir, fs.files)] = facts
            loaded.append(facts)
        if facts.project.origin_path is None:  # a discovered project that a script runs as it is
            facts.project.origin_path, facts.project.origin_line = fs.origin_path, fs.origin_line
    # A file that another project lists or pulls in is a part, not a project of its own.
    used_elsewhere = {
        f
        for facts in loaded
        for f in (*facts.project.included_files, *(facts.project.files if len(facts.project.files) > 1 else []))
    }
    unique: dict[tuple[str, tuple[str, ...]], ComposeFacts] = {}
    for f in loaded:  # a .env naming a single file can make a directory project equal to a standalone one
        unique.setdefault((f.project.project_dir, tuple(f.project.files)), f)
    return [
        f
        for f in unique.values()
        if f.project.origin_path is not None
        or not (len(f.project.files) == 1 and f.project.files[0] in used_elsewhere and _standalone(f))
    ]


def _standalone(facts: ComposeFacts) -> bool:
    return posixpath.basename(facts.project.files[0]) not in DEFAULT_FILES
