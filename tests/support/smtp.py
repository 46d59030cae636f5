"""pytest plugin and helpers: a real SMTP server for the mail tests, aiosmtpd on a free loopback port.

Why real: what matters in sending is what a relay does — the STARTTLS upgrade, AUTH only after it,
certificate checks, a 550 for one recipient, a dropped connection — and a mock of `smtplib` would
only restate our own assumptions. Each server gets a fresh CA (made with `cryptography`) that
signed its certificate for `127.0.0.1` (IP SAN) and `localhost`; trust it with `ca_file`.

Use from a test module with ``pytest_plugins = ["support.smtp"]`` (or list it beside
`support.registry_fixtures` in tests/conftest.py), then ask for a fixture:

- `smtp_plain`: no TLS, no AUTH (`security: none`).
- `smtp_starttls`: STARTTLS required before anything but EHLO/QUIT, AUTH (LOGIN, PLAIN) only after it,
  one account `SMTP_USER` / `SMTP_PASSWORD`.
- `smtp_tls`: implicit TLS from the first byte (`security: tls`), no AUTH.
- `smtp_relay`: a factory, ``smtp_relay(security="none", users=None, refuse=None, mechanisms=None)``,
  for any other combination.

Each yields an `SmtpServer`: `.host`, `.port`, `.ca_file`, `.users`, `.settings(**overrides)` (an
`SmtpSettings` aimed at it), `.received` (every accepted envelope: `mail_from`, `rcpt_tos`, `data` as raw bytes,
`login`, `peer`), `.logins` ((user, accepted) per AUTH attempt), `.connections`, and two knobs a
test may turn while it runs: `.refuse` (recipients answered ``550``), `.drop_mail` (which MAIL
commands, counted over all sessions from 1, are answered by closing the connection), `.goodbye_mail`
(which ones get ``421`` and then the close) and
`.login_refusal` (the reply to a wrong password, possibly echoing it back). Servers stop at teardown.
`free_port()` gives a port nothing listens on.

Without pytest, ``with smtp_server(directory, security, users=..., refuse=...) as server:`` does the same.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hullcheck.config import SmtpSettings

Security = Literal["none", "starttls", "tls"]

SMTP_USER = "hullcheck"
SMTP_PASSWORD = "canary-4f2b9e-not-for-logs"  # a canary: a test may check it shows up in no message


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # the message exactly as it arrived (dot-stuffing undone, CRLF line ends)
    login: str | None  # the user that authenticated the session, if any
    peer: tuple[str, int]  # the client's address: a new port means a new connection


@dataclass
class SmtpServer:
    host: str
    port: int
    ca_file: Path
    security: Security
    users: dict[str, str] = field(default_factory=dict)  # AUTH accounts: user -> password
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted) per AUTH attempt
    auth_mechanisms: list[str] = field(default_factory=list)  # the mechanism of each AUTH attempt
    refuse: set[str] = field(default_factory=set)  # RCPT TO these is answered 550
    drop_mail: set[int] = field(default_factory=set)  # these MAIL commands (1-based, all sessions) close the connection
    goodbye_mail: set[int] = field(default_factory=set)  # these MAIL commands get "421" and the connection closes
    mail_commands: int = 0  # MAIL commands seen, over all sessions
    login_refusal: str | None = None  # the reply to a refused login; `{password}`, `{plain_b64}`: a relay that echoes
    connections: int = 0  # SMTP sessions opened by clients (the controller's own probe not counted)

    def settings(self, **overrides: Any) -> SmtpSettings:
        """`SmtpSettings` for this server (trusting its CA, a short timeout); `overrides` win."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "ca_file": self.ca_file,
            "timeout_seconds": 5,
        }
        return SmtpSettings(**(values | overrides))


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(self, srv: SMTP, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.server.mail_commands += 1
        if self.server.mail_commands in self.server.drop_mail:
            # A relay that goes away mid-session (restart, idle limit): the client sees the socket close.
            assert srv.transport is not None
            srv.transport.close()
            return "421 4.3.2 going away"
        if self.server.mail_commands in self.server.goodbye_mail:
            # The polite way a relay ends a session (a per-connection message limit): 421, then close.
            assert srv.transport is not None
            asyncio.get_running_loop().call_soon(srv.transport.close)  # after the reply is written
            return "421 4.7.0 too many messages on this connection"
        envelope.mail_from, envelope.mail_options = address, list(options)
        return "250 OK"

    async def handle_RCPT(self, srv: SMTP, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.server.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, srv: SMTP, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        data = envelope.original_content or envelope.content
        self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data, login, session.peer))
        return "250 Message accepted"


class _Controller(Controller):
    def __init__(self, server: SmtpServer, **kwargs: Any) -> None:
        super().__init__(_Handler(server), **kwargs)
        self.relay = server  # not `server`: the controller keeps its asyncio server there

    def factory(self) -> SMTP:
        self.relay.connections += 1  # one protocol instance per connection
        return super().factory()


def free_port() -> int:
    """A loopback port nothing listens on (just now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signed for 127.0.0.1 / localhost: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hullcheck test CA")])
    usage = x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=True,
        crl_sign=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@contextmanager
def smtp_server(
    directory: Path,
    security: Security = "none",
    users: dict[str, str] | None = None,
    refuse: set[str] | None = None,
    mechanisms: set[str] | None = None,
) -> Iterator[SmtpServer]:
    """A running aiosmtpd on 127.0.0.1, stopped on exit.

    `users`: AUTH accounts (offered only after TLS, as real relays do); `mechanisms`: limit AUTH to
    these (default LOGIN and PLAIN); `refuse`: recipients answered 550. The certificates go in `directory`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca, cert, key = _certificates(directory)
    server = SmtpServer("127.0.0.1", free_port(), ca, security, dict(users or {}), refuse=set(refuse or ()))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticate(srv: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = server.users.get(data.login.decode()) == data.password.decode()
        server.logins.append((data.login.decode(), ok))
        server.auth_mechanisms.append(mechanism)
        message = None
        if not ok and server.login_refusal:
            plain = base64.b64encode(b"\0" + data.login + b"\0" + data.password).decode()
            message = server.login_refusal.format(password=data.password.decode(), plain_b64=plain)
        return AuthResult(success=ok, handled=False, auth_data=data, message=message)

    kwargs: dict[str, Any] = {"hostname": server.host, "port": server.port, "ready_timeout": 10}
    if security == "starttls":
        kwargs |= {"tls_context": tls, "require_starttls": True}
    elif security == "tls":
        kwargs |= {"ssl_context": tls}
    if users is not None:
        kwargs |= {"authenticator": authenticate, "auth_require_tls": True}
        if mechanisms is not None:
            kwargs["auth_exclude_mechanism"] = {"LOGIN", "PLAIN"} - {m.upper() for m in mechanisms}
    controller = _Controller(server, **kwargs)
    controller.start()
    server.connections = 0  # the controller's readiness probe was one
    try:
        yield server
    finally:
        controller.stop()


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def smtp_relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SmtpServer]]:
    """Factory: ``smtp_relay(security="none", users=None, refuse=None, mechanisms=None) -> SmtpServer``."""
    with ExitStack() as stack:

        def start(
            security: Security = "none",
            users: dict[str, str] | None = None,
            refuse: set[str] | None = None,
            mechanisms: set[str] | None = None,
        ) -> SmtpServer:
            directory = tmp_path_factory.mktemp(f"smtp-{security}")
            return stack.enter_context(smtp_server(directory, security, users, refuse, mechanisms))

        yield start


@pytest.fixture
def smtp_plain(smtp_relay: Callable[..., SmtpServer]) -> SmtpServer:
    """A plain relay: no TLS, no AUTH."""
    return smtp_relay("none")


@pytest.fixture
def smtp_starttls(smtp_relay: Callable[..., SmtpServer]) -> SmtpServer:
    """STARTTLS required, then AUTH LOGIN/PLAIN for `SMTP_USER` / `SMTP_PASSWORD`."""
    return smtp_relay("starttls", users={SMTP_USER: SMTP_PASSWORD})


@pytest.fixture
def smtp_tls(smtp_relay: Callable[..., SmtpServer]) -> SmtpServer:
    """Implicit TLS from the first byte, no AUTH."""
    return smtp_relay("tls")
