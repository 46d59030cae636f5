"""The storage screen (`redact.SCREEN`) may only skip text that the redaction would leave unchanged.

Storage runs `redact_text` only on values the screen flags (one RE2 pass over a column, or one search
per value): a form the screen misses reaches the database unredacted. It used to miss bare forge
tokens (`ghp_…` without a secret-named key) and `curl -fu user:password`, and flagged every path
under `site-packages` or `node_modules/@scope`, sending whole layer scans through the slow path.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from hullcheck.redact import SCREEN_PATTERN, might_hold_secret, redact_text
from hullcheck.store_values import arrow_column, cleaner
from hullcheck.store_values import redact_stored as stored

S = "hcCANARY5f3a9e"
GH = "ghp_" + "a1B2" * 9

MISSED_BEFORE = [
    f"echo {GH} > /tmp/t",  # a bare GitHub token: no secret-named key around it
    "gho_" + "x" * 30,
    f"curl -fu admin:{S} example.com/api",  # -u inside a flag cluster, no scheme
    f"curl -fsSLu admin:{S} example.com",
]
ORDINARY = [
    "usr/lib/python3.11/site-packages/requests/adapters.py",
    "usr/lib/x86_64-linux-gnu/libssl.so.3",
    "app/node_modules/@babel/core/lib/index.js",
    "usr/share/doc/font-utils/copyright",
    "registry.example.org/team/app-runtime:1.4",
]

# Fragments the redaction patterns are made of, and ordinary text around them: hypothesis joins them
# into texts; wherever the redaction changes one, the screen must have flagged it.
FRAGMENTS = [
    S, GH, "ghs_", "github_pat_", "glpat-", "xoxb-", "sk-", "AIza", "eyJ", "AKIA", "-----BEGIN RSA PRIVATE KEY-----",
    "://", "@", ":", "=", " ", "-", "-u", "-p", "-fsSLu", "--user", "--token", "login", "docker", "mysql", "sshpass",
    "password", "PASSWD", "Token", "api_key", "DSN", "secret", "Authorization: Bearer ", "config set ", '"', "'",
    ";", "&", ",", "x" * 24, "site-packages", "node_modules", "usr/lib", "/", "https", "user", "é", "_", "1234",
]  # fmt: skip


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12))
@settings(max_examples=3000, deadline=None)
def test_the_screen_flags_every_text_the_redaction_would_change(parts: list[str]) -> None:
    text = "".join(parts)
    if redact_text(text) != text:
        assert might_hold_secret(text), text
        assert pc.match_substring_regex(pa.array([text]), SCREEN_PATTERN, ignore_case=True)[0].as_py(), text


def test_forms_the_old_word_list_missed_are_redacted_when_stored() -> None:
    for text in MISSED_BEFORE:
        assert redact_text(text) != text, text  # the redaction knows the form…
        out = stored(text)
        assert GH not in out and S not in out and "x" * 30 not in out, out  # …and storage now runs it


def test_a_whole_column_goes_through_the_same_screen() -> None:
    import duckdb

    repairs: dict[str, int] = {}
    fn = cleaner(duckdb.sqltype("VARCHAR"), "t.c", repairs)  # type: ignore[arg-type]
    column = ORDINARY * 60 + MISSED_BEFORE  # past the size at which the column is screened in RE2
    out = arrow_column(column, pa.string(), fn).to_pylist()
    assert out[: len(ORDINARY) * 60] == column[: len(ORDINARY) * 60]
    assert all(GH not in v and S not in v for v in out[len(ORDINARY) * 60 :]), out[-4:]


def test_ordinary_paths_are_not_flagged() -> None:
    # Flagged text costs a full redaction each (~15 µs): a Python image's 30,000 site-packages files
    # were all flagged by the plain substring "-p".
    assert [t for t in ORDINARY if might_hold_secret(t)] == []
