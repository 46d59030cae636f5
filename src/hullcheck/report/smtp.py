"""Sending the weekly mails over SMTP (stdlib `smtplib`): one connection for all of them.

`security` (from `email.smtp` in the config):

- `starttls` (port 587): connect in plain text, then upgrade with STARTTLS. A relay that does not
  offer STARTTLS is an error: never a silent fall-back to plain text.
- `tls` (port 465): implicit TLS from the first byte.
- `none` (port 25): plain text all the way. Meant for a relay on loopback (a local postfix, a
  sidecar); the password is never sent this way to any other host.

Certificates and host names are always verified; `ca_file` names the CA bundle of a private relay
(instead of the system's). The password comes from the environment variable `password_env` names,
is read only when a login is configured, and appears in no message, log line or `Delivery.error`.

A failure of the connection itself — refused, silent, an untrusted certificate, TLS against a plain
relay, a refused login — raises `MailError` at once (no retry, no sleep; every socket operation is
bounded by `timeout_seconds`). A relay refusing one mail (an unknown recipient, a sender it does not
relay for, a mail too large) is that mail's `Delivery.error`, and the others are still sent. A relay
that drops the connection mid-way gets one reconnect per mail.
"""

from __future__ import annotations

import base64
import contextlib
import copy as copy_module
import io
import ipaddress
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses

from hullcheck.config import SmtpSettings
from hullcheck.errors import MailError

# OpenSSL's reasons when the bytes that arrived are no TLS record at all: a plain-text greeting.
_NOT_TLS = {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"}


@dataclass
class Delivery:
    recipients: list[str]  # the envelope addresses (To, Cc and Bcc), as sent in RCPT TO
    subject: str
    error: str | None  # None when the relay accepted the mail; else a sentence a human understands


def send_messages(
    settings: SmtpSettings, messages: Sequence[EmailMessage], environ: Mapping[str, str] = os.environ
) -> list[Delivery]:
    """Send `messages` through the relay `settings` names, over one connection; one `Delivery` per mail.

    Raises `MailError` when the relay cannot be used at all (see the module docstring); a mail the
    relay refuses is reported in its `Delivery` instead.
    """
    relay = _Relay(settings, _password(settings, environ))
    deliveries: list[Delivery] = []
    try:
        for msg in messages:
            deliveries.append(relay.send(msg, sent=sum(d.error is None for d in deliveries)))
    finally:
        relay.close()
    return deliveries


def _password(settings: SmtpSettings, environ: Mapping[str, str]) -> str | None:
    """The password, or None without a login; checked before any connection so a config slip costs no network."""
    if not settings.username:
        return None
    if settings.security == "none" and not _loopback(settings.host):
        raise MailError(
            f"security: none would send the password of user '{settings.username}' in plain text to "
            f"{settings.host}: use security: starttls or tls (none is for a relay on loopback)"
        )
    assert settings.password_env is not None  # the config model requires it with a username
    value = environ.get(settings.password_env)
    if not value:
        raise MailError(
            f"email.smtp.password_env names ${settings.password_env}, which is not set (or empty): "
            f"export the password of the mail user '{settings.username}' in it"
        )
    return value


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Relay:
    """The one connection, opened on the first mail and reopened once per mail if the relay drops it."""

    def __init__(self, settings: SmtpSettings, password: str | None) -> None:
        self.settings, self.password = settings, password
        host, port = settings.host, settings.effective_port()
        self.where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.client: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage, sent: int) -> Delivery:
        recipients = _recipients(msg)
        sender = _sender(msg)
        subject = " ".join(str(msg.get("Subject", "")).split())
        if not recipients:
            return Delivery(recipients, subject, "the mail has no address in To, Cc or Bcc")
        if not sender:
            return Delivery(recipients, subject, "the mail has no From address")
        international = not all(a.isascii() for a in (sender, *recipients))
        for attempt in (1, 2):
            if self.client is None:
                self.client = self._connect()
            try:
                if international and not self.client.has_extn("smtputf8"):
                    why = "an address has non-ASCII characters and the relay does not offer SMTPUTF8"
                    return Delivery(recipients, subject, f"the mail relay {self.where} cannot take this mail: {why}")
                options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
                refused = self.client.sendmail(sender, recipients, _flatten(msg, international), options)
            except smtplib.SMTPRecipientsRefused as e:  # every recipient refused
                if not _dropped(self.client, [code for code, _ in e.recipients.values()]):
                    return Delivery(recipients, subject, self._refused(e.recipients))
            except smtplib.SMTPResponseException as e:  # MAIL FROM or DATA refused (or a 421 goodbye)
                if not _dropped(self.client, [e.smtp_code]):
                    return Delivery(recipients, subject, self._reply_error(e))
            except (smtplib.SMTPServerDisconnected, OSError) as e:
                # smtplib reports a reply that never came as a disconnect caused by a timeout: a relay that
                # hangs would hang again after a reconnect, so that one is not retried.
                if isinstance(e, TimeoutError) or isinstance(e.__context__, TimeoutError):
                    self.close()
                    silent = f"did not answer within {self.settings.timeout_seconds:g} s while sending"
                    raise MailError(self._midway(silent, sent)) from None
            else:
                error = None if not refused else f"{self._refused(refused)}; the other recipients got it"
                return Delivery(recipients, subject, error)
            self.close()
            if attempt == 2:
                raise MailError(self._midway("closed the connection twice while sending the same mail", sent))
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.client.quit()
            with contextlib.suppress(OSError):
                self.client.close()
            self.client = None

    def _midway(self, what: str, sent: int) -> str:
        return f"the mail relay {self.where} {what} ({sent} mail{'s' if sent != 1 else ''} sent before)"

    def _refused(self, refused: Mapping[str, tuple[int, bytes]]) -> str:
        each = ", ".join(f"{addr} ({self._reply(code, text)})" for addr, (code, text) in refused.items())
        return f"the mail relay {self.where} refused the recipient{'s' if len(refused) > 1 else ''} {each}"

    def _reply_error(self, e: smtplib.SMTPResponseException) -> str:
        reply = self._reply(e.smtp_code, e.smtp_error)
        if isinstance(e, smtplib.SMTPSenderRefused):
            return f"the mail relay {self.where} refused the sender {_text(e.sender)} ({reply})"
        return f"the mail relay {self.where} refused the mail ({reply})"

    def _reply(self, code: int, message: bytes | str) -> str:
        """The relay's reply, on one line, with any form of the password blanked (a relay may echo what it got)."""
        text = " ".join(_text(message).split())
        if self.password and self.settings.username:
            user, pw = self.settings.username.encode(), self.password.encode()
            for secret in (pw, base64.b64encode(pw), base64.b64encode(b"\0" + user + b"\0" + pw)):
                text = text.replace(secret.decode("utf-8", "replace"), "***")
        return f"{code} {text}".strip()

    def _connect(self) -> smtplib.SMTP:
        settings, where = self.settings, self.where
        host, port, timeout = settings.host, settings.effective_port(), settings.timeout_seconds
        context = self._tls_context()
        client: smtplib.SMTP | None = None
        problem: str | None = None
        # Every failure below becomes `problem` and the MailError is raised outside the `except`, so
        # it carries no chained exception (whose text might hold a relay's echo of the login).
        try:
            if settings.security == "tls":
                assert context is not None
                client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                client = smtplib.SMTP(host, port, timeout=timeout)
            client.ehlo()
            if settings.security == "starttls":
                if not client.has_extn("starttls"):
                    problem = (
                        f"the mail relay {where} does not offer STARTTLS, and security: starttls never sends "
                        "in plain text (security: tls if it speaks TLS on another port; none only for loopback)"
                    )
                else:
                    assert context is not None
                    client.starttls(context=context)
                    client.ehlo()
            if problem is None and settings.username and self.password is not None:
                problem = self._login(client, settings.username, self.password)
        except ssl.SSLCertVerificationError as e:
            problem = self._untrusted(e)
        except ssl.SSLError as e:
            if settings.security == "tls" and e.reason in _NOT_TLS:
                problem = (
                    f"the mail relay {where} speaks plain SMTP, but security: tls expects implicit TLS "
                    "(try security: starttls or none)"
                )
            else:
                problem = f"the TLS handshake with the mail relay {where} failed: {e.reason or e}"
        except ConnectionRefusedError:
            problem = f"cannot connect to the mail relay {where}: connection refused"
        except smtplib.SMTPServerDisconnected as e:
            # smtplib turns a timeout while reading the greeting into "Connection unexpectedly closed: timed out".
            if isinstance(e.__context__, TimeoutError):
                problem = self._silent()
            else:
                hint = " (an implicit-TLS port? try security: tls)" if settings.security != "tls" else ""
                problem = f"the mail relay {where} closed the connection before it was ready{hint}"
        except TimeoutError:
            problem = self._silent()
        except smtplib.SMTPConnectError as e:
            problem = f"the mail relay {where} refused the connection ({self._reply(e.smtp_code, e.smtp_error)})"
        except smtplib.SMTPResponseException as e:  # EHLO or STARTTLS answered with an error
            problem = f"the mail relay {where} refused to start the session ({self._reply(e.smtp_code, e.smtp_error)})"
        except OSError as e:  # name resolution, network unreachable…
            problem = f"cannot connect to the mail relay {where}: {e.strerror or e}"
        if problem is None and client is not None:
            return client
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()
        raise MailError(problem or f"cannot connect to the mail relay {where}")

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.settings.security == "none":
            return None
        ca = self.settings.ca_file
        try:
            # Hostname checks and CERT_REQUIRED are the default context's; nothing here loosens them.
            return ssl.create_default_context(cafile=str(ca) if ca else None)
        except (OSError, ssl.SSLError) as e:
            reason = getattr(e, "strerror", None) or getattr(e, "reason", None) or e
            problem = f"email.smtp.ca_file {ca} cannot be used as a CA bundle: {reason}"
        raise MailError(problem)

    def _login(self, client: smtplib.SMTP, user: str, password: str) -> str | None:
        """None when logged in; else why not (the reply is scrubbed of the password)."""
        try:
            client.login(user, password)
            return None
        except smtplib.SMTPAuthenticationError as e:
            reply = self._reply(e.smtp_code, e.smtp_error)
            return f"the mail relay {self.where} refused the login for user '{user}' ({reply})"
        except UnicodeEncodeError:  # smtplib sends credentials as ASCII; the error's `object` holds them: drop it
            return (
                f"the user name or the password of user '{user}' has non-ASCII characters, which SMTP login cannot send"
            )
        except smtplib.SMTPNotSupportedError:
            return (
                f"the mail relay {self.where} offers no login (AUTH) on this connection: remove username "
                "from email.smtp, or use security: starttls or tls"
            )
        except smtplib.SMTPException:  # "No suitable authentication method found."
            offered = client.esmtp_features.get("auth", "").strip() or "none"
            return (
                f"the mail relay {self.where} offers no login method smtplib speaks "
                f"(it offers {offered}; smtplib speaks CRAM-MD5, PLAIN and LOGIN)"
            )

    def _untrusted(self, e: ssl.SSLCertVerificationError) -> str:
        why = e.verify_message or str(e.reason)
        if "mismatch" in why.lower():  # "Hostname mismatch…", "IP address mismatch…"
            return (
                f"the certificate of the mail relay {self.where} is not for {self.settings.host} ({why}): "
                "set email.smtp.host to a name the certificate carries"
            )
        return (
            f"the mail relay {self.where} presented a certificate that is not trusted ({why}): "
            "set email.smtp.ca_file to the CA that signed it"
        )

    def _silent(self) -> str:
        hint = ""
        if self.settings.security != "tls":
            # An implicit-TLS port waits for our TLS hello while we wait for its greeting.
            hint = " (an implicit-TLS port waits silently for TLS: try security: tls)"
        return f"the mail relay {self.where} did not answer within {self.settings.timeout_seconds:g} s{hint}"


def _dropped(client: smtplib.SMTP, codes: list[int]) -> bool:
    """Whether the relay ended the session (a 421 reply makes smtplib close the socket): worth a reconnect."""
    return 421 in codes or client.sock is None


def _flatten(msg: EmailMessage, utf8: bool) -> bytes:
    """The mail as it goes on the wire: the caller's headers and parts byte for byte, without Bcc.

    Not `SMTP.send_message`: it flattens with a generator that mangles every body line starting with
    "From " into ">From " (mbox quoting, meaningless over SMTP). The rest is what it does.
    """
    copy = copy_module.copy(msg)  # shallow: only the top-level header list is replaced below
    del copy["Bcc"]
    del copy["Resent-Bcc"]
    policy = msg.policy.clone(linesep="\r\n", **({"utf8": True} if utf8 else {}))
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=policy).flatten(copy, linesep="\r\n")
    return out.getvalue()


def _sender(msg: EmailMessage) -> str:
    """The envelope sender: Sender if present, else From (as `send_message` picks it)."""
    header = msg.get("Sender") or msg.get("From")
    return getaddresses([str(header)])[0][1] if header else ""


def _recipients(msg: EmailMessage) -> list[str]:
    """Every address in To, Cc and Bcc (all such headers), once each, in order."""
    fields = [str(v) for h in ("To", "Cc", "Bcc") for v in (msg.get_all(h) or [])]
    seen: dict[str, None] = {}
    for _, addr in getaddresses(fields):
        if addr:
            seen.setdefault(addr, None)
    return list(seen)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
