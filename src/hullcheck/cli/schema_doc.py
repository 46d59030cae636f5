"""docs/schema.md as data: the one source of the public views' descriptions.

People write the descriptions in the doc (prose and one table per view); the database carries the
same text as `COMMENT ON VIEW` / `COMMENT ON COLUMN`, so DBeaver, the DuckDB CLI, notebooks and
`hullcheck schema` show it too. This module turns the doc into `sql/views/900_comments.sql`, which the
store runs after the other view files (and again whenever any of them changes: the files' hash decides).

Why a generated file rather than reading the doc when the views are created: an installed hullcheck
carries `sql/` but not `docs/`, and the comments must not depend on where it was installed from. The file
cannot drift: tests/test_schema_docs.py fails when it differs from what the doc generates. After editing
the doc, run `python -m hullcheck.cli.schema_doc` (or `--check` to only compare).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

_VIEW_HEADING = re.compile(r"#{2,4} `(\w+)`")
_COLUMN_ROW = re.compile(r"\| `(\w+)` \| ([A-Z][^|]*?) \| (.*) \|")
_LATEST_ROW = re.compile(r"\| `(latest_\w+)` \| `(\w+)` \| (.*) \|")
# Markdown that reads badly as plain text: **bold** and [links](#anchor). Code spans are matched first
# so that their content (a glob such as `**/*.py`, a `[x]` in a type) is left as written.
_INLINE = re.compile(r"(?P<code>(`+).+?\2)|\*\*(?P<bold>.+?)\*\*|\[(?P<link>[^\]]+)\]\([^)]*\)")
_CODE = re.compile(r"(`+).+?\1")
_ABBREVIATIONS = ("e.g.", "i.e.", "cf.", "vs.")
HEADER = """\
-- GENERATED from docs/schema.md by `python -m hullcheck.cli.schema_doc`: edit the doc, then run that.
-- The descriptions of the public views and their columns, stored in the database (COMMENT ON), so
-- that any client shows them. Runs after the other view files: recreating a view drops its comments.
"""


@dataclass
class Column:
    name: str
    type: str
    description: str


@dataclass
class View:
    name: str
    description: str
    columns: list[Column] = field(default_factory=list)


def plain(markdown: str) -> str:
    """A description as a database comment: bold and link markup removed, code spans kept as written."""

    def one(m: re.Match[str]) -> str:
        return m.group("code") or m.group("bold") or m.group("link")

    return _INLINE.sub(one, markdown).strip()


def summary(description: str) -> str:
    """The first sentence of a description: what `hullcheck schema` lists. A period ends it only outside
    parentheses and code spans, before a space and a capital or a code span (or at the end), and not in
    `e.g.`; a first paragraph without such a period is taken whole."""
    first = description.split("\n\n", 1)[0].strip()
    masked = _CODE.sub(lambda m: "x" * len(m.group()), first)  # a period inside `...` ends nothing
    depth = 0
    for i, ch in enumerate(masked):
        if ch in "()":
            depth = max(depth + (1 if ch == "(" else -1), 0)
        elif ch == "." and depth == 0 and not masked[: i + 1].endswith(_ABBREVIATIONS):
            rest = first[i + 1 :]
            if not rest or (rest[0].isspace() and (rest.lstrip()[:1].isupper() or rest.lstrip()[:1] == "`")):
                return first[: i + 1]
    return first


def parse(markdown: str) -> dict[str, View]:
    """Every documented view, in the doc's order: its section's prose and column table; the `latest_*`
    views listed in the doc's "Same columns as" table get their base view's columns."""
    views: dict[str, View] = {}
    latest: list[tuple[str, str, str]] = []
    current: View | None = None
    prose: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or line.startswith("```"):
            continue  # a code block: a `# comment` in it is no heading, and it is no description
        if line.startswith("#"):
            _close(current, prose)
            m = _VIEW_HEADING.fullmatch(line.strip())
            current = View(m.group(1), "") if m else None
            if current is not None:
                if current.name in views:
                    raise ValueError(f"docs/schema.md: two sections for {current.name}")
                views[current.name] = current
            prose = []
        elif m := _LATEST_ROW.match(line):
            latest.append((m.group(1), m.group(2), plain(m.group(3))))
        elif current is not None and line.startswith("|"):
            if m := _COLUMN_ROW.match(line):
                current.columns.append(Column(m.group(1), m.group(2).strip(), plain(m.group(3))))
        elif current is not None and not current.columns:
            prose.append(line)
    _close(current, prose)
    for name, base, rows in latest:
        if base not in views or name in views:
            raise ValueError(f"docs/schema.md: {name}: documented twice, or {base} has no section")
        same = f"{rows} Same columns as `{base}`."
        views[name] = View(name, same, [Column(c.name, c.type, c.description) for c in views[base].columns])
    return views


def _close(view: View | None, prose: list[str]) -> None:
    """A section's prose, paragraph by paragraph, each on one line."""
    if view is None:
        return
    paragraphs, lines = [], []
    for line in [*prose, ""]:
        if line.strip():
            lines.append(line.strip())
        elif lines:
            paragraphs.append(" ".join(lines))
            lines = []
    view.description = plain("\n\n".join(paragraphs))


def literal(text: str) -> str:
    """A SQL string literal (COMMENT ON takes no bound parameter): quotes doubled, nothing else special."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def comments_sql(views: dict[str, View]) -> str:
    """The `COMMENT ON` statements for every view and column of `views`, in the doc's order."""
    out = [HEADER]
    for view in views.values():
        out.append(f"\nCOMMENT ON VIEW {identifier(view.name)} IS {literal(view.description)};\n")
        for c in view.columns:
            out.append(f"COMMENT ON COLUMN {identifier(view.name)}.{identifier(c.name)} IS {literal(c.description)};\n")
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    """Write sql/views/900_comments.sql from docs/schema.md; with --check, only say whether it is current."""
    import argparse

    root = Path(__file__).resolve().parents[3]
    parser = argparse.ArgumentParser(prog="python -m hullcheck.cli.schema_doc", description=main.__doc__)
    parser.add_argument("--doc", type=Path, default=root / "docs" / "schema.md")
    parser.add_argument("--out", type=Path, default=root / "sql" / "views" / "900_comments.sql")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is not what the doc generates")
    args = parser.parse_args(argv)
    text = comments_sql(parse(args.doc.read_text(encoding="utf-8")))
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
    if args.check:
        if current != text:
            print(
                f"{args.out} is not what {args.doc} generates: run python -m hullcheck.cli.schema_doc", file=sys.stderr
            )
            return 1
        return 0
    if current != text:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
