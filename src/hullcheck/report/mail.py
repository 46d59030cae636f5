"""The weekly mails: one per team (to the team's address) and the org digest (to the platform team).

multipart/alternative (text, then HTML) inside multipart/related, the charts inline by Content-ID,
CSS inlined (css-inline) for clients that strip `<style>`. Every header value is built from text
with its line breaks and control characters removed, so a team name can never add a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import css_inline

from hullcheck.config import EmailSettings
from hullcheck.report.model import Site, TeamPage, org_subject, team_subject
from hullcheck.report.render import Rendered, environment

_UNSAFE_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(value: str, limit: int = 200) -> str:
    """Text fit for a header: no CR/LF or other control character (a line break would start a new header)."""
    return _UNSAFE_HEADER.sub(" ", value).strip()[:limit]


@dataclass
class Mail:
    kind: str  # "org" or "team"
    team: str | None
    message: EmailMessage

    @property
    def file_name(self) -> str:
        from hullcheck.report.model import slug

        return "org.eml" if self.team is None else f"team-{slug(self.team)}.eml"


def compose_mails(site: Site, rendered: Rendered, settings: EmailSettings, base_url: str | None = None
                  ) -> tuple[list[Mail], list[str]]:  # fmt: skip
    """The org digest (when `org_to` is set) and one mail per team with an address; returns the mails
    and a note for each team left out (no address)."""
    env = environment()
    week = site.data.week
    mails, skipped = [], []
    if settings.org_to:
        images = [("org-findings", "Open findings per week, stacked by severity"),
                  ("org-flow", "New against resolved findings per week"),
                  ("org-registry", "Registry bytes per team")]  # fmt: skip
        values = dict(title=f"The organization, week {week.week}", headline=site.org, worse=None, fixed=None,
                      teams=site.teams, images_table=site.image_offenders,
                      page_url=f"{base_url}index.html" if base_url else None)  # fmt: skip
        msg = _message(env, org_subject(site), settings, settings.org_to, values, images, rendered, site)
        mails.append(Mail("org", None, msg))
    for page in site.teams:
        if not page.email:
            skipped.append(f"{page.team}: no email address in the config (teams[].email)")
            continue
        images = [(f"{page.slug}-findings", "Open findings per week, stacked by severity"),
                  (f"{page.slug}-flow", "New against resolved findings per week"),
                  (f"{page.slug}-budget", "Image size against budget")]  # fmt: skip
        msg = _message(env, team_subject(page, week.week), settings, [page.email], _team_values(page, site, base_url),
                       images, rendered, site)  # fmt: skip
        mails.append(Mail("team", page.team, msg))
    return mails, skipped


def _team_values(page: TeamPage, site: Site, base_url: str | None) -> dict[str, object]:
    return dict(title=f"{page.team} ({page.profile or 'no profile'}), week {site.data.week.week}",
                headline=page.headline, worse=page.worse, fixed=page.fixed, teams=None,
                images_table=[r for r in page.images if r.get("within_budget") is False],
                page_url=f"{base_url}teams/{page.slug}.html" if base_url else None)  # fmt: skip


def _message(env, subject: str, settings: EmailSettings, to: list[str], values: dict[str, object],  # type: ignore[no-untyped-def]
             images: list[tuple[str, str]], rendered: Rendered, site: Site) -> EmailMessage:  # fmt: skip
    domain = settings.sender.rpartition("@")[2].strip("> ") or "hullcheck.invalid"
    present = [(name, alt, rendered.chart(name)) for name, alt in images if rendered.chart(name)]
    cids = {name: make_msgid(idstring=re.sub(r"[^A-Za-z0-9.-]", "-", name), domain=domain) for name, _, _ in present}
    common = dict(values, week=site.data.week, subject=subject, top=site.top)
    text = env.get_template("mail.txt.j2").render(**common)
    html = env.get_template("mail.html.j2").render(**common, images=[(cids[n][1:-1], alt) for n, alt, _ in present])
    html = css_inline.inline(html)
    msg = EmailMessage()
    msg["Subject"] = header_text(subject)
    msg["From"] = header_text(settings.sender)
    msg["To"] = ", ".join(header_text(a) for a in to)
    if settings.reply_to:
        msg["Reply-To"] = header_text(settings.reply_to)
    msg["Date"] = formatdate(site.data.generated_at.timestamp(), usegmt=True)
    msg["Message-ID"] = make_msgid(idstring="hullcheck-report", domain=domain)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_payload()[1]
    for name, _alt, png in present:
        assert png is not None
        html_part.add_related(png, maintype="image", subtype="png", cid=cids[name], filename=f"{name}.png",
                              disposition="inline")  # fmt: skip
    return msg


def write_eml(mails: list[Mail], directory: Path) -> list[Path]:
    """`--dry-run`: each mail as an .eml file (opens in any mail client), nothing sent."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for m in mails:
        path = directory / m.file_name
        path.write_bytes(m.message.as_bytes())
        paths.append(path)
    return paths
