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
