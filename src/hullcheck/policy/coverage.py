"""What the teams' config covers: globs that match nothing, and what no team owns (pure).

These are warnings, not failures: the audit is complete, but an owner is missing or a glob
is stale (a team renamed its repositories, an image moved), and the findings of those
subjects go to the team `unowned`, which no mail reaches. The audit summary and
`hullcheck config check` both say them, in the same words.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from hullcheck.config import Team
from hullcheck.policy.situations import UNOWNED

LISTED = 10  # names listed in one warning; the rest are counted


def _names(names: list[str]) -> str:
    more = f", … ({len(names) - LISTED} more)" if len(names) > LISTED else ""
    return ", ".join(names[:LISTED]) + more


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def coverage_warnings(
    teams: Iterable[Team],
    repos: Mapping[str, str],
    images: Mapping[str, str] | None,
    scope: str = "audited",
    unowned_note: str = "",
) -> list[str]:
    """Warnings about the teams' globs and ownership.

    `repos` and `images` map each repository name and each image repository (`registry/repository`)
    to its owner (`unowned` when no team owns any of it); `images` is None when they are not known (a
    backfill reads no registry; `config check` knows only the names a config spells out). `scope`
    says what they are ("audited", "configured")."""
    teams = list(teams)
    out: list[str] = []
    if not teams:
        if repos or images:
            out.append(f"no team is configured: every repository and image is owned by no team ({UNOWNED})")
        return out
    for t in teams:
        for g in t.repos:
            if not any(fnmatch.fnmatchcase(r, g) for r in repos):
                out.append(f'team {t.name}: repos glob "{g}" matches no {scope} repository')
        for g in t.images if images is not None else []:
            if not any(fnmatch.fnmatchcase(i, g) for i in images):
                out.append(f'team {t.name}: images glob "{g}" matches no {scope} image')
    lone = sorted(r for r, team in repos.items() if team == UNOWNED)
    if lone:
        are = "is" if len(lone) == 1 else "are"
        out.append(f"{_plural(len(lone), 'repository', 'repositories')} {are} owned by no team ({UNOWNED}): "
                   f"{_names(lone)}{unowned_note}")  # fmt: skip
    lone_images = sorted(i for i, team in (images or {}).items() if team == UNOWNED)
    if lone_images:
        are = "is" if len(lone_images) == 1 else "are"
        out.append(f"{_plural(len(lone_images), 'image repository', 'image repositories')} {are} owned by no team "
                   f"({UNOWNED}): {_names(lone_images)}{unowned_note}")  # fmt: skip
    return out
