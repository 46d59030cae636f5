"""Waivers: decisions not to act on a finding, with a reason, an author and an expiry.

Config waivers match a policy and a subject glob (optionally a team). A waiver past its expiry
stops applying (its finding counts as reopened); one that matches no finding is `stale`; one
expiring within 14 days is `expiring`. An inline `# hadolint ignore=DL3006` waives the
equivalent policy (the policy file's `equivalents.hadolint`) for the instruction below it,
with the reason "hadolint pragma", so teams keep the decisions they already made in hadolint.

The matching itself is SQL (sql/queries/eval_write_findings.sql, eval_write_waivers.sql), done
where the findings are; this module reads the pragmas out of their signal rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pragma:
    repo: str
    path: str
    line: int  # the instruction's first line; 0 for `global ignore`
    codes: frozenset[str]


def parse_pragma(repo: str, path: str, line: int, detail: str) -> Pragma:
    return Pragma(repo, path, line, frozenset(c.strip().upper() for c in detail.split(",") if c.strip()))
