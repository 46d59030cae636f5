"""Sending the weekly mails over SMTP (stdlib `smtplib`): one connection for all of them.

`security`: `tls` is implicit TLS (port 465), `starttls` upgrades a plain connection and refuses a
relay that does not offer it (never a silent fall-back to plain text), `none` is for relays on
loopback. Certificates and host names are always verified (`ca_file` adds a private CA). The
password comes from the environment variable the config names and appears in no message. A
connection, TLS or login failure is a `MailError` (the run reports it); a relay refusing one
message (an unknown recipient) is that message's `Delivery.error`, and the others are still sent.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from hullcheck.config import SmtpSettings
from hullcheck.errors import MailError


@dataclass
class Delivery:
    recipients: list[str]
    subject: str
    error: str | None  # None when the relay accepted the message


def send_messages(
    settings: SmtpSettings, messages: Sequence[EmailMessage], environ: Mapping[str, str] = os.environ
) -> list[Delivery]:
    password = _password(settings, environ)
    where = f"{settings.host}:{settings.effective_port()}"
    deliveries: list[Delivery] = []
    client: smtplib.SMTP | None = None
    try:
        for msg in messages:
            recipients = [str(a) for h in ("To", "Cc", "Bcc") for a in (msg.get_all(h) or [])]
            subject = str(msg.get("Subject", ""))
            for attempt in (1, 2):  # a relay that drops an idle connection gets one reconnect
                if client is None:
                    client = _connect(settings, password, where)
                try:
                    refused = client.send_message(msg)
                    error = None if not refused else "; ".join(f"{r}: {_reply(c, m)}" for r, (c, m) in refused.items())
                    break
                except smtplib.SMTPServerDisconnected:
                    client = None
                    if attempt == 2:
                        raise MailError(f"the mail relay {where} closed the connection while sending") from None
                except smtplib.SMTPRecipientsRefused as e:
                    error = "; ".join(f"{r}: {_reply(c, m)}" for r, (c, m) in e.recipients.items())
                    break
                except smtplib.SMTPResponseException as e:  # sender or data refused: this message only
                    error = f"refused by {where}: {_reply(e.smtp_code, e.smtp_error)}"
                    break
            deliveries.append(Delivery(recipients, subject, error))
    finally:
        if client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()
    return deliveries


def _password(settings: SmtpSettings, environ: Mapping[str, str]) -> str | None:
    if not settings.username:
        return None
    assert settings.password_env is not None  # the config model requires it with a username
    value = environ.get(settings.password_env)
    if not value:
        raise MailError(f"email.smtp.password_env names ${settings.password_env}, which is not set (or empty): "
                        "export the relay's password in it")  # fmt: skip
    return value


def _connect(settings: SmtpSettings, password: str | None, where: str) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    host, port, timeout = settings.host, settings.effective_port(), settings.timeout_seconds
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        client.ehlo()
        if settings.security == "starttls":
            if not client.has_extn("starttls"):
                client.close()
                raise MailError(f"the mail relay {where} does not offer STARTTLS, and security: starttls never "
                                "sends in plain text (use security: none only for a relay on loopback)")  # fmt: skip
            client.starttls(context=context)
            client.ehlo()
        if settings.username and password is not None:
            try:
                client.login(settings.username, password)
            except smtplib.SMTPAuthenticationError as e:
                client.close()
                raise MailError(f"the mail relay {where} refused the login for user '{settings.username}' "
                                f"({_reply(e.smtp_code, e.smtp_error)})") from None  # fmt: skip
            except smtplib.SMTPNotSupportedError:
                client.close()
                raise MailError(f"the mail relay {where} offers no login (AUTH) on this connection; "
                                "remove username, or use security: starttls or tls") from None  # fmt: skip
        return client
    except MailError:
        raise
    except ssl.SSLCertVerificationError as e:
        raise MailError(f"the mail relay {where} presented a certificate that is not trusted ({e.verify_message}); "
                        "set email.smtp.ca_file to its CA") from None  # fmt: skip
    except ssl.SSLError as e:
        hint = ("it speaks plain SMTP, but security: tls expects implicit TLS (try security: starttls)"
                if settings.security == "tls" else f"TLS failed: {e.reason or e}")  # fmt: skip
        raise MailError(f"the mail relay {where}: {hint}") from None
    except ConnectionRefusedError:
        raise MailError(f"cannot connect to the mail relay {where}: connection refused") from None
    except TimeoutError:
        raise MailError(f"cannot connect to the mail relay {where}: no answer within {settings.timeout_seconds:g} s "
                        "(with security: starttls against an implicit-TLS port the relay waits silently: try tls)"
                        ) from None  # fmt: skip
    except smtplib.SMTPServerDisconnected:
        raise MailError(f"the mail relay {where} closed the connection during the greeting "
                        "(an implicit-TLS port? try security: tls)") from None  # fmt: skip
    except (smtplib.SMTPException, OSError) as e:
        raise MailError(f"cannot connect to the mail relay {where}: {e}") from None


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"
