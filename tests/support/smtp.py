"""A real SMTP server for the mail tests: aiosmtpd on a free loopback port.

`smtp_server(tmp, security=..., users=..., refuse=...)` starts one and yields an `SmtpServer` with
its host, port, the CA file that signed its certificate (a fresh CA per server, made with
`cryptography`, for `127.0.0.1` and `localhost`), and every envelope it accepted. Variants: plain
(`none`), STARTTLS required with AUTH only after it (`starttls`), implicit TLS (`tls`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None  # the user that authenticated the session, if any


@dataclass
class SmtpServer:
    host: str
    port: int
    ca_file: Path
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted) per AUTH attempt


class _Handler:
    def __init__(self, server: SmtpServer, refuse: set[str]) -> None:
        self.server, self.refuse = server, refuse

    async def handle_RCPT(self, srv: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, srv: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signed for 127.0.0.1 / localhost: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hullcheck test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(san, critical=False).sign(ca_key, hashes.SHA256()))  # fmt: skip
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return paths


@contextmanager
def smtp_server(directory: Path, security: str = "none", users: dict[str, str] | None = None,
                refuse: set[str] | None = None) -> Iterator[SmtpServer]:  # fmt: skip
    """A running aiosmtpd on 127.0.0.1 (stopped on exit). `users`: AUTH accounts (only after TLS)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, cert, key = _certificates(directory)
    server = SmtpServer("127.0.0.1", _free_port(), ca)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticate(srv: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (users or {}).get(data.login.decode()) == data.password.decode()
        if isinstance(data, LoginPassword):
            server.logins.append((data.login.decode(), ok))
        return AuthResult(success=ok, handled=False, auth_data=data)

    kwargs: dict[str, Any] = {"hostname": server.host, "port": server.port, "ready_timeout": 30}
    if security == "starttls":
        kwargs |= {"tls_context": tls, "require_starttls": True}
    elif security == "tls":
        kwargs |= {"ssl_context": tls}
    if users is not None:
        kwargs |= {"authenticator": authenticate, "auth_require_tls": True}
    controller = Controller(_Handler(server, refuse or set()), **kwargs)
    if security == "tls":
        # The controller's own readiness probe would speak plain SMTP to a TLS port: answer it with TLS.
        controller.server_hostname = "localhost"
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
