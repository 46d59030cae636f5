"""Waivers: decisions not to act on a finding, with a reason, an author and an expiry (pure).

Config waivers match a policy and a subject glob (optionally a team). A waiver past its expiry
stops applying (its finding counts as reopened); one that matches no finding is `stale`; one
expiring within 14 days is `expiring`. An inline `# hadolint ignore=DL3006` waives the
equivalent policy (the policy file's `equivalents.hadolint`) for the instruction below it,
with the reason "hadolint pragma", so teams keep the decisions they already made in hadolint.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date, timedelta

from hullcheck.config import Waiver

EXPIRING_DAYS = 14


@dataclass(slots=True)
class WaiverRow:
    waiver_index: int
    policy_id: str
    subject: str
    team: str | None
    reason: str
    author: str
    expires: date
    status: str
    matched: int


@dataclass(frozen=True, slots=True)
class Pragma:
    repo: str
    path: str
    line: int  # the instruction's first line; 0 for `global ignore`
    codes: frozenset[str]


def parse_pragma(repo: str, path: str, line: int, detail: str) -> Pragma:
    return Pragma(repo, path, line, frozenset(c.strip().upper() for c in detail.split(",") if c.strip()))


@dataclass(frozen=True, slots=True)
class Waived:
    reason: str
    expires: date | None
    by: str


class WaiverBook:
    """Matches findings to waivers and counts, per waiver, what it matched."""

    def __init__(self, waivers: list[Waiver], pragmas: list[Pragma], today: date) -> None:
        self.waivers = waivers
        self.today = today
        self.matched = [0] * len(waivers)
        self.pragmas: dict[tuple[str, str], list[Pragma]] = {}
        for p in pragmas:
            self.pragmas.setdefault((p.repo, p.path), []).append(p)

    def match(self, policy_id: str, subject: str, team: str, hadolint: list[str], repo: str | None,
              path: str | None, line: int | None, kind: str) -> Waived | None:  # fmt: skip
        for i, w in enumerate(self.waivers):
            if w.policy != policy_id or (w.team is not None and w.team != team):
                continue
            if not fnmatch.fnmatchcase(subject, w.subject):
                continue
            self.matched[i] += 1  # an expired waiver still matches: it is not stale, it is expired
            if w.expires >= self.today:
                return Waived(w.reason, w.expires, f"config waivers[{i}] by {w.author}")
        if kind == "dockerfile" and hadolint and repo is not None and path is not None:
            for p in self.pragmas.get((repo, path), []):
                if (p.line == 0 or p.line == line) and p.codes & set(hadolint):
                    where = "global ignore" if p.line == 0 else f"line {p.line}"
                    codes = ",".join(sorted(p.codes & set(hadolint)))
                    return Waived("hadolint pragma", None, f"# hadolint ignore={codes} ({path} {where})")
        return None

    def rows(self) -> list[WaiverRow]:
        out = []
        for i, w in enumerate(self.waivers):
            if w.expires < self.today:
                status = "expired"
            elif self.matched[i] == 0:
                status = "stale"
            elif w.expires <= self.today + timedelta(days=EXPIRING_DAYS):
                status = "expiring"
            else:
                status = "active"
            out.append(
                WaiverRow(i, w.policy, w.subject, w.team, w.reason, w.author, w.expires, status, self.matched[i])
            )
        return out
