"""Odd names (`odd_names`): service names YAML turns into other types, names with terminal escapes,
bidi overrides, newlines, carriage returns and lone surrogates (YAML `"\\ud800"`), in service names,
image tags, labels and environments; file and directory names git allows and a str cannot hold
(non-UTF-8 bytes, CESU surrogates), or that look like options and shell; repository names too.
"""

from __future__ import annotations

from hostile.model import CaseBuilder, register


def pattern(raw: bytes | str) -> str:
    """An fnmatch pattern for a stored path whose odd bytes may be stored in any repaired form."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    out, star = "", False
    for b in data:
        ch = chr(b)
        if 0x20 <= b < 0x7F and ch not in "\\":
            out += {"[": "[[]", "*": "[*]", "?": "[?]"}.get(ch, ch)
            star = False
        elif not star:
            out += "*"
            star = True
    return out


def _svc(name: str, key: str, description: str) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo(
            {
                "compose.yaml": f"services:\n  {key}:\n    image: alpine\n    environment: [A=1]\n"
                "  other:\n    image: busybox\n"
            },
            group="names",
        )
        k.expect("compose", "compose.yaml")

    register("odd_names", f"service-{name}", "git", description, build)


SERVICE_KEYS = {
    "null": ("null", "a service named null"),
    "tilde": ("~", "a service named ~ (YAML null)"),
    "one": ("1", "a service named 1 (an int)"),
    "true": ("true", "a service named true (a bool)"),
    "false": ("false", "a service named false"),
    "yes": ("yes", "a service named yes (a bool in YAML 1.1 only)"),
    "hex": ("0x10", "a service named 0x10"),
    "float": ("1e3", "a service named 1e3"),
    "inf": (".inf", "a service named .inf (float infinity)"),
    "nan": (".nan", "a service named .nan"),
    "empty": ('""', "a service named with the empty string"),
    "long": ("s" * 10_000, "a 10,000-character service name"),
    "rtl-override": ('"\\u202eevil"', "a service name with U+202E RIGHT-TO-LEFT OVERRIDE"),
    "terminal-escape": ('"\\e[31mred\\e[0m"', "a service name with terminal colour escapes"),
    "osc-title": ('"\\e]0;pwned\\a"', "a service name with an OSC set-title sequence"),
    "newline": ('"a\\nb"', "a service name with a newline"),
    "carriage-return": ('"a\\rb"', "a service name with a carriage return"),
    "lone-surrogate": ('"\\ud800"', "a service name that is a lone high surrogate"),
    "reversed-surrogates": ('"\\udfff\\ud800x"', "a service name with a low then a high surrogate"),
    "nul": ('"a\\0b"', "a service name with a NUL character"),
    "line-separator": ('"a\\u2028b\\x85c"', "U+2028 and NEL in a service name"),
    "bom": ('"\\ufeffapp"', "a service name starting with U+FEFF"),
    "astral": ('"\\U0001d552pp"', "a service name with an astral-plane character"),
    "dotdot": ('".."', "a service named .."),
    "slash": ('"a/b"', "a service named a/b"),
    "space": ('"a b"', "a service named with a space"),
    "complex-seq-key": ("? [a, b]\n  ", "a service whose key is a sequence"),
    "complex-map-key": ("? {a: 1}\n  ", "a service whose key is a mapping"),
    "duplicate": ("other", "the same service name twice"),
}
for _name, (_key, _desc) in SERVICE_KEYS.items():
    _svc(_name, _key, _desc)


def _values(name: str, body: str, description: str) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo({"compose.yaml": "services:\n  app:\n" + body}, group="names")
        k.expect("compose", "compose.yaml")

    register("odd_names", name, "git", description, build)


_values("image-tag-lone-surrogate", '    image: "alpine:\\ud800"\n', "an image tag that is a lone surrogate")
_values("image-osc-title", '    image: "\\e]0;pwned\\a\\e[2J"\n', "an image with OSC and clear-screen escapes")
_values("image-newline", '    image: "alpine\\nFROM evil"\n', "an image with a newline")
_values(
    "labels-surrogates",
    '    image: alpine\n    labels: {"\\ud800": "\\udc00x", "ok": "\\ud83d"}\n',
    "label keys and values that are lone surrogates",
)
_values(
    "env-surrogates",
    '    image: alpine\n    environment: {"\\udbff": "\\ud800\\ud800", "PASSWORD": "\\udc00"}\n',
    "environment keys and values that are lone surrogates",
)
_values(
    "env-escapes",
    '    image: alpine\n    environment: {"\\e[31mK": "\\e]0;t\\a", "CR": "a\\rb"}\n',
    "environment keys and values with terminal escapes",
)
_values(
    "container-name-escape",
    '    image: alpine\n    container_name: "\\e[31m\\u202e"\n    hostname: "\\ud800"\n',
    "container_name and hostname with escapes and a surrogate",
)
_values(
    "profiles-surrogate",
    '    image: alpine\n    profiles: ["\\ud800", "\\e[0m"]\n    cap_add: ["\\udfff"]\n',
    "profiles and cap_add that are lone surrogates",
)
_values(
    "user-and-ports-odd",
    '    image: alpine\n    user: "\\ud800:\\e[1m"\n    ports: ["\\ud800:80"]\n'
    '    networks: ["\\ud800"]\nnetworks:\n  "\\ud800": {}\n',
    "user, ports and networks with surrogates",
)
_values(
    "depends-on-odd",
    '    image: alpine\n    depends_on: ["\\ud800"]\n  "\\ud800":\n    image: alpine\n',
    "a dependency on a service named by a lone surrogate",
)
_values(
    "project-name-odd",
    '    image: alpine\nname: "\\ud800\\e[31m\\n"\n',
    "a project name with a surrogate, escapes, newline",
)


def _df(name: str, content: bytes, description: str) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo({"Dockerfile": content}, group="names")
        k.expect("dockerfile", "Dockerfile")

    register("odd_names", name, "git", description, build)


_df("dockerfile-stage-rtl", "FROM alpine AS \u202eevil\nRUN true\n".encode(), "a stage name with U+202E")
_df("dockerfile-label-escape", b'FROM alpine\nLABEL "\x1b[31mkey"="\x1b]0;title\x07"\n', "LABEL with raw ESC bytes")
_df(
    "dockerfile-cesu-surrogate",
    b"FROM alpine AS s\xed\xa0\x80\nENV K\xed\xa0\x80=v\xed\xb0\x80\n",
    "stage name and ENV with CESU-encoded surrogates (invalid UTF-8)",
)
_df(
    "dockerfile-user-clear-screen",
    b"FROM alpine\nUSER \x1b[2J\x1b[H\nWORKDIR /\x1b[31m\n",
    "USER and WORKDIR with escapes",
)
_df("dockerfile-cr-only", b"FROM alpine\rRUN echo a\rEXPOSE 80\r", "a Dockerfile with only carriage returns")
_df("dockerfile-tag-surrogate-bytes", b"FROM alpine:\xed\xa0\x80\n", "a FROM tag that is a CESU surrogate")


FILE_NAMES: dict[str, tuple[bytes, str]] = {
    "non-utf8-file": (b"Dockerfile.\xff\xfe", "a Dockerfile name with non-UTF-8 bytes"),
    "non-utf8-dir": (b"\xff\xfe/Dockerfile", "a Dockerfile in a directory with a non-UTF-8 name"),
    "cesu-file": (b"Dockerfile.\xed\xa0\x80", "a Dockerfile name with a CESU-encoded surrogate"),
    "newline-suffix": (b"Dockerfile.a\nb", "a Dockerfile name with a newline"),
    "newline-dir": (b"dir\nname/Dockerfile", "a directory name with a newline"),
    "carriage-return": (b"Dockerfile.\r", "a Dockerfile name ending in a carriage return"),
    "terminal-escape": (b"Dockerfile.\x1b[31mred\x1b[0m", "a Dockerfile name with colour escapes"),
    "rtl-override": ("Dockerfile.\u202eexe".encode(), "a Dockerfile name with U+202E"),
    "tab": (b"Dockerfile.\tx", "a Dockerfile name with a tab"),
    "trailing-space": (b"docker/Dockerfile.prod ", "a Dockerfile name ending in a space"),
    "option-dir": (b"-c/Dockerfile", "a directory named like an option"),
    "upload-pack": (b"--upload-pack=touch x/Dockerfile", "a directory named like a git option"),
    "shell-subst": (b"Dockerfile.$(id)`id`", "a Dockerfile name with shell substitutions"),
    "format-string": (b"Dockerfile.%s%n%x", "a Dockerfile name with printf directives"),
    "quotes-backslash": (b"Dockerfile.\"q'\\b", "a Dockerfile name with quotes and a backslash"),
    "glob-chars": (b"Dockerfile.*?[a]", "a Dockerfile name with glob characters"),
    "long-component": (b"Dockerfile." + b"a" * 240, "a 251-byte file name"),
    "deep-path": (b"d" * 40 + b"/" + (b"e" * 40 + b"/") * 100 + b"Dockerfile", "a 4 KB path 100 directories deep"),
    "windows-names": (b"CON/AUX/Dockerfile", "Windows reserved names"),
    "colon-backslash": (b"C:\\x\\Dockerfile", "a name with a drive letter and backslashes"),
    "compose-non-utf8": (b"compose.\xff.yaml", "a Compose file name with a non-UTF-8 byte"),
    "compose-escape-dir": (b"\x1b[31m/compose.yaml", "a Compose file in a directory named by an escape"),
    "env-non-utf8": (b".env.\xff", "a .env name with a non-UTF-8 byte"),
    "script-non-utf8": (b"build\xff.sh", "a script name with a non-UTF-8 byte"),
    "workflow-newline": (b".github/workflows/a\nb.yml", "a workflow file name with a newline"),
}


def _file(name: str, raw: bytes, description: str) -> None:
    def build(k: CaseBuilder) -> None:
        if raw.startswith(b".github/workflows/"):
            k.repo({raw: b"jobs:\n  b:\n    steps:\n      - run: docker build .\n"})
            k.expect("file", pattern(raw))
        elif b"\\" in raw:
            k.repo({raw: b"FROM alpine\n"})  # one file name with backslashes: not a Dockerfile by its name
        elif raw.endswith((b".yaml", b".yml")):
            content = b"services:\n  app:\n    image: alpine\n    build: .\n"
            k.repo({raw: content, b"Dockerfile": b"FROM alpine\n"})
            k.expect("compose", pattern(raw))
        elif raw.endswith(b".sh") or b".env" in raw:
            k.repo({raw: b"docker build -t x .\nA=1\n", b"Dockerfile": b"FROM alpine\n"})
            k.expect("file", pattern(raw))
        else:
            k.repo({raw: b"FROM alpine AS base\nRUN echo hi\n"})
            k.expect("dockerfile", pattern(raw))

    register("odd_names", f"file-{name}", "git", description, build)


for _name, (_raw, _desc) in FILE_NAMES.items():
    _file(_name, _raw, _desc)


def _case_collision(k: CaseBuilder) -> None:
    k.repo({"Dockerfile": "FROM a\n", "dockerfile": "FROM b\n", "DOCKERFILE": "FROM c\n", "Containerfile": "FROM d\n"})
    for p in ("Dockerfile", "dockerfile", "DOCKERFILE"):
        k.expect("dockerfile", p)


register(
    "odd_names", "file-case-collision", "git", "Dockerfile, dockerfile and DOCKERFILE side by side", _case_collision
)

REPO_NAMES: dict[str, bytes] = {
    "terminal-escape": b"\x1b[31mred\x1b[0m",
    "newline": b"new\nline",
    "carriage-return": b"car\rret",
    "rtl-override": "\u202erlo".encode(),
    "non-utf8": b"\xff\xfe",
    "cesu-surrogate": b"\xed\xa0\x80",
    "spaces-quotes": b"with space 'q' \"dq\"",
    "shell": b"$(id);`id`|&",
}


def _repo_name(name: str, raw: bytes) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo({"Dockerfile": "FROM alpine\n", "compose.yaml": "services:\n  app:\n    build: .\n"}, odd_name=raw)
        k.expect("dockerfile", "Dockerfile")

    register("odd_names", f"repo-name-{name}", "git", f"a repository directory whose name holds {raw!r}", build)


for _name, _raw in REPO_NAMES.items():
    _repo_name(_name, _raw)
