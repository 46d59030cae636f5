"""Dockerfile conformance suite: every case in tests/dockerfile_cases/*.yaml, compared field by field.

Each YAML file maps a case name to a case (sqlfluff rule-case style; loaded by `support.cases`)::

    case_name:
      description: what BuildKit does here and why (cite the rule)
      unsure: "optional: why we are not sure BuildKit behaves this way"
      crosscheck_skip: "optional: why the embedded BuildKit parser cannot be the oracle here"
      dockerfile: |-
        FROM alpine:3.19
      expect:
        file: {stage_count: 1, warnings_contain: ["substring"]}   # DockerfileRow fields, exact
        stages: [{name: null, base_kind: image}]                  # one dict per row, exact length
        instructions: [{keyword: FROM, start_line: 1}]           # same for packages, vars, copies
        parse_error_contains: "substring"                        # then no stage/instruction rows
        secrets_absent: ["hunter2"]                               # in no field of any row

Input bytes: `dockerfile` is encoded as UTF-8. For exact bytes (BOM, CRLF, tabs, trailing
whitespace, Latin-1, NUL) use `dockerfile_escaped` instead: a string with Python escapes,
decoded by `codecs.decode(s, "unicode_escape")` then encoded as Latin-1, so `\\xef\\xbb\\xbf`
is a BOM, `\\r\\n` is CRLF, `\\xe9` is the single byte 0xE9 and `\\\\` one backslash. Write
it as a YAML *single-quoted* string so that YAML itself does not decode the escapes first.

Dicts compare only the fields they give; lists of rows must have exactly the given length.
Every case that parses is also cross-checked against BuildKit's own parser (`dockerfile`
package): the instruction keywords and start/end lines must match it.
"""

from __future__ import annotations

import codecs
import dataclasses
from pathlib import Path
from typing import Any

import dockerfile
import pytest
from support.cases import params

from hullcheck.extract.dockerfile.parse import extract_dockerfile
from hullcheck.extract.dockerfile.rows import DockerfileFacts

CASES_DIR = Path(__file__).parent / "dockerfile_cases"
ROW_LISTS = ("stages", "instructions", "packages", "vars", "copies")
EXPECT_KEYS = {"file", "parse_error_contains", "secrets_absent", *ROW_LISTS}
CASE_KEYS = {"description", "unsure", "crosscheck_skip", "dockerfile", "dockerfile_escaped", "expect"}


def case_bytes(case: dict[str, Any]) -> bytes:
    if "dockerfile_escaped" in case:
        return codecs.decode(case["dockerfile_escaped"], "unicode_escape").encode("latin-1")
    return str(case["dockerfile"]).encode("utf-8")


def _text_for_buildkit(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _strings(value: Any) -> list[str]:
    """Every string inside a dataclass tree (fields, lists, dicts)."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for kv in value.items() for v in kv for s in _strings(v)]
    return []


def _compare_row(where: str, row: object, want: dict[str, Any]) -> None:
    names = {f.name for f in dataclasses.fields(row)}  # type: ignore[arg-type]
    for key, expected in want.items():
        assert key in names, f"{where}: unknown field {key!r} in the case"
        assert getattr(row, key) == expected, f"{where}.{key}: got {getattr(row, key)!r}, want {expected!r}"


def _check(facts: DockerfileFacts, expect: dict[str, Any]) -> None:
    file_want = dict(expect.get("file", {}))
    for needle in file_want.pop("warnings_contain", []):
        assert any(needle in w for w in facts.file.warnings), f"no warning contains {needle!r}: {facts.file.warnings}"
    _compare_row("file", facts.file, file_want)
    for key in ROW_LISTS:
        if key in expect:
            rows = getattr(facts, key)
            assert len(rows) == len(expect[key]), f"{key}: got {len(rows)} rows, want {len(expect[key])}: {rows}"
            for i, (row, want) in enumerate(zip(rows, expect[key], strict=True)):
                _compare_row(f"{key}[{i}]", row, want or {})
    for secret in expect.get("secrets_absent", []):
        leaks = [s for s in _strings(facts) if secret in s]
        assert not leaks, f"secret {secret!r} leaked into {leaks}"


@pytest.mark.parametrize("case", params(CASES_DIR))
def test_dockerfile_case(case: dict[str, Any]) -> None:
    assert set(case) <= CASE_KEYS and case.get("description"), f"bad case keys: {sorted(case)}"
    assert ("dockerfile" in case) != ("dockerfile_escaped" in case), "give dockerfile or dockerfile_escaped"
    expect: dict[str, Any] = case["expect"]
    assert expect and set(expect) <= EXPECT_KEYS, f"bad expect keys: {sorted(expect)}"
    data = case_bytes(case)
    facts = extract_dockerfile(data)
    if "parse_error_contains" in expect:
        assert facts.file.parse_error is not None, "expected a parse error, got none"
        assert expect["parse_error_contains"] in facts.file.parse_error
        assert facts.stages == [] and facts.instructions == [], "a rejected file must give no rows"
        _check(facts, expect)
        return
    assert facts.file.parse_error is None, f"unexpected parse error: {facts.file.parse_error}"
    assert set(expect) - {"secrets_absent"}, "a case must assert facts beyond parse success"
    _check(facts, expect)
    if case.get("crosscheck_skip"):
        return
    # Cross-check against BuildKit's parser: same instructions on the same lines.
    theirs = [(c.cmd.upper(), c.start_line, c.end_line) for c in dockerfile.parse_string(_text_for_buildkit(data))]
    ours = [(i.keyword, i.start_line, i.end_line) for i in facts.instructions]
    assert ours == theirs
