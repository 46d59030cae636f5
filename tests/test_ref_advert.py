"""In-process ref discovery: the pkt-line advertisement parser, and errors from a real git daemon."""

from __future__ import annotations

import pytest
from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit
from hullcheck.sources.ref_advert import AdvertError, AdvertUnavailable, _pkt_lines, parse_advert

A, B = "a" * 40, "b" * 40


def _pkt(*lines: bytes | None) -> bytes:
    return b"".join(b"0000" if x is None else b"%04x" % (len(x) + 4) + x for x in lines)


def test_advert_with_symref_branches_and_peeled_tags() -> None:
    data = _pkt(
        f"{A} HEAD\0multi_ack symref=HEAD:refs/heads/main agent=git/2.39\n".encode(),
        f"{A} refs/heads/main\n".encode(),
        f"{B} refs/tags/v1\n".encode(),
        f"{A} refs/tags/v1^{{}}\n".encode(),
        None,
    )
    advert = parse_advert(_pkt_lines(data))
    assert advert.head_symref == "refs/heads/main"
    assert advert.refs == {"HEAD": A, "refs/heads/main": A, "refs/tags/v1": B}


def test_empty_repository_advertises_no_refs() -> None:
    data = _pkt(b"0" * 40 + b" capabilities^{}\0agent=git/2.39\n", None)
    assert parse_advert(_pkt_lines(data)).refs == {}


def test_err_line_is_an_error_for_humans() -> None:
    with pytest.raises(AdvertError, match="access denied"):
        parse_advert(_pkt_lines(_pkt(b"ERR access denied or repository not exported: /x\n")))


def test_garbage_is_not_guessed_at() -> None:
    with pytest.raises(AdvertUnavailable):
        _pkt_lines(b"<html>hello</html>")


def test_missing_repository_on_a_git_daemon_is_an_error_row(org: Org, git_daemon: str) -> None:
    org.repo("here", [Commit(days_ago(1), {"Dockerfile": "FROM alpine\n"})], add=False)
    org.sources = [{"url": f"{git_daemon}/here"}, {"url": f"{git_daemon}/not-here"}]
    summary = run_audit(org.config())
    assert summary.status == "partial"
    rows = dict(org.query("SELECT repo, coalesce(error, status) FROM latest_repo_snapshots"))
    assert rows["here"] == "extracted"
    assert "repository not found or access denied" in rows["not-here"]


class ResettingProxy:
    """TCP proxy to a git daemon that resets (RST) its first `resets` connections, then forwards."""

    def __init__(self, target: str, resets: int) -> None:
        import socket
        import threading

        host, _, port = target.removeprefix("git://").partition(":")
        self.target, self.resets, self.connections = (host, int(port)), resets, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"git://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import socket
        import struct
        import threading

        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.connections <= self.resets:  # linger 0: close sends RST, the reader sees a reset
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: object, dst: object) -> None:
        import contextlib

        with contextlib.suppress(OSError):
            while data := src.recv(65536):  # type: ignore[attr-defined]
                dst.sendall(data)  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            dst.shutdown(1)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.sock.close()


def test_a_git_server_that_resets_twice_is_retried_and_one_that_lacks_the_repository_is_not(
    org: Org, git_daemon: str
) -> None:
    org.repo("here", [Commit(days_ago(1), {"Dockerfile": "FROM alpine\n"})], add=False)
    flaky = ResettingProxy(git_daemon, resets=2)
    try:
        org.sources = [{"url": f"{flaky.url}/here"}]
        summary = run_audit(org.config())
        assert summary.status == "ok" and summary.git.extracted == 1  # recovered
        assert flaky.connections >= 3 and summary.git.stats.retries == 2  # two resets, two retries
    finally:
        flaky.close()
    steady = ResettingProxy(git_daemon, resets=0)
    try:
        org.sources = [{"url": f"{steady.url}/not-here"}]
        summary = run_audit(org.config())
        assert summary.status == "partial" and summary.git.stats.retries == 0  # not found: asked once
        assert steady.connections == 1
    finally:
        steady.close()
