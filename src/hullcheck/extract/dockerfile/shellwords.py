"""Two small pieces of shell semantics that Dockerfiles need.

`expand` substitutes build-time variables the way BuildKit's shell lexer does for
`FROM` and `COPY --from` (`$X`, `${X}`, `${X:-d}`, `${X-d}`, `${X:+a}`, `${X+a}`,
`${X:?e}`, `${X?e}`); `split_commands` cuts a RUN script into simple commands (argv
lists) so that package installs can be recognised. Both are written by hand: the
PyPI `dockerfile` parser stops at the AST and offers neither.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from hullcheck.errors import ExtractError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class UnsetVariable(ExtractError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message or f"{name} is not set")
        self.name = name


# An expansion past this is kept as written: ARGs that expand into each other (`A2=${A1}${A1}` …)
# grow exponentially (40 of them would be terabytes); no real FROM, USER or WORKDIR comes near it.
MAX_EXPANDED = 64 * 1024


# Defaults nested in defaults (`${A:-${B:-…}}`) past this depth are refused: each level rescans the
# rest of the word (quadratic) and 5,000 levels overflowed Python's stack. Real files nest two or three.
MAX_NESTING = 64


class _TooLong(Exception):
    pass


class NestingTooDeep(ExtractError):
    def __init__(self) -> None:
        super().__init__(f"variables nested more than {MAX_NESTING} levels deep (${{A:-${{B:-…}}}}): refused")


def expand(word: str, env: Mapping[str, str | None], escape: str = "\\", _depth: int = 0) -> tuple[str, list[str]]:
    """Expand variables in `word`. Returns (text, names that were unset and had no default).

    `env` maps a declared name to its value, or None for `ARG X` without a default. An expansion
    longer than MAX_EXPANDED is returned as written; nesting deeper than MAX_NESTING raises NestingTooDeep.
    """
    if _depth > MAX_NESTING:
        raise NestingTooDeep
    try:
        return _expand(word, env, escape, _depth)
    except _TooLong:
        return word, []


def _expand(word: str, env: Mapping[str, str | None], escape: str, depth: int) -> tuple[str, list[str]]:
    out: list[str] = []
    size = 0
    missing: list[str] = []
    i, n = 0, len(word)
    quote: str | None = None
    while i < n:
        c = word[i]
        if c == escape and i + 1 < n and quote != "'":
            out.append(word[i + 1])
            i += 2
            continue
        if c in "'\"":
            if quote is None:
                quote = c
                i += 1
                continue
            if quote == c:
                quote = None
                i += 1
                continue
        if c == "$" and quote != "'" and i + 1 < n:
            if word[i + 1] == "{":
                end = _closing_brace(word, i + 2)
                if end < 0:
                    out.append(word[i:])
                    break
                piece = _braced(word[i + 2 : end], env, escape, missing, depth)
                size += len(piece)
                if size > MAX_EXPANDED:
                    raise _TooLong
                out.append(piece)
                i = end + 1
                continue
            m = _NAME.match(word, i + 1)
            if m:
                val = env.get(m.group())
                if val is None:
                    missing.append(m.group())
                size += len(val or "")
                if size > MAX_EXPANDED:
                    raise _TooLong
                out.append(val or "")
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out), missing


def _closing_brace(word: str, start: int) -> int:
    depth = 1
    for j in range(start, len(word)):
        if word[j] == "{":
            depth += 1
        elif word[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _braced(body: str, env: Mapping[str, str | None], escape: str, missing: list[str], depth: int) -> str:
    m = _NAME.match(body)
    if not m:
        return "${" + body + "}"
    name, rest = m.group(), body[m.end() :]
    val = env.get(name)
    is_set = name in env and val is not None
    if not rest:
        if not is_set:
            missing.append(name)
        return val or ""
    colon = rest.startswith(":")
    op = rest[1:2] if colon else rest[:1]
    arg_word = rest[2:] if colon else rest[1:]
    present = is_set and (val != "" or not colon)
    if op in "-+?":
        arg, inner_missing = expand(arg_word, env, escape, depth + 1)
        if op == "-":
            if present:
                return val or ""
            missing.extend(inner_missing)
            return arg
        if op == "+":
            return arg if present else ""
        if not present:
            raise UnsetVariable(name, arg)
        return val or ""
    # Pattern operators (#, %, /) are rare in FROM; keep the value, drop the operator.
    if not is_set:
        missing.append(name)
    return val or ""


_SEPARATORS = {";", "&&", "||", "|", "&", "\n", "(", ")", ";;"}


def split_commands(script: str) -> list[list[str]]:
    """Simple commands of a shell script, each as its argv (quotes removed)."""
    # Newlines end commands but shlex folds them into whitespace; mark them first.
    text = _strip_comments(re.sub(r"\\\r?\n", " ", script)).replace("\n", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: fall back to plain words
        tokens = re.findall(r"[^\s;&|()]+|[;&|()]+", text)
    commands: list[list[str]] = []
    current: list[str] = []
    for tok in tokens:
        if tok in _SEPARATORS or set(tok) <= set(";&|()"):
            if current:
                commands.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        commands.append(current)
    return commands


def _strip_comments(text: str) -> str:
    """Drop `# …` to the end of each line, outside quotes, where `#` starts a word."""
    out: list[str] = []
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"' and i + 1 < n:
                out.append(c)
                i += 1
                c = text[i]
        elif c in "'\"":
            quote = c
        elif c == "\\" and i + 1 < n:
            out.append(c)
            i += 1
            c = text[i]
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n;&|("):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        out.append(c)
        i += 1
    return "".join(out)


def unquote(word: str, escape: str = "\\") -> str:
    """Quote and escape removal as BuildKit's lexer does for ENV/LABEL words, without expanding `$`."""
    out: list[str] = []
    quote: str | None = None
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        if quote == "'":
            if c == "'":
                quote = None
            else:
                out.append(c)
        elif quote == '"':
            if c == '"':
                quote = None
            elif c == escape and i + 1 < n and word[i + 1] in ('"', "$", escape):
                i += 1
                out.append(word[i])
            else:
                out.append(c)
        elif c in "'\"":
            quote = c
        elif c == escape and i + 1 < n:
            i += 1
            out.append(word[i])
        else:
            out.append(c)
        i += 1
    return "".join(out)
