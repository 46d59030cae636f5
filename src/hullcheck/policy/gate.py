"""The CI gate: did a selection of findings get worse than its baseline?

A gate that fails on every old finding is switched off within a week, so by default it fails only on
what is new: an open finding (not waived) at or above the minimum severity whose fingerprint was not
open in the baseline. A finding whose waiver expired is open again, so it counts; a waived one never
does. `fail_on="any"` fails on every open finding at or above the severity, baseline or not.
Pure: the findings in, the verdict out (the CLI reads both sides, from runs or from a working tree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hullcheck.policy.units import SEVERITIES as SEVERITY_ORDER

GATE_COLUMNS = ("fingerprint", "severity", "policy_id", "team", "subject_kind", "subject", "repo", "path", "line",
                "message")  # fmt: skip


@dataclass
class Verdict:
    failed: bool
    new: list[dict[str, Any]] = field(default_factory=list)  # open now, not open in the baseline
    resolved: list[dict[str, Any]] = field(default_factory=list)  # open in the baseline, gone now
    unchanged: int = 0
    failing: list[dict[str, Any]] = field(default_factory=list)  # what made it fail


def rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else 0


def as_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(GATE_COLUMNS, r, strict=True)) for r in rows]


def judge(current: list[dict[str, Any]], baseline: list[dict[str, Any]], min_severity: str = "warning",
          fail_on: str = "new") -> Verdict:  # fmt: skip
    """Compare the open findings of `current` with those of `baseline` (both already selected)."""
    if min_severity not in SEVERITY_ORDER:
        raise ValueError(f"unknown severity {min_severity!r}: use {', '.join(SEVERITY_ORDER)}")
    if fail_on not in ("new", "any"):
        raise ValueError(f"unknown --fail-on {fail_on!r}: use new or any")
    floor = rank(min_severity)
    before = {f["fingerprint"] for f in baseline}
    now = {f["fingerprint"] for f in current}
    new = [f for f in current if f["fingerprint"] not in before and rank(f["severity"]) >= floor]
    resolved = [f for f in baseline if f["fingerprint"] not in now and rank(f["severity"]) >= floor]
    unchanged = sum(1 for f in current if f["fingerprint"] in before and rank(f["severity"]) >= floor)
    failing = new if fail_on == "new" else [f for f in current if rank(f["severity"]) >= floor]
    return Verdict(bool(failing), new, resolved, unchanged, failing)


def where(f: dict[str, Any]) -> str:
    place = f"{f['repo']}/{f['path']}" if f["repo"] and f["path"] else f["subject"]
    return place + (f":{f['line']}" if f["line"] else "")
