"""A Docker-token-spec authorization server for the token-auth test registry.

Why: registries like Docker Hub, GHCR, Harbor and GitLab answer 401 with
`WWW-Authenticate: Bearer realm=…,service=…,scope=…`; a client must fetch a JWT from
the realm and retry. This issuer is the realm. It checks Basic credentials (GET) or an
OAuth2 password grant (POST form), grants the requested scope's actions (overridable by
`.grant`), counts requests, and signs ES256 JWTs with a key whose self-signed
certificate is the registry's `rootcertbundle`. The certificate travels in the JWT's
`x5c` header: distribution 2.8 verifies the chain against the bundle, then `iss`
(config `issuer`), `aud` (config `service`, a single string in 2.8), `exp`/`nbf`, and the
`access` claim against the scope it needs.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class TokenRequest:
    method: str
    user: str | None  # None: anonymous or bad credentials
    scopes: tuple[str, ...]
    status: int


Grant = Callable[[str, str, str, list[str]], list[str]]  # (user, type, name, requested actions) -> granted


class TokenIssuer:
    """Threaded HTTP token endpoint on 127.0.0.1; `.realm`, `.service`, `.issuer`, `.cert_pem`, `.log`."""

    def __init__(
        self,
        users: dict[str, str],
        service: str = "hullcheck-test-registry",
        issuer: str = "hullcheck-test-issuer",
        lifetime: int = 300,
    ) -> None:
        self.users = dict(users)
        self.service, self.issuer, self.lifetime = service, issuer, lifetime
        self.grant: Grant = lambda user, kind, name, actions: actions
        self.log: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hullcheck test token issuer")])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        handler = type("Handler", (_Handler,), {"issuer_ref": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="token-issuer"
        )
        self._thread.start()
        self.realm = f"http://127.0.0.1:{self._server.server_address[1]}/token"

    @property
    def token_requests(self) -> int:
        with self._lock:
            return len(self.log)

    def record(self, entry: TokenRequest) -> None:
        with self._lock:
            self.log.append(entry)

    def reset(self) -> None:
        with self._lock:
            self.log.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def check(self, user: str | None, password: str | None) -> bool:
        return user is not None and user in self.users and secrets.compare_digest(self.users[user], password or "")

    def access(self, user: str, scopes: list[str]) -> list[dict[str, object]]:
        """`repository:test/x:pull,push` -> [{"type", "name", "actions"}], filtered by `.grant`."""
        out: list[dict[str, object]] = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if not kind or not name:
                continue
            granted = self.grant(user, kind, name, [a for a in actions.split(",") if a])
            out.append({"type": kind, "name": name, "actions": granted})
        return out

    def issue(self, user: str, scopes: list[str]) -> str:
        """An ES256 JWT with the certificate in `x5c`."""
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user,
            "aud": self.service,
            "exp": now + self.lifetime,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": self.access(user, scopes),
        }
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        der_sig = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der_sig)
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class _Handler(http.server.BaseHTTPRequestHandler):
    issuer_ref: TokenIssuer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        user, password = self._basic()
        self._answer("GET", user, password, query)

    def do_POST(self) -> None:
        """OAuth2 form (grant_type=password), as `docker login` style clients send."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = parse_qs(body)
        user, password = self._basic()
        if form.get("grant_type", [""])[0] == "password":
            user, password = form.get("username", [None])[0], form.get("password", [None])[0]
        self._answer("POST", user, password, form)

    def _basic(self) -> tuple[str | None, str | None]:
        value = self.headers.get("Authorization", "")
        if not value.lower().startswith("basic "):
            return None, None
        try:
            user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        return user, password

    def _answer(self, method: str, user: str | None, password: str | None, params: dict[str, list[str]]) -> None:
        issuer = self.issuer_ref
        scopes = [s for value in params.get("scope", []) for s in value.split()]
        if not issuer.check(user, password):
            issuer.record(TokenRequest(method, None, tuple(scopes), 401))
            self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad or missing credentials"}]})
            return
        assert user is not None
        token = issuer.issue(user, scopes)
        issued = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        issuer.record(TokenRequest(method, user, tuple(scopes), 200))
        body = {"token": token, "access_token": token, "expires_in": issuer.lifetime, "issued_at": issued}
        self._send(200, body)

    def _send(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="hullcheck-token-issuer"')
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass
