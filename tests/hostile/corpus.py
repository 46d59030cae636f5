"""The corpus on disk: every selected case built under one root.

    root/repos/<key>            bare git repositories (found by the config's path_glob)
    root/served/<key>.git       repositories served over smart HTTP (git-url cases)
    root/layouts/<key>[.tar]    OCI layouts, OCI archives, docker save tarballs
    root/outside/<key>/…        markers: files hostile paths point to; never to be opened
    root/runs/<label>/…         one directory per audit configuration (config, database, cache)

Each run gets *views*: directories of symlinks to the selected repositories and layouts, so a
run of a subset (a family, one case) audits exactly those without copying anything.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostile.gitrepo import write_many
from hostile.model import Canary, Case, CaseBuilder, CaseDef

GROUP_SIZE = 8


def _join(prefix: str, path: str | bytes) -> str | bytes:
    return prefix.encode() + path if isinstance(path, bytes) else prefix + path


@dataclass
class Corpus:
    root: Path
    cases: list[Case] = field(default_factory=list)
    pending_repos: list[tuple[Path, Any, Any]] = field(default_factory=list)
    pending_served: list[tuple[Path, Any, Any]] = field(default_factory=list)
    pending_pushes: list[tuple[str, str, Any]] = field(default_factory=list)
    build_seconds: float = 0.0
    home: Path | None = None  # the audit's HOME ($HOME markers live there)
    env: dict[str, str] = field(default_factory=dict)  # variables set in the audit's environment (canaries)
    groups: dict[str, tuple[dict[Any, Any], dict[Any, Any]]] = field(default_factory=dict)
    group_counts: dict[str, int] = field(default_factory=dict)
    group_files: dict[str, tuple[dict[Any, Any], dict[Any, Any]]] = field(default_factory=dict)  # slug -> its files

    @property
    def repos_dir(self) -> Path:
        return self.root / "repos"

    @property
    def served_dir(self) -> Path:
        return self.root / "served"

    @property
    def layouts_dir(self) -> Path:
        return self.root / "layouts"

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    @property
    def canaries(self) -> list[Canary]:
        return [c for case in self.cases for c in case.canaries]

    def join_group(
        self, group: str, slug: str, files: dict[Any, Any], symlinks: dict[Any, Any]
    ) -> tuple[str, Path, str]:
        """Add a case's files under `slug/` to the current repository of `group` (a new one every GROUP_SIZE cases)."""
        count = self.group_counts.get(group, 0)
        self.group_counts[group] = count + 1
        key = f"grp-{group}-{count // GROUP_SIZE}"
        path = self.repos_dir / key
        if key not in self.groups:
            self.groups[key] = ({}, {})
            self.pending_repos.append((path, self.groups[key][0], self.groups[key][1]))
        prefix = slug + "/"
        self.groups[key][0].update({_join(prefix, p): d for p, d in files.items()})
        self.groups[key][1].update({_join(prefix, p): d for p, d in symlinks.items()})
        self.group_files[slug] = (
            {_join(prefix, p): d for p, d in files.items()},
            {_join(prefix, p): d for p, d in symlinks.items()},
        )
        return key, path, prefix

    def markers(self) -> dict[Path, Case]:
        return {m: case for case in self.cases for m in case.markers}

    def by_id(self) -> dict[str, Case]:
        return {c.id: c for c in self.cases}


def build_corpus(root: Path, defs: list[CaseDef], home: Path | None = None) -> Corpus:
    started = time.monotonic()
    corpus = Corpus(root, home=home)
    for d in (corpus.repos_dir, corpus.served_dir, corpus.layouts_dir, corpus.outside):
        d.mkdir(parents=True, exist_ok=True)
    for serial, d in enumerate(defs):
        case = Case(d.id, d.family, d.carrier, d.description)
        d.build(CaseBuilder(corpus, case, serial))
        if not (case.repo_dir or case.url_template or case.layout_path or case.registry_repo):
            raise ValueError(f"{case.id}: the builder made no subject")
        corpus.cases.append(case)
    write_many(corpus.pending_repos + corpus.pending_served)
    corpus.build_seconds = time.monotonic() - started
    return corpus


def make_view(corpus: Corpus, run_dir: Path, cases: list[Case]) -> tuple[Path, Path]:
    """Directories of symlinks to `cases`' repositories and layouts: what a run's config globs."""
    repos, layouts = run_dir / "repos", run_dir / "layouts"
    repos.mkdir(parents=True, exist_ok=True)
    layouts.mkdir(parents=True, exist_ok=True)
    for c in cases:
        if c.repo_dir is not None:
            link = os.path.join(os.fsencode(repos), os.fsencode(c.repo_dir.name))
            if not os.path.lexists(link):  # grouped cases share their repository
                os.symlink(c.repo_dir, link)
        if c.layout_path is not None:
            os.symlink(c.layout_path, os.path.join(os.fsencode(layouts), os.fsencode(c.layout_path.name)))
    # A relative path that climbs out of a repository or layout lands on the markers whether it is
    # resolved on disk (through the symlink: root/outside) or lexically (run_dir/outside -> root/outside).
    if not (run_dir / "outside").exists():
        os.symlink(corpus.outside, run_dir / "outside")
    return repos, layouts
