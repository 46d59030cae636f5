"""What an unattended run says about itself outside the database: a Markdown summary (the nightly flow's
Prefect artifact) and, when the run is not ok, an alert mail to the platform team.

Pure: values in, text and messages out. Every name that comes from a repository or a registry is
escaped for Markdown, and header values lose their line breaks (`header_text`), so a hostile name can
neither format the summary nor add a mail header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hullcheck.config import EmailSettings
from hullcheck.report.mail import header_text
from hullcheck.report.render import md_escape


@dataclass
class RunReport:
    run_id: int
    status: str  # ok | partial | failed
    seconds: float
    repos_total: int = 0
    extracted: int = 0
    unchanged: int = 0
    failed: int = 0
    image_sources: int = 0
    tags: int = 0
    failures: list[str] = field(default_factory=list)
    findings: int | None = None  # open and waived, of the run's evaluation; None: not evaluated
    changes: dict[str, tuple[int, int]] = field(default_factory=dict)  # team -> (new, resolved)
    problem: str | None = None  # why the run is not ok, when it says

    @property
    def headline(self) -> str:
        new = sum(n for n, _ in self.changes.values())
        resolved = sum(r for _, r in self.changes.values())
        return (f"run {self.run_id} {self.status}: {self.failed} of {self.repos_total} repositories failed, "
                f"{len(self.failures) - self.failed} image reads failed; {new} new, {resolved} resolved")  # fmt: skip


def summary_markdown(r: RunReport) -> str:
    lines = [
        f"# hullcheck nightly audit: run {r.run_id} — **{r.status}**",
        "",
        "| sources | ok | unchanged | failed |",
        "|---|---:|---:|---:|",
        f"| git repositories ({r.repos_total}) | {r.extracted} | {r.unchanged} | {r.failed} |",
        f"| image sources ({r.image_sources}, {r.tags} tags) | | | {max(len(r.failures) - r.failed, 0)} |",
        "",
        f"Duration: {r.seconds:.1f} s. Findings: {'not evaluated' if r.findings is None else r.findings}.",
    ]
    if r.problem:
        lines += ["", f"Why it is not ok: {md_escape(r.problem)}"]
    if r.changes:
        lines += ["", "| team | new | resolved |", "|---|---:|---:|"]
        lines += [f"| {md_escape(team)} | {new} | {resolved} |" for team, (new, resolved) in sorted(r.changes.items())]
    if r.failures:
        lines += ["", "## What failed", ""] + [f"- {md_escape(f)}" for f in r.failures[:50]]
        if len(r.failures) > 50:
            lines.append(f"- … and {len(r.failures) - 50} more (`hullcheck runs`)")
    return "\n".join(lines) + "\n"


def alert_message(settings: EmailSettings, r: RunReport, base_url: str | None = None) -> EmailMessage | None:
    """The alert to the platform team (`email.org_to`) for a run that is not ok; None when ok or no one to tell."""
    if r.status == "ok" or not settings.org_to:
        return None
    msg = EmailMessage()
    msg["Subject"] = header_text(f"hullcheck: nightly audit {r.headline}")
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.org_to)
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or "hullcheck.invalid")
    body = [f"The nightly audit ended {r.status}.", "", r.headline, ""]
    if r.problem:
        body += [f"Why: {r.problem}", ""]
    if r.failures:
        body += ["What failed:"] + [f"  - {f}" for f in r.failures[:50]] + [""]
    body.append(
        "Details: `hullcheck runs`; the failed rows are in the repo_snapshots, latest_registry_attempts "
        "and policy_errors views."
    )
    if base_url:
        body.append(f"Report: {base_url}")
    msg.set_content("\n".join(body))
    return msg


def webhook_payload(r: RunReport, base_url: str | None = None) -> dict[str, object]:
    """The JSON a chat webhook takes (`text`, as Slack, Teams and Mattermost read it) with the run's facts."""
    text = f"hullcheck nightly audit {r.headline}"
    if r.failures:
        text += "\n" + "\n".join(f"- {f}" for f in r.failures[:20])
    if base_url:
        text += f"\n{base_url}"
    return {"text": text, "run_id": r.run_id, "status": r.status, "failures": r.failures[:200],
            "changes": {team: {"new": n, "resolved": res} for team, (n, res) in r.changes.items()}}  # fmt: skip


def post_webhook(url: str, payload: dict[str, object], timeout: float) -> None:
    """POST the payload; raises with the status (never the URL: it usually carries a token)."""
    import requests

    try:
        response = requests.post(url, json=payload, timeout=timeout)
    except requests.RequestException as e:
        raise RuntimeError(f"the webhook could not be reached ({type(e).__name__})") from None
    if response.status_code >= 300:
        raise RuntimeError(f"the webhook answered HTTP {response.status_code}")
