"""What went wrong with an HTTP exchange, in words a person reads in an error row.

`requests` wraps urllib3 wraps the socket: the useful fact (a reset, a short read, a read
timeout, a refused connection) sits a few exceptions deep. `describe` walks the chain; `lasting`
says whether another attempt would meet the same wall at once (an interactive command then fails
without retrying), and `tls_reason` what the TLS library said.
"""

from __future__ import annotations

import http.client
import socket
import ssl

import requests
import urllib3.exceptions as u3

# Failures worth another attempt: the network or the server misbehaved, the request was fine.
TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
             requests.exceptions.ContentDecodingError, u3.HTTPError, http.client.HTTPException, OSError)  # fmt: skip


def _chain(e: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException] = [e]
    while todo and len(seen) < 20:
        x = todo.pop(0)
        if any(x is s for s in seen):
            continue
        seen.append(x)
        todo += [a for a in getattr(x, "args", ()) if isinstance(a, BaseException)]
        todo += [c for c in (x.__cause__, x.__context__, getattr(x, "reason", None)) if isinstance(c, BaseException)]
    return seen


def describe(e: BaseException, timeout: float | None = None) -> str:
    """A short sentence fragment: "the connection was reset", "the answer was cut short", …"""
    chain = _chain(e)
    if any(isinstance(x, ConnectionRefusedError) for x in chain):
        return "the connection was refused"
    # Before the timeout: urllib3's NameResolutionError is a ConnectTimeoutError (for backwards compatibility).
    if any(isinstance(x, socket.gaierror | u3.NameResolutionError) for x in chain):
        return "the host name could not be resolved"
    if any(isinstance(x, requests.ConnectTimeout | u3.ConnectTimeoutError) for x in chain):
        return "the connection could not be made in time"
    if any(isinstance(x, ssl.SSLError) for x in chain):
        return "the TLS handshake failed"
    if any(isinstance(x, ConnectionResetError | BrokenPipeError) for x in chain):
        return "the connection was reset"
    if any(isinstance(x, http.client.IncompleteRead | u3.IncompleteRead) for x in chain):
        return "the answer was cut short"
    if any(isinstance(x, requests.ReadTimeout | u3.ReadTimeoutError | TimeoutError | socket.timeout) for x in chain):
        after = f" for {timeout:g} s" if timeout else ""
        return f"the registry stopped answering{after}"
    if any(isinstance(x, http.client.RemoteDisconnected) for x in chain):
        return "the registry closed the connection without an answer"
    if any(isinstance(x, requests.exceptions.ContentDecodingError) for x in chain):
        return "the answer could not be decompressed"
    text = str(e)
    for needle, words in (("Connection refused", "the connection was refused"), ("timed out", "a read timed out"),
                          ("No route to host", "there is no route to the host")):  # fmt: skip
        if needle in text:
            return words
    return f"the connection failed ({type(e).__name__})"


def lasting(e: BaseException) -> str | None:
    """The kind of a failure that no retry within seconds would fix — "refused" (nothing listens), "dns",
    "unreachable" (no route), "connect-timeout", "tls-verify" (an untrusted or mismatched certificate),
    "tls" (any other handshake failure) — or None for one worth another attempt (a reset, an answer cut
    short, a stall)."""
    chain = _chain(e)
    if any(isinstance(x, ConnectionRefusedError) for x in chain):
        return "refused"
    if any(isinstance(x, socket.gaierror | u3.NameResolutionError) for x in chain):
        return "dns"
    if any(isinstance(x, u3.NewConnectionError) for x in chain):  # no route, network unreachable (not a timeout)
        return "unreachable"
    if any(isinstance(x, requests.ConnectTimeout | u3.ConnectTimeoutError) for x in chain):
        return "connect-timeout"
    if any(isinstance(x, ssl.SSLCertVerificationError) for x in chain):
        return "tls-verify"
    if any(isinstance(x, ssl.SSLError) for x in chain):
        return "tls"
    return None


def tls_reason(e: BaseException) -> str:
    """What the TLS library said, shortly ("unable to get local issuer certificate", "WRONG_VERSION_NUMBER"), or ""."""
    for x in _chain(e):
        if isinstance(x, ssl.SSLCertVerificationError) and x.verify_message:
            return str(x.verify_message)
        if isinstance(x, ssl.SSLError) and x.reason:
            return str(x.reason)
    return ""
