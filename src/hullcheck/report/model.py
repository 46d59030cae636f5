"""What each page and mail says, computed from `ReportData` in Python (templates hold no logic and no SQL).

The org page, one page per team, per policy and per finding. Each team page and mail is cut from
the same tables, so the org digest and the team pages always agree.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from hullcheck.policy.catalog import Catalog, Policy
from hullcheck.report.data import ReportData, Row

SEVERITIES = ("critical", "error", "warning", "info")


def slug(name: str) -> str:
    """A file name for a team: safe characters only, plus a short hash so two names never collide."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "team"
    return f"{base}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def finding_file(fingerprint: str) -> str:
    return f"findings/{fingerprint[:20]}.html"


@dataclass
class Headline:
    open: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    new: int = 0
    resolved: int = 0
    reopened: int = 0
    waived: int = 0
    images: int = 0
    over_budget: int = 0
    median_days_to_resolve: float | None = None

    @property
    def subject_line(self) -> str:
        parts = [f"{self.new + self.reopened} new", f"{self.resolved} resolved"]
        if self.over_budget:
            parts.append(f"{self.over_budget} image{'s' if self.over_budget != 1 else ''} over budget")
        return ", ".join(parts)


@dataclass
class TeamPage:
    team: str
    slug: str
    profile: str | None
    email: str | None
    headline: Headline
    trend: list[Row]  # per week: open by severity, new, resolved, reopened, multi-stage share, bytes
    worse: list[Row]  # new and reopened this week
    fixed: list[Row]  # resolved this week
    images: list[Row]
    findings: list[Row]  # open, most severe first
    waived: list[Row]
    offenders: list[Row]
    owned: Row | None


@dataclass
class PolicyPage:
    policy: Policy
    open: int
    findings: list[Row]
    params: list[Row]
    trend: list[Row]


@dataclass
class Site:
    data: ReportData
    org: Headline
    org_trend: list[Row]
    teams: list[TeamPage]
    policies: list[PolicyPage]
    findings: list[Row]
    image_offenders: list[Row]
    dockerfile_offenders: list[Row]
    profile_sizes: list[Row]
    registry: list[Row]  # the report week, per team
    team_slugs: dict[str, str]
    top: int


def build_site(data: ReportData, catalog: Catalog, top: int = 10, emails: dict[str, str | None] | None = None) -> Site:
    """The pages' contents. `emails`: each team's address from the current config (it wins over the one
    recorded at evaluation time, so a corrected address is used at once)."""
    week = data.week.week
    trend_rows = data["trend"].rows
    teams = sorted({r["team"] for r in trend_rows} | {r["team"] for r in data["teams"].rows}
                   | {r["team"] for r in data["images"].rows} | {r["team"] for r in data["findings"].rows})  # fmt: skip
    slugs = {t: slug(t) for t in teams}
    findings = [_finding(f, catalog, slugs) for f in data["findings"].rows]
    by_team: dict[str, list[Row]] = {}
    for f in findings:
        by_team.setdefault(f["team"], []).append(f)
    org_trend = _trend(data, None)
    org = _headline(data, None, week)
    pages = [_team_page(data, t, slugs[t], by_team.get(t, []), week) for t in teams]
    for p in pages:
        if emails and p.team in emails:
            p.email = emails[p.team]
    policies = []
    for pid, policy in sorted(catalog.policies.items()):
        rows = [f for f in findings if f["policy_id"] == pid]
        by_week: dict[str, Row] = {}
        for r in data["policy_trend"].where("policy_id", pid):  # summed over teams, one row per week
            w = by_week.setdefault(r["week"], {"week": r["week"], "open": 0, "new": 0, "resolved": 0, "reopened": 0,
                                               "waived": 0, "teams": 0})  # fmt: skip
            for k in ("open", "new", "resolved", "reopened", "waived"):
                w[k] += int(r[k] or 0)
            w["teams"] += 1 if r["open"] else 0
        trend = [by_week[w] for w in sorted(by_week)]
        policies.append(PolicyPage(policy, sum(1 for f in rows if not f["waived"]), rows,
                                   data["params"].where("policy_id", pid), trend))  # fmt: skip
    images = [dict(r, team_slug=slugs.get(r["team"])) for r in data["images"].rows]
    return Site(
        data=data, org=org, org_trend=org_trend, teams=pages, policies=policies, findings=findings,
        image_offenders=[r for r in images if (r["over_by_bytes"] or 0) > 0][:top],
        dockerfile_offenders=[dict(r, team_slug=slugs.get(r["team"])) for r in data["dockerfile_offenders"].rows][:top],
        profile_sizes=[r for r in data["profile_sizes"].rows if r["week"] == week],
        registry=[dict(r, team_slug=slugs.get(r["team"])) for r in data["registry_bytes"].rows if r["week"] == week],
        team_slugs=slugs, top=top,
    )  # fmt: skip


def _finding(f: Row, catalog: Catalog, slugs: dict[str, str]) -> Row:
    params = json.loads(f["params"] or "{}")
    policy = catalog.policies.get(f["policy_id"])
    evidence = f["evidence"]
    try:
        evidence_text = json.dumps(json.loads(evidence), indent=2, ensure_ascii=False) if evidence else ""
    except ValueError:
        evidence_text = str(evidence)
    where = f["subject"] + (f":{f['line']}" if f["line"] else "")
    meta = policy.meta if policy else None
    return dict(f, file=finding_file(f["fingerprint"]), team_slug=slugs.get(f["team"]), where=where,
                values=params.get("values") or {}, title=meta.title if meta else f["policy_id"],
                rationale=meta.rationale if meta else "", instead=meta.instead if meta else "",
                references=meta.references if meta else [], evidence_text=evidence_text)  # fmt: skip


def _trend(data: ReportData, team: str | None) -> list[Row]:
    """Per week of the window: findings, time to resolve, multi-stage share, images within budget, bytes."""

    def pick(table: str) -> list[Row]:
        return data[table].rows if team is None else data[table].where("team", team)

    out = []
    for w in data.window:
        f = [r for r in pick("trend") if r["week"] == w.week]
        row: Row = {"week": w.week, "week_start": w.week_start}
        for k in ("open", "new", "resolved", "reopened", "waived", *(f"open_{s}" for s in SEVERITIES)):
            row[k] = int(sum(r[k] or 0 for r in f))
        if team is None:
            res = next((r for r in data["resolution_org"].rows if r["week"] == w.week), None)
        else:
            res = next((r for r in pick("resolution") if r["week"] == w.week), None)
        row["median_days_to_resolve"] = res["median_days_to_resolve"] if res else None
        row["mean_days_to_resolve"] = res["mean_days_to_resolve"] if res else None
        d = [r for r in pick("dockerfiles") if r["week"] == w.week]
        dockerfiles, multi = sum(r["dockerfiles"] for r in d), sum(r["multi_stage"] for r in d)
        row["dockerfiles"], row["multi_stage_share"] = dockerfiles, (multi / dockerfiles if dockerfiles else None)
        s = [r for r in pick("image_sizes") if r["week"] == w.week]
        judged = sum(r["within_budget"] + r["over_budget"] for r in s)
        row["images"] = sum(r["images"] for r in s)
        row["within_budget_share"] = sum(r["within_budget"] for r in s) / judged if judged else None
        b = [r for r in pick("registry_bytes") if r["week"] == w.week]
        row["attributed_bytes"] = sum(r["attributed_bytes"] for r in b) if b else None
        row["referenced_bytes"] = sum(r["referenced_bytes"] for r in b) if b else None
        out.append(row)
    return out


def _headline(data: ReportData, team: str | None, week: str) -> Headline:
    trend = _trend_week(data, team, week)
    h = Headline()
    for k in ("open", "new", "resolved", "reopened", "waived"):
        setattr(h, k, int(trend.get(k) or 0))
    h.by_severity = {s: int(trend.get(f"open_{s}") or 0) for s in SEVERITIES}
    images = data["images"].rows if team is None else data["images"].where("team", team)
    h.images = len(images)
    h.over_budget = sum(1 for r in images if r["within_budget"] is False)
    h.median_days_to_resolve = trend.get("median_days_to_resolve")
    return h


def _trend_week(data: ReportData, team: str | None, week: str) -> Row:
    rows = _trend(data, team)
    return next((r for r in rows if r["week"] == week), {})


def _team_page(data: ReportData, team: str, team_slug: str, findings: list[Row], week: str) -> TeamPage:
    info = next((r for r in data["teams"].rows if r["team"] == team), None)
    events = data["events"].where("team", team)
    open_by_fp = {f["fingerprint"]: f for f in findings}
    worse = [dict(e, file=open_by_fp[e["fingerprint"]]["file"] if e["fingerprint"] in open_by_fp else None)
             for e in events if e["change"] in ("new", "reopened")]  # fmt: skip
    fixed = [dict(e, file=None) for e in events if e["change"] == "resolved"]
    images = data["images"].where("team", team)
    return TeamPage(
        team=team, slug=team_slug, profile=info["profile"] if info else _profile_of(findings, images),
        email=info["email"] if info else None, headline=_headline(data, team, week), trend=_trend(data, team),
        worse=worse, fixed=fixed, images=images, findings=[f for f in findings if not f["waived"]],
        waived=[f for f in findings if f["waived"]], offenders=data["dockerfile_offenders"].where("team", team),
        owned=info,
    )  # fmt: skip


def _profile_of(findings: list[Row], images: list[Row]) -> str | None:
    for r in (*findings, *images):
        if r.get("profile"):
            return str(r["profile"])
    return None


def org_subject(site: Site) -> str:
    return f"org: {site.org.subject_line} ({site.data.week.week})"


def team_subject(page: TeamPage, week: str) -> str:
    return f"{page.team}: {page.headline.subject_line} ({week})"
