"""`hullcheck.report.smtp.send_messages` against a real SMTP server (aiosmtpd on loopback, tests/support/smtp.py).

What arrives is parsed back and compared with what was sent, byte for byte. The failures are the
ones an operator meets — a wrong or missing password, TLS against a plain relay, a relay without
STARTTLS, an untrusted certificate, a refused recipient, a dropped connection, nothing listening —
and each must be a clear sentence, quickly. The password is a canary that must appear nowhere.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import time
import traceback
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hullcheck.config import SmtpSettings
from hullcheck.errors import MailError
from hullcheck.report.smtp import Delivery, send_messages

if TYPE_CHECKING:  # only for annotations: importing the plugin before pytest registers it skips its assert rewriting
    from support.smtp import SmtpServer

pytest_plugins = ["support.smtp"]  # smtp_plain, smtp_starttls, smtp_tls, smtp_relay

PASSWORD_ENV = "HULLCHECK_TEST_SMTP_PASSWORD"
USER = "hullcheck"
CANARY = "canary-pw-7e3a91"  # the password: no message, log line or traceback may show it
# A 1x1 PNG: the bytes must come back identical from inside a multipart/related part.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2216bc60000000049454e44ae426082"
)


def _mail(to: str, subject: str = "weekly", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "hullcheck@example.org"
    msg["To"] = to
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(f"Hello {to}\n")
    return msg


def _report_mail() -> EmailMessage:
    """Shaped like the weekly mail: text, and HTML with an inline chart by Content-ID."""
    msg = EmailMessage()
    msg["From"] = "Hullcheck <hullcheck@example.org>"
    msg["To"] = "Payments Team <payments@example.org>"
    msg["Subject"] = "payments: 3 new, 1 resolved (2026-W49) — Überblick"
    # A line starting with "." must survive SMTP's dot-stuffing, "From " must not be mangled.
    msg.set_content("Open findings: 3\n.dotted line\nFrom the top\n")
    msg.add_alternative('<p>Open findings: 3</p><img src="cid:chart-1@hullcheck">\n', subtype="html")
    html = msg.get_payload()[1]  # type: ignore[index]
    html.add_related(PNG, "image", "png", cid="<chart-1@hullcheck>", filename="chart.png")
    return msg


def _wire(msg: EmailMessage) -> bytes:
    """The bytes `smtplib.send_message` puts on the wire for `msg` (before dot-stuffing)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def _login_settings(server: SmtpServer, **overrides: object) -> SmtpSettings:
    return server.settings(username=USER, password_env=PASSWORD_ENV, **overrides)


def test_a_plain_relay_gets_the_mail_byte_for_byte(smtp_plain: SmtpServer) -> None:
    msg = _report_mail()
    expected = _wire(msg)  # flattening fixes the MIME boundaries, so the send below writes the same ones
    deliveries = send_messages(smtp_plain.settings(), [msg], {})
    assert deliveries == [Delivery(["payments@example.org"], str(msg["Subject"]), None)]
    [got] = smtp_plain.received
    assert got.mail_from == "hullcheck@example.org" and got.rcpt_tos == ["payments@example.org"]
    assert got.data.rstrip(b"\r\n") == expected.rstrip(b"\r\n")  # what was sent, exactly
    back = email.message_from_bytes(got.data, policy=email.policy.default)
    assert back["Subject"] == "payments: 3 new, 1 resolved (2026-W49) — Überblick"
    assert back["To"] == "Payments Team <payments@example.org>"
    assert back.get_content_type() == "multipart/alternative"
    text, related = back.get_payload()  # type: ignore[misc]
    assert text.get_content().replace("\r\n", "\n") == "Open findings: 3\n.dotted line\nFrom the top\n"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert 'src="cid:chart-1@hullcheck"' in html.get_content()
    assert image["Content-ID"] == "<chart-1@hullcheck>" and image.get_content_type() == "image/png"
    assert image.get_payload(decode=True) == PNG


def test_starttls_and_login_send_every_mail_over_one_connection(smtp_starttls: SmtpServer) -> None:
    [(user, password)] = smtp_starttls.users.items()
    mails = [_mail("a@example.org"), _mail("b@example.org"), _mail("c@example.org")]
    settings = smtp_starttls.settings(username=user, password_env=PASSWORD_ENV)
    deliveries = send_messages(settings, mails, {PASSWORD_ENV: password})
    assert [d.error for d in deliveries] == [None, None, None]
    assert [r.rcpt_tos for r in smtp_starttls.received] == [["a@example.org"], ["b@example.org"], ["c@example.org"]]
    # The relay refuses MAIL before STARTTLS and AUTH before TLS, so arriving proves both happened.
    assert smtp_starttls.logins == [(user, True)] and smtp_starttls.connections == 1
    assert {r.login for r in smtp_starttls.received} == {user}


def test_a_relay_offering_only_auth_login_works(smtp_relay: Callable[..., SmtpServer]) -> None:
    server = smtp_relay("starttls", users={USER: CANARY}, mechanisms={"LOGIN"})
    deliveries = send_messages(_login_settings(server), [_mail("a@example.org")], {PASSWORD_ENV: CANARY})
    assert [d.error for d in deliveries] == [None]
    assert server.auth_mechanisms == ["LOGIN"] and server.received[0].login == USER


def test_implicit_tls_needs_the_relays_ca(smtp_tls: SmtpServer) -> None:
    with pytest.raises(MailError, match=r"presented a certificate that is not trusted .*set email\.smtp\.ca_file"):
        send_messages(smtp_tls.settings(ca_file=None), [_mail("a@example.org")], {})  # the system CAs only
    assert smtp_tls.received == []
    deliveries = send_messages(smtp_tls.settings(), [_mail("a@example.org")], {})
    assert [d.error for d in deliveries] == [None] and len(smtp_tls.received) == 1


def test_a_wrong_password_names_the_user_and_never_the_password(
    smtp_relay: Callable[..., SmtpServer], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    server = smtp_relay("starttls", users={USER: "the-right-one"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MailError) as raised:
        send_messages(_login_settings(server), [_mail("a@example.org")], {PASSWORD_ENV: CANARY})
    message = str(raised.value)
    assert f"the mail relay 127.0.0.1:{server.port} refused the login for user '{USER}' (535 " in message
    seen = [message, repr(raised.value), "".join(traceback.format_exception(raised.value)), caplog.text]
    seen += capsys.readouterr()
    assert not [s for s in seen if CANARY in s]
    assert server.logins[-1] == (USER, False) and server.received == []


def test_a_relay_echoing_the_credentials_does_not_make_us_print_them(smtp_relay: Callable[..., SmtpServer]) -> None:
    server = smtp_relay("starttls", users={USER: "the-right-one"})
    server.login_refusal = "535 5.7.8 bad credentials {password} / {plain_b64}"
    with pytest.raises(MailError, match=r"\(535 5\.7\.8 bad credentials \*\*\* / \*\*\*\)") as raised:
        send_messages(_login_settings(server), [_mail("a@example.org")], {PASSWORD_ENV: CANARY})
    assert CANARY not in "".join(traceback.format_exception(raised.value))


@pytest.mark.parametrize("environ", [{}, {PASSWORD_ENV: ""}], ids=["unset", "empty"])
def test_a_missing_password_variable_is_named_before_any_connection(
    smtp_starttls: SmtpServer, environ: dict[str, str]
) -> None:
    with pytest.raises(MailError, match=rf"password_env names \${PASSWORD_ENV}, which is not set \(or empty\)"):
        send_messages(_login_settings(smtp_starttls), [_mail("a@example.org")], environ)
    assert smtp_starttls.connections == 0


def test_security_none_never_sends_a_password_off_loopback() -> None:
    settings = SmtpSettings(host="mail.example.org", security="none", username="u", password_env=PASSWORD_ENV)
    with pytest.raises(MailError, match="security: none would send the password of user 'u' in plain text"):
        send_messages(settings, [_mail("a@example.org")], {PASSWORD_ENV: CANARY})


def test_tls_against_a_plain_relay_fails_fast_and_says_why(smtp_plain: SmtpServer) -> None:
    started = time.monotonic()
    with pytest.raises(MailError) as raised:
        send_messages(smtp_plain.settings(security="tls"), [_mail("a@example.org")], {})
    assert time.monotonic() - started < 5
    assert str(raised.value) == (
        f"the mail relay 127.0.0.1:{smtp_plain.port} speaks plain SMTP, but security: tls expects implicit TLS "
        "(try security: starttls or none)"
    )
    assert smtp_plain.received == []


def test_starttls_never_falls_back_to_plain_text(smtp_plain: SmtpServer) -> None:
    with pytest.raises(MailError, match="does not offer STARTTLS, and security: starttls never sends in plain text"):
        send_messages(smtp_plain.settings(security="starttls"), [_mail("a@example.org")], {})
    assert smtp_plain.received == [] and smtp_plain.mail_commands == 0


def test_plain_smtp_against_an_implicit_tls_port_times_out_with_a_hint(smtp_tls: SmtpServer) -> None:
    started = time.monotonic()
    with pytest.raises(MailError, match=r"did not answer within 1 s \(.*try security: tls\)"):
        send_messages(smtp_tls.settings(security="starttls", timeout_seconds=1), [_mail("a@example.org")], {})
    assert time.monotonic() - started < 4  # the configured timeout, not smtplib's default


def test_a_refused_recipient_fails_only_its_mail(smtp_plain: SmtpServer) -> None:
    smtp_plain.refuse = {"gone@example.org"}
    mails = [_mail("a@example.org"), _mail("gone@example.org", "second"), _mail("c@example.org", "third")]
    first, second, third = send_messages(smtp_plain.settings(), mails, {})
    assert first.error is None and third == Delivery(["c@example.org"], "third", None)
    assert second.recipients == ["gone@example.org"] and second.subject == "second"
    assert second.error == (
        f"the mail relay 127.0.0.1:{smtp_plain.port} refused the recipient gone@example.org "
        "(550 5.1.1 no such mailbox here)"
    )
    assert [r.rcpt_tos for r in smtp_plain.received] == [["a@example.org"], ["c@example.org"]]
    assert smtp_plain.connections == 1  # the refusal did not cost the connection


def test_one_refused_recipient_among_several_is_reported_and_the_rest_get_it(smtp_plain: SmtpServer) -> None:
    smtp_plain.refuse = {"gone@example.org"}
    [delivery] = send_messages(smtp_plain.settings(), [_mail("a@example.org, gone@example.org")], {})
    assert delivery.recipients == ["a@example.org", "gone@example.org"]
    assert delivery.error is not None and "refused the recipient gone@example.org (550" in delivery.error
    assert delivery.error.endswith("the other recipients got it")
    assert [r.rcpt_tos for r in smtp_plain.received] == [["a@example.org"]]


def test_bcc_recipients_get_the_mail_but_stay_hidden(smtp_plain: SmtpServer) -> None:
    msg = _mail("a@example.org", Cc="Carol <c@example.org>", Bcc="hidden@example.org")
    [delivery] = send_messages(smtp_plain.settings(), [msg], {})
    assert delivery == Delivery(["a@example.org", "c@example.org", "hidden@example.org"], "weekly", None)
    [got] = smtp_plain.received
    assert got.rcpt_tos == ["a@example.org", "c@example.org", "hidden@example.org"]
    assert b"hidden@example.org" not in got.data and b"\r\nBcc:" not in got.data
    assert msg["Bcc"] == "hidden@example.org"  # the caller's message is left as it was


def test_a_dropped_connection_is_reopened_once(smtp_plain: SmtpServer) -> None:
    smtp_plain.drop_mail = {2}  # the relay goes away when the second mail starts
    mails = [_mail("a@example.org"), _mail("b@example.org"), _mail("c@example.org")]
    deliveries = send_messages(smtp_plain.settings(), mails, {})
    assert [d.error for d in deliveries] == [None, None, None]
    assert [r.rcpt_tos for r in smtp_plain.received] == [["a@example.org"], ["b@example.org"], ["c@example.org"]]
    assert smtp_plain.connections == 2
    assert len({r.peer for r in smtp_plain.received}) == 2  # the third mail went over the new connection too


def test_a_421_goodbye_mid_way_is_a_reconnect_not_a_failed_mail(smtp_plain: SmtpServer) -> None:
    smtp_plain.goodbye_mail = {2}  # a relay at its per-connection limit answers the second MAIL with 421
    mails = [_mail("a@example.org"), _mail("b@example.org"), _mail("c@example.org")]
    deliveries = send_messages(smtp_plain.settings(), mails, {})
    assert [d.error for d in deliveries] == [None, None, None]
    assert len(smtp_plain.received) == 3 and smtp_plain.connections == 2


def test_a_relay_dropping_the_same_mail_twice_is_an_error(smtp_plain: SmtpServer) -> None:
    smtp_plain.drop_mail = {2, 3}
    mails = [_mail("a@example.org"), _mail("b@example.org"), _mail("c@example.org")]
    with pytest.raises(MailError, match=r"closed the connection twice while sending the same mail \(1 mail sent"):
        send_messages(smtp_plain.settings(), mails, {})
    assert [r.rcpt_tos for r in smtp_plain.received] == [["a@example.org"]]


def test_nothing_listening_is_a_fast_clear_error() -> None:
    with socket.socket() as held:  # bound, never listening: the port is refused and no one else can take it
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        settings = SmtpSettings(host="127.0.0.1", port=port, security="starttls", timeout_seconds=5)
        started = time.monotonic()
        with pytest.raises(MailError) as raised:
            send_messages(settings, [_mail("a@example.org")], {})
    assert str(raised.value) == f"cannot connect to the mail relay 127.0.0.1:{port}: connection refused"
    assert time.monotonic() - started < 3


def test_no_mails_open_no_connection(smtp_plain: SmtpServer) -> None:
    assert send_messages(smtp_plain.settings(), [], {}) == []
    assert smtp_plain.connections == 0


def test_an_unreadable_ca_file_is_named(smtp_tls: SmtpServer, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(MailError, match=f"email.smtp.ca_file {missing} cannot be used as a CA bundle"):
        send_messages(smtp_tls.settings(ca_file=missing), [_mail("a@example.org")], {})
    assert smtp_tls.connections == 0
