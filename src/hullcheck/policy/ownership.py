"""Who owns each subject, and which profile applies to it, decided in a documented order (pure).

Owner, first rule that decides:
1. `override`: the first config `overrides:` entry with a `team` that matches the subject;
2. `label`: an image's `org.hullcheck.team` label (naming a configured team);
3. `codeowners`: for a file of a repository with a CODEOWNERS file, the last matching rule
   whose owners include a team's `codeowners` handle (GitHub and GitLab semantics);
4. `repos glob`: the first team (config order) one of whose `repos:` globs matches the repository;
5. `images glob`: for an image, the first team one of whose `images:` globs matches `registry/repository`;
6. `lineage`: for an image, the owner of the audited repository its `org.opencontainers.image.source` names;
7. else the team `unowned`.
Profile: an override's `profile`, else an image's `org.hullcheck.profile` label (a known profile),
else the owning team's profile (`microservice` for `unowned`).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field

from hullcheck.columns import NOT_STORED
from hullcheck.config import Config, Override
from hullcheck.policy.situations import DEFAULT_PROFILE, UNOWNED, Situation


@dataclass(slots=True)
class Subject:
    """One thing a policy judges. `subject` is its name in findings, waivers and reports."""

    subject_id: int
    subject_kind: str  # repo | dockerfile | compose_service | image
    subject: str
    repo: str | None = None
    path: str | None = None
    service: str | None = None
    registry: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    fact_run_id: int = 0  # the run whose facts describe it (the snapshot in effect)
    commit_sha: str | None = None
    team: str = UNOWNED
    profile: str = DEFAULT_PROFILE
    situation: str = ""
    decided_by: str = ""
    profile_by: str = ""
    override: int | None = field(default=None, metadata=NOT_STORED)


def codeowners_regex(pattern: str) -> re.Pattern[str]:
    """A CODEOWNERS pattern (gitignore-like) as a regex over repository-relative paths."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    p = pattern.strip("/") if pattern != "/" else ""
    directory = pattern.endswith("/")
    out, i = "", 0
    while i < len(p):
        if p.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif p.startswith("/**", i) and i + 3 == len(p):
            out, i = out + "/.*", i + 3
        elif p.startswith("**", i):
            out, i = out + ".*", i + 2
        elif p[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif p[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(p[i]), i + 1
    head = "" if anchored else "(?:.*/)?"
    # A pattern naming a directory owns everything under it; `docs/*` owns the files of docs/ only
    # (GitHub: "but not further nested files").
    last = p.rsplit("/", 1)[-1]
    tail = "/.*" if directory else ("" if "*" in last else "(?:/.*)?")
    return re.compile(f"^{head}{out}{tail}$")


@dataclass(frozen=True, slots=True)
class CodeownersRule:
    file: str
    line: int
    pattern: str
    owners: tuple[str, ...]
    regex: re.Pattern[str]


def parse_codeowners_rule(file: str, line: int, detail: str) -> CodeownersRule | None:
    parts = detail.split()
    if not parts:
        return None
    return CodeownersRule(file, line, parts[0], tuple(parts[1:]), codeowners_regex(parts[0]))


# The file a forge reads when a repository has several (GitHub: .github/, root, docs/).
_CODEOWNERS_ORDER = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")


def effective_codeowners(rules: list[CodeownersRule]) -> list[CodeownersRule]:
    files = {r.file for r in rules}
    for name in _CODEOWNERS_ORDER:
        if name in files:
            return [r for r in rules if r.file == name]
    return []


class Owners:
    """Decides owner and profile; built once per evaluation from the config."""

    def __init__(self, cfg: Config, profiles: set[str]) -> None:
        self.cfg = cfg
        self.profiles = profiles
        self.handles = {h.lower(): t.name for t in cfg.teams for h in t.codeowners}
        self.team_profile = {t.name: t.profile for t in cfg.teams}
        self.repo_owner: dict[str, tuple[str, str]] = {}  # repo -> (team, decided_by), for lineage
        self._by_glob: dict[str, tuple[str | None, str | None]] = {}  # repo -> its repos-glob decision

    def _repo_glob(self, repo: str) -> tuple[str | None, str | None]:
        """The first team whose `repos:` glob matches, once per repository (its files ask again and again)."""
        if repo not in self._by_glob:
            found: tuple[str | None, str | None] = (None, None)
            for t in self.cfg.teams:
                glob = next((g for g in t.repos if fnmatch.fnmatchcase(repo, g)), None)
                if glob is not None:
                    found = (t.name, f"repos glob: team {t.name} repos '{glob}'")
                    break
            self._by_glob[repo] = found
        return self._by_glob[repo]

    def _override(self, s: Subject) -> tuple[int, Override] | None:
        for i, o in enumerate(self.cfg.overrides):
            if s.subject_kind == "image":
                image = f"{s.registry}/{s.repository}:{s.tag}"
                if o.images and any(fnmatch.fnmatchcase(image, g) or fnmatch.fnmatchcase(image.rsplit(":", 1)[0], g)
                                    for g in o.images):  # fmt: skip
                    return i, o
                continue
            if not o.repos or not any(fnmatch.fnmatchcase(s.repo or "", g) for g in o.repos):
                continue
            if o.paths and (s.path is None or not any(_path_match(s.path, g) for g in o.paths)):
                continue
            return i, o
        return None

    def decide(self, s: Subject, codeowners: list[CodeownersRule], label_team: str | None = None,
               label_profile: str | None = None, lineage_repo: str | None = None) -> None:  # fmt: skip
        teams = {t.name for t in self.cfg.teams}
        hit = self._override(s) if self.cfg.overrides else None
        team = decided = None
        if hit is not None and hit[1].team is not None:
            team, decided = hit[1].team, f"override: config overrides[{hit[0]}]"
        if team is None and label_team and label_team in teams:
            team, decided = label_team, "label: org.hullcheck.team"
        if team is None and s.path is not None and s.subject_kind != "image":
            team, decided = self._by_codeowners(s.path, codeowners)
        if team is None and s.repo is not None:
            team, decided = self._repo_glob(s.repo)
        if team is None and s.subject_kind == "image":
            name = f"{s.registry}/{s.repository}"
            for t in self.cfg.teams:
                glob = next((g for g in t.images if fnmatch.fnmatchcase(name, g)), None)
                if glob is not None:
                    team, decided = t.name, f"images glob: team {t.name} images '{glob}'"
                    break
            if team is None and lineage_repo and lineage_repo in self.repo_owner:
                owner, how = self.repo_owner[lineage_repo]
                if owner != UNOWNED:
                    team, decided = owner, f"lineage: built from repository {lineage_repo} (owned by {how})"
        if team is None:
            team, decided = UNOWNED, "unowned: no override, label, CODEOWNERS rule or glob matches"
        s.team, s.decided_by = team, decided or ""
        if hit is not None and hit[1].profile is not None:
            s.profile, s.profile_by = hit[1].profile, f"override: config overrides[{hit[0]}]"
        elif label_profile and label_profile in self.profiles:
            s.profile, s.profile_by = label_profile, "label: org.hullcheck.profile"
        else:
            s.profile = self.team_profile.get(team, DEFAULT_PROFILE)
            s.profile_by = f"team {team}" if team in self.team_profile else "default profile of unowned subjects"
        if hit is not None and hit[1].policies:
            s.override = hit[0]
        s.situation = Situation(s.team, s.profile, s.override).key
        if s.subject_kind == "repo" and s.repo is not None:
            self.repo_owner[s.repo] = (team, s.decided_by)

    def _by_codeowners(self, path: str, rules: list[CodeownersRule]) -> tuple[str | None, str | None]:
        for rule in reversed(rules):  # the last matching rule wins
            if rule.regex.match(path):
                for owner in rule.owners:
                    team = self.handles.get(owner.lower())
                    if team is not None:
                        return team, f"codeowners: {rule.file}:{rule.line} '{rule.pattern}' {owner}"
                return None, None  # the winning rule names no configured team: fall through to globs
        return None, None


def _path_match(path: str, glob: str) -> bool:
    """`ml/**` matches everything under ml/; other globs match the path or one of its parent folders."""
    if fnmatch.fnmatchcase(path, glob):
        return True
    parent = posixpath.dirname(path)
    while parent:
        if fnmatch.fnmatchcase(parent, glob.rstrip("/").removesuffix("/**")):
            return True
        parent = posixpath.dirname(parent)
    return False
