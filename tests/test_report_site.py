"""The report site and the weekly mails on an org full of hostile text and secrets.

A Dockerfile path, a Compose service name, an image label and a team name carry `<script>` and
`"><img src=x onerror=...>`; a Dockerfile, a Compose file and an image config carry secret values
(a canary). The site, the Markdown, the CSV and the mails must show the hostile text as text and
the secrets nowhere; a team name with CR/LF must not add a mail header.
"""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import sys
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.oci.builder import File, Image, Layer
from support.oci.registry import Registry
from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit
from hullcheck.report.run import Report, build_report, dry_run_mails

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
CANARY = "canary-7f3e9b1c5d"
EVIL_TEAM = "ops\r\nBcc: victim@evil.example"
HOSTILE_PATH = f"svc{IMG}/{SCRIPT}/Dockerfile"


@pytest.fixture(scope="module")
def site(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> tuple[Org, Report, list[Path]]:
    org = Org(tmp_path_factory.mktemp("report-site"))
    dockerfile = f"FROM python:3.12\nENV API_TOKEN={CANARY}-df\nRUN pip install flask\nCOPY . /app\n"
    compose = (f"services:\n  '{SCRIPT}':\n    image: nginx:latest\n    privileged: true\n"
               f"    environment:\n      DB_PASSWORD: {CANARY}-compose\n")  # fmt: skip
    org.repo("web-shop", [Commit(days_ago(3), {HOSTILE_PATH: dockerfile, "compose.yaml": compose})])
    org.repo("ops-tools", [Commit(days_ago(3), {"Dockerfile": "FROM alpine:3.20\nRUN apk add curl\n"})])
    image = Image([Layer({"app/x": File(b"x" * 2000)}, compression="none")],
                  {"User": "0", "Env": [f"AWS_SECRET_ACCESS_KEY={CANARY}-image", "PATH=/usr/bin"],
                   "Labels": {"org.opencontainers.image.source": SCRIPT + IMG}})  # fmt: skip
    registry.push("web/shop", "1", image)
    host = registry.host
    org.extra = {
        "teams": [
            {"name": f"web{SCRIPT}", "profile": "microservice", "email": "web@example.org", "repos": ["web-*"],
             "images": [f"{host}/web/*"], "policies": {"image-size-budget": {"max_bytes": "1kB"}}},
            {"name": EVIL_TEAM, "profile": "tooling", "email": "ops@example.org", "repos": ["ops-*"]},
        ],
        "registries": [{"url": host, "repositories": ["web/shop"]}],
        "email": {"from": "hullcheck@example.org", "org_to": ["platform@example.org"]},
        "report": {"top": 50},  # every finding in the mails' lists, so each hostile string reaches one
    }  # fmt: skip
    cfg = org.config()
    assert run_audit(cfg).status == "ok"
    report = build_report(cfg)
    eml = dry_run_mails(cfg, report)
    return org, report, eml


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Elements:
    p = _Elements()
    p.feed(html)
    return p


def _html_parts(path: Path) -> list[str]:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return [part.get_content() for part in msg.walk() if part.get_content_type() == "text/html"]


def _assert_safe(html: str, where: str) -> _Elements:
    parsed = _parse(html)
    assert not [t for t, _ in parsed.tags if t == "script"], f"{where}: a <script> element"
    assert not [a for _, a in parsed.tags if any(k.startswith("on") for k in a)], f"{where}: an on* attribute"
    assert "<script>alert" not in html and "<img src=x" not in html, where
    return parsed


def test_hostile_text_is_shown_as_text_in_every_page_and_mail(site: tuple[Org, Report, list[Path]]) -> None:
    _, report, eml = site
    pages = [p for p in report.rendered.files if p.suffix == ".html"]
    shown: set[str] = set()
    for page in pages:
        text = "".join(_assert_safe(page.read_text(encoding="utf-8"), str(page)).text)
        shown |= {s for s in (SCRIPT, IMG, HOSTILE_PATH) if s in text}
    assert shown == {SCRIPT, IMG, HOSTILE_PATH}  # each hostile string reached a page, as text
    in_mails: set[str] = set()
    for path in eml:
        for html in _html_parts(path):
            text = "".join(_assert_safe(html, str(path)).text)
            in_mails |= {s for s in (SCRIPT, IMG, HOSTILE_PATH) if s in text}
    assert in_mails == {SCRIPT, IMG, HOSTILE_PATH}  # and each reached a mail, as text
    org_text = "".join(_parse(h).text and "".join(_parse(h).text) for h in _html_parts(eml[0]))
    assert f"web{SCRIPT}" in org_text  # the org digest lists the team by its name, as text
    markdown = (report.rendered.out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and "\\<script\\>" in markdown


def test_no_secret_value_reaches_any_generated_file(site: tuple[Org, Report, list[Path]]) -> None:
    org, report, eml = site
    # The secrets were in the inputs, and the database kept the keys, not the values.
    assert org.scalar("SELECT count(*) FROM latest_dockerfile_instructions WHERE keyword = 'ENV'") == 1
    files = [*report.rendered.files, *eml]
    assert len(files) > 20
    for path in files:
        raw = path.read_bytes()
        assert CANARY.encode() not in raw, path
    for path in eml:  # and not hidden in a base64 or quoted-printable part
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in msg.walk():
            if not part.is_multipart():
                assert CANARY.encode() not in part.get_payload(decode=True), path


def test_a_team_name_with_a_line_break_cannot_add_a_header(site: tuple[Org, Report, list[Path]]) -> None:
    _, report, _ = site
    ops = next(m for m in report.mails if m.team == EVIL_TEAM)
    raw = ops.message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and "victim@evil.example" not in str(parsed["To"])
    assert parsed["Subject"].startswith("ops Bcc: victim@evil.example: ")
    headers = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    assert not re.search(rb"^Bcc:", headers, re.MULTILINE)


def test_mails_are_text_and_html_with_the_charts_inline_by_content_id(site: tuple[Org, Report, list[Path]]) -> None:
    _, report, eml = site
    assert sorted(m.kind for m in report.mails) == ["org", "team", "team"]
    web = next(m for m in report.mails if m.team == f"web{SCRIPT}")
    msg = email.message_from_bytes(web.message.as_bytes(), policy=email.policy.default)
    assert msg["To"] == "web@example.org" and msg["From"] == "hullcheck@example.org"
    assert re.fullmatch(r"web<script>alert\(1\)</script>: \d+ new, \d+ resolved, 1 image over budget \(\d{4}-W\d\d\)",
                        msg["Subject"]), msg["Subject"]  # fmt: skip
    _check_cids(msg)
    assert len(eml) == 3 and eml[0].name == "org.eml" and all(re.fullmatch(r"[a-z0-9.-]+", p.name) for p in eml)


def _check_cids(msg: EmailMessage) -> None:
    assert msg.get_content_type() == "multipart/alternative"
    text, related = msg.get_payload()  # type: ignore[misc]
    assert text.get_content_type() == "text/plain" and "open findings" in text.get_content().lower()
    assert related.get_content_type() == "multipart/related"
    html, *images = related.get_payload()
    assert html.get_content_type() == "text/html" and images
    referenced = set(re.findall(r'src="cid:([^"]+)"', html.get_content()))
    attached = {str(i["Content-ID"]).strip().strip("<>") for i in images}
    assert referenced == attached
    for i in images:
        assert i.get_content_type() == "image/png" and i.get_payload(decode=True).startswith(b"\x89PNG")
    assert "<style" not in html.get_content() or 'style="' in html.get_content()  # CSS inlined


def test_every_page_exists_and_every_internal_link_resolves(site: tuple[Org, Report, list[Path]]) -> None:
    _, report, _ = site
    out = report.rendered.out
    assert (out / "index.html").is_file() and (out / "report.md").is_file() and (out / "style.css").is_file()
    assert len(list((out / "teams").glob("*.html"))) == len(report.site.teams) == 2
    assert len(list((out / "policies").glob("*.html"))) == len(report.site.policies) >= 30
    assert len(list((out / "findings").glob("*.html"))) == len(report.site.findings) > 5
    assert {p.name for p in (out / "csv").glob("*.csv")} >= {"findings.csv", "trend.csv", "images.csv"}
    for page in out.rglob("*.html"):
        for tag, attrs in _parse(page.read_text(encoding="utf-8")).tags:
            target = attrs.get("href") if tag in ("a", "link") else attrs.get("src") if tag == "img" else None
            if not target or target.startswith(("http://", "https://", "mailto:", "cid:")):
                continue
            assert (page.parent / target.split("#")[0]).resolve().is_file(), f"{page}: {target}"


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    from hullcheck.report.render import to_csv

    text = to_csv(["a", "b"], [{"a": '=HYPERLINK("http://x")', "b": "+1"}, {"a": "ok", "b": ["x", "y"]}])
    assert text.splitlines()[1].startswith("\"'=HYPERLINK") and ",'+1" in text.splitlines()[1]
    assert '"[""x"", ""y""]"' in text


def test_report_cli_writes_the_site_and_the_mails_and_refuses_an_unknown_week(
    site: tuple[Org, Report, list[Path]], tmp_path: Path
) -> None:
    org, _, _ = site
    cli = [sys.executable, "-m", "hullcheck", "report", "-c", str(org.root / "hullcheck.yaml")]
    done = subprocess.run([*cli, "--out", str(tmp_path / "site"), "--dry-run"], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "index.html").is_file() and len(list((tmp_path / "site" / "mail").glob("*.eml"))) == 3
    assert "index.html" in done.stdout and "org.eml" in done.stdout
    unknown = subprocess.run([*cli, "--week", "1999-W01"], capture_output=True, text=True, timeout=300)
    assert unknown.returncode == 2 and "no evaluated run in 1999-W01" in unknown.stderr


def test_a_render_killed_midway_leaves_the_last_site_and_the_next_one_cleans_up(
    site: tuple[Org, Report, list[Path]], tmp_path: Path
) -> None:
    from hullcheck.report.render import render_site

    _, report, _ = site
    out = tmp_path / "site"
    render_site(report.site, out)
    first = (out / "index.html").read_text(encoding="utf-8")
    (tmp_path / ".site.staging-999999" / "teams").mkdir(parents=True)  # what a SIGKILL mid-render leaves
    (tmp_path / ".site.old-999998").mkdir()
    (tmp_path / ".site.notes").mkdir()  # not ours: kept
    render_site(report.site, out)
    assert (out / "index.html").read_text(encoding="utf-8") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.notes", "site"]
