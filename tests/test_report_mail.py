"""The weekly mails through a real SMTP server (aiosmtpd on loopback), parsed back.

One variant with STARTTLS and AUTH (the relay's certificate signed by a CA made for the test), one
plain relay driven through `hullcheck report --email`, and the failures an operator meets: a wrong
password, a missing password variable, TLS against a plain relay, a relay without STARTTLS, a
refused recipient, nothing listening. The password is a canary that must appear in no message.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from support.org import Org, days_ago
from support.smtp import smtp_server

from hullcheck.audit import run_audit
from hullcheck.config import SmtpSettings
from hullcheck.demo.gitbuild import Commit
from hullcheck.errors import MailError
from hullcheck.report.run import Report, build_report, prepare_mails
from hullcheck.report.smtp import send_messages

PASSWORD = "canary-pw-4d1f7a"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    org = Org(tmp_path_factory.mktemp("report-mail"))
    org.repo("pay-api", [Commit(days_ago(2), {"Dockerfile": "FROM python:3.12\nRUN pip install flask\n"})])
    org.repo("ml-lab", [Commit(days_ago(2), {"Dockerfile": "FROM jupyter/scipy-notebook\nCOPY data/ /data/\n"})])
    org.extra = {
        "teams": [
            {"name": "payments", "profile": "microservice", "email": "payments@example.org", "repos": ["pay-*"]},
            {"name": "data", "profile": "datascience", "email": "Data Team <data@example.org>", "repos": ["ml-*"]},
        ],
        "email": {"from": "hullcheck@example.org", "org_to": ["platform@example.org"]},
        "report": {"base_url": "https://reports.example.org/hullcheck"},
    }  # fmt: skip
    assert run_audit(org.config()).status == "ok"
    return org


@pytest.fixture(scope="module")
def report(org: Org) -> Report:
    cfg = org.config()
    r = build_report(cfg)
    prepare_mails(cfg, r)
    return r


def _settings(server_port: int, security: str, ca: Path | None = None, user: str | None = None) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=server_port, security=security, ca_file=ca, username=user,  # type: ignore[arg-type]
                        password_env="HULLCHECK_TEST_SMTP_PASSWORD" if user else None, timeout_seconds=5)  # fmt: skip


def test_mails_over_starttls_with_auth_arrive_whole(report: Report, tmp_path: Path) -> None:
    env = {"HULLCHECK_TEST_SMTP_PASSWORD": PASSWORD}
    with smtp_server(tmp_path, "starttls", users={"hullcheck": PASSWORD}) as server:
        settings = _settings(server.port, "starttls", server.ca_file, "hullcheck")
        deliveries = send_messages(settings, [m.message for m in report.mails], env)
    assert [d.error for d in deliveries] == [None, None, None]
    assert server.logins == [("hullcheck", True)] and all(r.login == "hullcheck" for r in server.received)
    assert sorted(tuple(r.rcpt_tos) for r in server.received) == [
        ("data@example.org",), ("payments@example.org",), ("platform@example.org",)]  # fmt: skip
    by_to = {r.rcpt_tos[0]: email.message_from_bytes(r.data, policy=email.policy.default) for r in server.received}
    pay = by_to["payments@example.org"]
    assert re.fullmatch(r"payments: \d+ new, 0 resolved \(\d{4}-W\d\d\)", str(pay["Subject"])), pay["Subject"]
    assert pay["From"] == "hullcheck@example.org"
    assert str(by_to["data@example.org"]["To"]) == "Data Team <data@example.org>"
    _check_structure(pay)
    html = next(p for p in pay.walk() if p.get_content_type() == "text/html").get_content()
    assert "https://reports.example.org/hullcheck/teams/payments-" in html  # the link to the team's page
    org_mail = by_to["platform@example.org"]
    assert str(org_mail["Subject"]).startswith("org: ") and "https://reports.example.org/hullcheck/index.html" in (
        org_mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]  # fmt: skip


def _check_structure(msg: EmailMessage) -> None:
    assert msg.get_content_type() == "multipart/alternative"
    text, related = msg.get_payload()  # type: ignore[misc]
    assert text.get_content_type() == "text/plain" and "Open findings:" in text.get_content()
    html, *images = related.get_payload()
    assert related.get_content_type() == "multipart/related" and html.get_content_type() == "text/html"
    cids = set(re.findall(r'src="cid:([^"]+)"', html.get_content()))
    assert cids and cids == {str(i["Content-ID"]).strip().strip("<>") for i in images}
    assert all(i.get_payload(decode=True).startswith(b"\x89PNG") for i in images)
    assert 'style="' in html.get_content()  # CSS inlined on the elements


def test_report_email_through_the_cli_to_a_plain_relay(org: Org, tmp_path: Path) -> None:
    with smtp_server(tmp_path / "srv", "none") as server:
        config = org.root / "mail-none.yaml"
        data = yaml.safe_load((org.root / "hullcheck.yaml").read_text())
        data["email"]["smtp"] = {"host": "127.0.0.1", "port": server.port, "security": "none"}
        data["database"] = str(org.root / "audit.duckdb")
        config.write_text(yaml.safe_dump(data))
        command = [
            sys.executable,
            "-m",
            "hullcheck",
            "report",
            "-c",
            str(config),
            "--email",
            "--out",
            str(tmp_path / "s"),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(server.received) == 3 and done.stdout.count(": sent") == 3


def test_a_wrong_password_says_so_and_never_shows_it(report: Report, tmp_path: Path) -> None:
    with smtp_server(tmp_path, "starttls", users={"hullcheck": "the-right-one"}) as server:
        settings = _settings(server.port, "starttls", server.ca_file, "hullcheck")
        with pytest.raises(MailError) as e:
            send_messages(settings, [report.mails[0].message], {"HULLCHECK_TEST_SMTP_PASSWORD": PASSWORD})
    assert "refused the login for user 'hullcheck'" in str(e.value) and PASSWORD not in str(e.value)
    assert server.received == []


def test_a_missing_password_variable_is_named(report: Report) -> None:
    settings = _settings(1, "starttls", None, "hullcheck")
    with pytest.raises(MailError, match=r"\$HULLCHECK_TEST_SMTP_PASSWORD, which is not set"):
        send_messages(settings, [report.mails[0].message], {})


def test_tls_against_a_plain_relay_fails_fast_and_clearly(report: Report, tmp_path: Path) -> None:
    with smtp_server(tmp_path, "none") as server:
        started = time.monotonic()
        with pytest.raises(MailError, match="speaks plain SMTP, but security: tls expects implicit TLS"):
            send_messages(_settings(server.port, "tls", server.ca_file), [report.mails[0].message], {})
    assert time.monotonic() - started < 5 and server.received == []


def test_starttls_never_falls_back_to_plain_text(report: Report, tmp_path: Path) -> None:
    with smtp_server(tmp_path, "none") as server, pytest.raises(MailError, match="does not offer STARTTLS"):
        send_messages(_settings(server.port, "starttls", server.ca_file), [report.mails[0].message], {})
    assert server.received == []


def test_an_untrusted_certificate_is_refused(report: Report, tmp_path: Path) -> None:
    with smtp_server(tmp_path, "tls") as server:
        with pytest.raises(MailError, match="certificate that is not trusted"):
            send_messages(_settings(server.port, "tls", None), [report.mails[0].message], {})
        delivered = send_messages(_settings(server.port, "tls", server.ca_file), [report.mails[0].message], {})
    assert [d.error for d in delivered] == [None] and len(server.received) == 1  # implicit TLS works with the CA


def test_a_refused_recipient_fails_that_mail_only(report: Report, tmp_path: Path) -> None:
    with smtp_server(tmp_path, "none", refuse={"payments@example.org"}) as server:
        deliveries = send_messages(_settings(server.port, "none"), [m.message for m in report.mails], {})
    failed = [d for d in deliveries if d.error]
    assert len(failed) == 1 and failed[0].recipients == ["payments@example.org"] and "550" in str(failed[0].error)
    assert len(server.received) == 2


def test_nothing_listening_is_a_fast_clear_error(report: Report) -> None:
    started = time.monotonic()
    with pytest.raises(MailError, match=r"cannot connect to the mail relay 127\.0\.0\.1:9: connection refused"):
        send_messages(_settings(9, "none"), [report.mails[0].message], {})
    assert time.monotonic() - started < 3
    assert os.environ.get("HULLCHECK_TEST_SMTP_PASSWORD") is None  # the tests never leak the variable
