"""Keep the key, drop the value: secret-looking values never reach the database, logs or reports.

Two signals, either is enough: the *name* says it is a secret (PASSWORD, TOKEN, API_KEY…),
or the *value* has the shape of a well-known credential (cloud keys, forge tokens, private
keys, JWTs, passwords inside URLs). A value that only refers to another variable
(`$TOKEN`, `${TOKEN}`) is not a secret and is kept, because it says where the secret comes from.
"""

from __future__ import annotations

import re

MARKER = "<redacted>"

SECRET_NAME = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key"
    r"|credential|auth|session[_-]?key|signing[_-]?key|encryption[_-]?key|client[_-]?secret|dsn)"
)
# Names that contain a secret word but are configuration, not secrets: where a secret is, how it is
# checked and for how long (`AIRFLOW__API__AUTH_BACKENDS` names a Python class, `TOKEN_TTL` a number).
# A value with a credential's shape is redacted whatever its name (`looks_secret`).
_NOT_SECRET_NAME = re.compile(
    r"(?i)(_(file|path|dir|url|endpoint|host|port|user(name)?|method|type|enabled|backends?|mode|providers?"
    r"|strategy|scheme|timeout|ttl|expiry|lifetime|length|version)$)"
)

_TOKEN_SHAPES = [
    r"AKIA[0-9A-Z]{16}",  # AWS access key id
    r"(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{20,}",  # GitHub tokens
    r"glpat-[A-Za-z0-9_\-]{20,}",  # GitLab personal access token
    r"xox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack
    r"sk-[A-Za-z0-9_\-]{20,}",  # OpenAI-style secret keys
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API key
    r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+",  # JWT
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
]
TOKEN_SHAPE = re.compile("|".join(f"(?:{s})" for s in _TOKEN_SHAPES))
_URL_PASSWORD = re.compile(  # the user may be empty: redis://:pw@host
    r"(?P<pre>(?<![a-zA-Z0-9+.\-])[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]*:)(?P<pw>[^@\s/]+)(?P<at>@)"
)
# scheme://TOKEN@host: a long user part without a password is a token used as the user name.
_URL_TOKEN_USER = re.compile(
    r"(?P<pre>(?<![a-zA-Z0-9+.\-])[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[A-Za-z0-9_\-.~%]{20,})(?P<at>@)"
)
# Command-line forms: curl -u user:pass, docker login -p X, `npm config set …_authToken X`,
# `aws configure set aws_secret_access_key X`.
_CLI_SECRETS = [
    re.compile(r"(?P<pre>(?<![\w-])(?:-[A-Za-z]{0,8}u\s*|--user[=\s]+)[^\s:\"']+:)(?P<val>[^\s\"']+)"),  # -fsuU:P
    re.compile(r"(?P<pre>\b(?:docker|podman|helm|oras)\s+(?:\S+\s+)*?login\b[^\n;&|]*?\s-p\s*)(?P<val>[^\s\"']+)"),
    re.compile(r"(?P<pre>\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n;&|]*?\s-p)(?P<val>[^\s\"']+)"),
    re.compile(r"(?P<pre>\bsshpass\s+-p\s*)(?P<val>[^\s\"']+)"),
    re.compile(
        r"(?i)(?P<pre>\bconfig(?:ure)?\s+set\s+\S*(?:password|passwd|secret|token|key)\S*[\s=]+)(?P<val>[^\s\"']+)"
    ),
]
_AUTH_HEADER = re.compile(r"(?i)(?P<pre>authorization:\s*(?:bearer|basic|token)\s+)(?P<val>[^\s\"']+)")
# A value: quoted (up to its closing quote) or a bare word that is not a $reference.
# A bare value ends at `;`, `&` and `,` too: `Server=db;Password=x`, `?a=1&token=x` are several assignments.
_VALUE = r"""(?:"(?P<dq>[^"$][^"]*)"|'(?P<sq>[^'$][^']*)'|(?P<val>[^\s"'$\-][^\s"';&,]*))"""
# KEY=value or KEY: value inside free text (RUN lines, heredocs, scripts).
# The lookbehinds make a key start only at a word boundary: linear time on long words.
# Keys are at most 128 characters: a key may start after every `-`, and an unbounded key made a
# 60 KB `x-x-x-…` line cost quadratic time (37 s).
_INLINE_ASSIGN = re.compile(r"(?<![A-Za-z0-9_.])(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,127})(?P<sep>\s*[=:]\s*)" + _VALUE)
# JSON: "password": "x" (also inside a value such as SPRING_APPLICATION_JSON).
_JSON_MEMBER = re.compile(r'"(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,127})"(?P<sep>\s*:\s*)"(?P<dq>(?:[^"\\]|\\.)*)"')
# --password value, --token=value, -p value is too ambiguous to touch.
_FLAG_VALUE = re.compile(r"(?<![\w-])(?P<key>--[A-Za-z][A-Za-z0-9\-]{0,127})(?P<sep>\s+|=)" + _VALUE)
_REFERENCE_ONLY = re.compile(r"^\$(\{[A-Za-z_][A-Za-z0-9_]*([:?+\-][^}]*)?\}|[A-Za-z_][A-Za-z0-9_]*)$")


# What every pattern above needs somewhere in a text before it can change it (lower-cased): a text
# this does not match is left as it is by `redact_text`, so storage screens with it first (most text,
# paths and image names, has none of these) and only flagged values pay for the redaction. It must
# stay a superset of the patterns: `tests/test_redaction_screen.py` checks it against them. One
# expression that Python's `re` and RE2 (pyarrow, a whole column at once) read alike: no lookbehind.
# The command-line forms are anchored like their patterns (`\s-p`, `-…u` after no word character), so
# that `site-packages` or `x86_64-linux-gnu` are not flagged; `@` alone changes nothing without `://`.
SCREEN_PATTERN = (
    r"pass|pwd|secret|token|key|credential|auth|dsn|login|--user|begin|://"  # names, headers, URLs, PEM
    r"|akia|gh[pousr]_|_pat|glpat|xox[abprs]-|sk-|aiza|eyj"  # token shapes
    r"|\s-p|(?:^|[^a-z0-9_-])-[a-z]{0,8}u"  # -p PASSWORD, -u user:password (curl -fsSLu too)
)
SCREEN = re.compile(SCREEN_PATTERN, re.IGNORECASE)


def might_hold_secret(text: str) -> bool:
    """False when `redact_text(text)` would return `text` unchanged (cheap: one scan)."""
    return SCREEN.search(text) is not None


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def looks_secret(name: str, value: str | None) -> bool:
    """Whether `value` (stored under `name`) must be replaced by the marker."""
    if value is None or value == "":
        return False
    if _REFERENCE_ONLY.match(value.strip()):
        return False
    if TOKEN_SHAPE.search(value) or _URL_PASSWORD.search(value) or _URL_TOKEN_USER.search(value):
        return True
    return is_secret_name(name)


def redact_value(name: str, value: str | None) -> tuple[str | None, bool]:
    """(value to store, whether it was redacted). A value that is not a secret itself may still
    carry one (`JAVA_OPTS=-Dspring.datasource.password=x`): that part is redacted."""
    if looks_secret(name, value):
        return MARKER, True
    if value:
        cleaned = redact_text(value)
        if cleaned != value:
            return cleaned, True
    return value, False


def redact_text(text: str) -> str:
    """Redact credentials inside free text: token shapes, URL passwords, auth headers, secret assignments."""
    if not text:
        return text
    text = TOKEN_SHAPE.sub(MARKER, text)
    text = redact_url(text)
    for pattern in _CLI_SECRETS:
        text = pattern.sub(lambda m: f"{m['pre']}{MARKER}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m['pre']}{MARKER}", text)

    def _replace(m: re.Match[str]) -> str:
        key = m["key"].lstrip("-")
        value = m["dq"] or m["sq"] or m["val"] or ""
        if value.startswith(MARKER) or key.lower() == "authorization":
            return m[0]
        if not is_secret_name(key):
            if "=" in value:  # an assignment inside the value: `--build-arg=NPM_TOKEN=x`, `OPTS=DB_PASSWORD=x`
                inner = redact_text(value)
                if inner != value:
                    return m[0].replace(value, inner, 1)
            return m[0]
        quote = '"' if m["dq"] is not None else ("'" if m["sq"] is not None else "")
        return f"{m['key']}{m['sep']}{quote}{MARKER}{quote}"

    text = _JSON_MEMBER.sub(lambda m: _replace_json(m), text)
    text = _FLAG_VALUE.sub(_replace, text)
    return _INLINE_ASSIGN.sub(_replace, text)


def _replace_json(m: re.Match[str]) -> str:
    if not is_secret_name(m["key"]) or not m["dq"] or _REFERENCE_ONLY.match(m["dq"]):
        return m[0]
    return f'"{m["key"]}"{m["sep"]}"{MARKER}"'


def redact_argv(argv: list[str]) -> list[str]:
    """An exec-form command (CMD, ENTRYPOINT, HEALTHCHECK): each argument redacted as text, and the
    argument after a secret-named flag (`["--token", "x"]`) redacted whole."""
    out = []
    secret_next = False
    for arg in argv:
        if secret_next and arg and not _REFERENCE_ONLY.match(arg):
            out.append(MARKER)
        else:
            out.append(redact_text(arg))
        secret_next = arg.startswith("-") and "=" not in arg and is_secret_name(arg.lstrip("-"))
    return out


def redact_url(url: str) -> str:
    """A URL as it may be shown or stored: a password, or a token used as the user name, is replaced."""
    url = _URL_PASSWORD.sub(lambda m: f"{m['pre']}{MARKER}{m['at']}", url)
    return _URL_TOKEN_USER.sub(lambda m: f"{m['pre']}{MARKER}{m['at']}", url)
