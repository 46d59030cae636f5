"""Comment facts that decide ownership and waivers (pure): CODEOWNERS rules, hadolint pragmas.

Both become signal rows of their blob (`repo_signals`):
- `codeowners_rule`: one per rule of a CODEOWNERS file, detail `pattern owner…` as written
  (comments and blank lines dropped; `[Section]` headers of GitLab are skipped, their rules kept);
- `hadolint_ignore`: one per `# hadolint ignore=DL3006,DL3007` comment of a Dockerfile, on the
  line of the instruction it applies to (the next one), or line 0 for `# hadolint global ignore=`.
"""

from __future__ import annotations

import re

from hullcheck.extract.signals import SignalRow

_PRAGMA = re.compile(r"^\s*#\s*hadolint\s+(global\s+)?ignore\s*=\s*([A-Za-z0-9_,\s]+?)\s*$", re.IGNORECASE)
_INSTRUCTION = re.compile(r"^\s*[A-Za-z]+(\s|$)")


def extract_codeowners(data: bytes) -> list[SignalRow]:
    rows = []
    for n, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line or (line.startswith("[") or line.startswith("^[")):
            continue
        rows.append(SignalRow(n, "codeowners_rule", " ".join(line.split())[:500]))
    return rows


def extract_hadolint_pragmas(data: bytes) -> list[SignalRow]:
    rows: list[SignalRow] = []
    pending: list[str] = []
    lines = data.decode("utf-8", "replace").splitlines()
    for n, raw in enumerate(lines, 1):
        m = _PRAGMA.match(raw)
        if m:
            codes = ",".join(c.strip().upper() for c in m.group(2).split(",") if c.strip())
            if m.group(1):
                rows.append(SignalRow(0, "hadolint_ignore", codes))
            else:
                pending.append(codes)
            continue
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        if pending and _INSTRUCTION.match(raw):
            rows += [SignalRow(n, "hadolint_ignore", codes) for codes in pending]
        pending = []
    return rows
