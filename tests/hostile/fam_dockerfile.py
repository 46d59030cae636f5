"""Dockerfiles (`dockerfiles`) and exponential expansion (`expansion`).

dockerfiles: single lines of 60 KB, 64 KiB and 900 KB (`x-x-x-…`, BuildKit's scanner has a 64 KiB
token limit), thousands of stages (independent and chained), tens of thousands of instructions,
binary junk, NULs early and late, BOMs, UTF-16/32, Latin-1, CRLF, heredoc abuse (unterminated,
thousands, huge, nested markers), 10,000 continuation lines, parser directive floods, odd escapes.

expansion: `.env` chains `A2=${A1}${A1}` … to 2^40 characters, nested defaults 10,000 deep,
interpolation that multiplies a value 50,000 times, and the same with Dockerfile ARG and ENV.
"""

from __future__ import annotations

import random

from hostile.model import CaseBuilder, register


def _df(
    family: str,
    name: str,
    content: str | bytes,
    description: str,
    path: str = "Dockerfile",
    extra: dict[str, str | bytes] | None = None,
) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo({path: content, **(extra or {})})
        k.expect("dockerfile", path)

    register(family, name, "git", description, build)


def _junk(n: int, seed: int, nul: bool = False) -> bytes:
    data = bytearray(random.Random(seed).randbytes(n))
    if not nul:
        data = bytearray(b or 1 for b in data)
    return bytes(data)


D = "dockerfiles"
for size, label in ((60_000, "60k"), (65_535, "64k-minus-1"), (65_536, "64k"), (70_000, "70k"), (900_000, "900k")):
    _df(D, f"line-run-{label}", "FROM alpine\nRUN " + ("x-" * size)[:size] + "\n", f"a RUN line of {size} characters")
_df(D, "line-from-60k", "FROM " + "a" * 60_000 + "\n", "a FROM line of 60,000 characters")
_df(D, "line-arg-60k", "ARG A=" + "x-" * 30_000 + "\nFROM alpine\n", "a global ARG default of 60 KB")
_df(D, "line-label-60k", "FROM alpine\nLABEL k=" + "x-" * 30_000 + "\n", "a LABEL of 60 KB")
_df(D, "line-stage-name-60k", "FROM alpine AS " + "s" * 60_000 + "\n", "a stage name of 60 KB")
_df(D, "line-copy-60k", "FROM alpine\nCOPY " + " ".join(["src"] * 15_000) + " /dst/\n", "a COPY of 15,000 sources")
_df(
    D,
    "line-mount-60k",
    "FROM alpine\nRUN --mount=type=cache,target=/" + "m" * 60_000 + " true\n",
    "a 60 KB --mount flag",
)
_df(D, "line-platform-60k", "FROM --platform=" + "p" * 60_000 + " alpine\n", "a 60 KB --platform")
_df(D, "stages-3000", "".join(f"FROM alpine AS s{i}\nRUN echo {i}\n" for i in range(3000)), "3,000 independent stages")
_df(
    D,
    "stages-chained-3000",
    "FROM alpine AS s0\nUSER app\n" + "".join(f"FROM s{i - 1} AS s{i}\n" for i in range(1, 3000)),
    "3,000 stages each built on the previous one",
)
_df(
    D,
    "copy-from-5000",
    "".join(f"FROM alpine AS s{i}\n" for i in range(50))
    + "FROM alpine\n"
    + "".join(f"COPY --from=s{i % 50} /x{i} /y{i}\n" for i in range(5000)),
    "5,000 COPY --from",
)
_df(D, "instructions-10000", "FROM alpine\n" + "".join(f"ENV V{i}={i}\n" for i in range(10_000)), "10,000 instructions")
_df(D, "binary-junk", _junk(200_000, 1), "200 KB of random bytes without a NUL")
_df(D, "binary-junk-with-from", b"FROM alpine\n" + _junk(100_000, 2) + b"\nRUN true\n", "junk between instructions")
_df(D, "nul-early", b"FROM alpine\n\0RUN true\n", "a NUL in the first 8 KB")
_df(D, "nul-late", b"FROM alpine\n" + b"#" * 9000 + b"\nRUN a\0b\n", "a NUL after the first 8 KB")
_df(D, "only-nuls", b"\0" * 5000, "5,000 NUL bytes")
_df(D, "bom-utf8", b"\xef\xbb\xbfFROM alpine\nRUN true\n", "a UTF-8 BOM")
_df(D, "bom-double", b"\xef\xbb\xbf\xef\xbb\xbfFROM alpine\n", "two UTF-8 BOMs")
_df(D, "utf16le-bom", "\ufeffFROM alpine\nRUN echo hi\n".encode("utf-16-le"), "UTF-16 LE with a BOM")
_df(D, "utf16be-bom", "\ufeffFROM alpine\nRUN echo hi\n".encode("utf-16-be"), "UTF-16 BE with a BOM")
_df(D, "utf16le-nobom", "FROM alpine\nRUN echo hi\n".encode("utf-16-le"), "UTF-16 LE without a BOM")
_df(D, "utf32", "\ufeffFROM alpine\n".encode("utf-32"), "UTF-32")
_df(D, "latin1", "FROM alpine\nLABEL owner=Müller\nRUN echo café\n".encode("latin-1"), "Latin-1 text")
_df(D, "crlf", b"FROM alpine\r\nRUN echo a \\\r\n  b\r\n", "CRLF line endings and a continuation")
_df(D, "heredoc-unterminated", "FROM alpine\nRUN <<EOF\necho hi\n" + "x\n" * 1000, "a heredoc that never ends")
_df(
    D,
    "heredoc-2000",
    "FROM alpine\nRUN "
    + " ".join(f"<<E{i}" for i in range(2000))
    + "\n"
    + "".join(f"body{i}\nE{i}\n" for i in range(2000)),
    "2,000 heredocs in one RUN",
)
_df(D, "heredoc-900k", "FROM alpine\nRUN <<EOF\n" + "echo x\n" * 128_000 + "EOF\n", "a 900 KB heredoc body")
_df(
    D,
    "heredoc-long-name",
    "FROM alpine\nRUN <<" + "E" * 10_000 + "\nhi\n" + "E" * 10_000 + "\n",
    "a 10 KB heredoc name",
)
_df(
    D,
    "heredoc-nested-marker",
    "FROM alpine\nRUN <<EOF\ncat <<EOF\ninner\nEOF\nouter\nEOF\n",
    "a heredoc marker inside a heredoc",
)
_df(
    D,
    "heredoc-copy-1000",
    "FROM alpine\nCOPY "
    + " ".join(f"<<F{i}" for i in range(1000))
    + " /dst/\n"
    + "".join(f"f{i}\nF{i}\n" for i in range(1000)),
    "COPY of 1,000 inline heredocs",
)
_df(D, "heredoc-dash-quotes", 'FROM alpine\nRUN <<-"EOF" bash\n\t\techo $(id) `id`\n\tEOF\n', '<<-"EOF" with tabs')
_df(
    D,
    "continuations-10000",
    "FROM alpine\nRUN true \\\n" + "  && true \\\n" * 10_000 + "  && true\n",
    "a RUN over 10,000 continuation lines",
)
_df(D, "lone-continuations", "FROM alpine\n" + "\\\n" * 5000 + "RUN true\n", "5,000 lines that are only a backslash")
_df(
    D,
    "directives-10000",
    "# syntax=docker/dockerfile:1\n" * 10_000 + "FROM alpine\n",
    "the same directive 10,000 times",
)
_df(
    D,
    "directives-unknown-10000",
    "".join(f"# d{i}=v\n" for i in range(10_000)) + "FROM alpine\n",
    "10,000 unknown parser directives",
)
_df(D, "syntax-60k", "# syntax=" + "s" * 60_000 + "\nFROM alpine\n", "a 60 KB # syntax= directive")
_df(D, "escape-invalid", "# escape=x\nFROM alpine\n", "# escape=x")
_df(D, "escape-backtick-mixed", "# escape=`\nFROM alpine\nRUN echo a `\n  b \\\n  c\n", "# escape=` with backslashes")
_df(D, "onbuild-onbuild", "FROM alpine\nONBUILD ONBUILD RUN true\nONBUILD FROM x\n", "ONBUILD ONBUILD and ONBUILD FROM")
_df(
    D,
    "json-10000-elements",
    "FROM alpine\nCMD [" + ", ".join(['"a"'] * 10_000) + "]\n",
    "an exec form of 10,000 elements",
)
_df(D, "json-invalid", 'FROM alpine\nCMD ["a",\nENTRYPOINT ["x" "y"]\nRUN ["\\ud800"]\n', "broken JSON forms")
_df(D, "json-deep", "FROM alpine\nCMD " + "[" * 10_000 + "]" * 10_000 + "\n", "an exec form nested 10,000 deep")
_df(
    D,
    "env-1000-pairs",
    "FROM alpine\nENV " + " ".join(f"K{i}=v{i}" for i in range(1000)) + "\n",
    "one ENV with 1,000 pairs",
)
_df(D, "global-args-5000", "".join(f"ARG A{i}=v\n" for i in range(5000)) + "FROM alpine\n", "5,000 global ARGs")
_df(D, "empty", b"", "an empty Dockerfile")
_df(D, "comments-only", "# just a comment\n" * 1000, "a Dockerfile of comments only")
_df(
    D,
    "dockerfile-is-a-directory",
    "FROM alpine\n",
    "a directory named Dockerfile (its file too)",
    "Dockerfile/Dockerfile",
)
_df(D, "unknown-instructions", "FROM alpine\n" + "".join(f"FOO{i} bar\n" for i in range(100)), "unknown instructions")

E = "expansion"


def _doubling(var: str, n: int, assign: str = "{k}=${{{p}}}${{{p}}}", keyword: str = "") -> str:
    """`var0=xxxxxxxx`, then `var1=${var0}${var0}` … `var<n>` (each line prefixed by `keyword`)."""
    lines = [f"{keyword}{var}0=xxxxxxxx"]
    for i in range(1, n + 1):
        lines.append(keyword + assign.format(k=f"{var}{i}", p=f"{var}{i - 1}"))
    return "\n".join(lines) + "\n"


def _compose_env(name: str, env: str, compose: str, description: str, extra: dict[str, str] | None = None) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo({".env": env, "compose.yaml": compose, **(extra or {})})
        k.expect("compose", "compose.yaml")

    register(E, name, "git", description, build)


_SIMPLE = "services:\n  app:\n    image: alpine\n"
_compose_env("dotenv-chain-40-unused", _doubling("A", 40), _SIMPLE, ".env A1=${A0}${A0} … A40 (2^43 bytes), unused")
_compose_env(
    "dotenv-chain-40-used",
    _doubling("A", 40),
    "services:\n  app:\n    image: ${A40}\n",
    ".env doubling chain to A40, interpolated into image",
)
_compose_env(
    "dotenv-chain-quoted", _doubling("B", 40, '{k}="${{{p}}}${{{p}}}"'), _SIMPLE, "the doubling chain in double quotes"
)
_compose_env(
    "dotenv-chain-default-form",
    _doubling("C", 40, "{k}=${{{p}:-x}}${{{p}:-y}}"),
    _SIMPLE,
    "the doubling chain through ${X:-default}",
)
_compose_env(
    "dotenv-nested-defaults-10000",
    "X=" + "${U:-" * 10_000 + "x" + "}" * 10_000 + "\n",
    _SIMPLE,
    "a .env value of defaults nested 10,000 deep",
)
_compose_env(
    "compose-nested-defaults-5000",
    "",
    "services:\n  app:\n    image: " + "${U:-" * 5000 + "alpine" + "}" * 5000 + "\n",
    "an image of defaults nested 5,000 deep",
)
_compose_env(
    "compose-multiplied-50000",
    "A=" + "a" * 1000 + "\n",
    "services:\n  app:\n    image: alpine\n    command: " + "${A}" * 50_000 + "\n",
    "one 1 KB variable interpolated 50,000 times in one value (50 MB)",
)
_compose_env(
    "compose-multiplied-many-values",
    "A=" + "a" * 10_000 + "\n",
    "services:\n  app:\n    image: alpine\n    environment:\n"
    + "".join(f"      V{i}: ${{A}}${{A}}${{A}}${{A}}${{A}}\n" for i in range(20_000)),
    "20,000 environment values of 5 x 10 KB each (1 GB)",
)
_compose_env(
    "env-file-chain",
    "",
    "services:\n  app:\n    image: alpine\n    env_file: chain.env\n",
    "a service env_file holding the doubling chain",
    {"chain.env": _doubling("D", 40)},
)
_compose_env(
    "include-env-file-chain",
    "",
    "include:\n  - path: inc.yaml\n    env_file: chain.env\n" + _SIMPLE,
    "an include's env_file holding the doubling chain",
    {"chain.env": _doubling("F", 40), "inc.yaml": "services:\n  i:\n    image: ${F40}\n"},
)
_compose_env("dotenv-100000-vars", "".join(f"V{i}=value{i}\n" for i in range(100_000)), _SIMPLE, "100,000 variables")
_compose_env(
    "dotenv-unterminated-quote", 'A="' + "line\n" * 150_000, _SIMPLE, "an unterminated quoted .env value of 750 KB"
)
_compose_env(
    "compose-dollar-flood",
    "",
    "services:\n  app:\n    image: alpine\n    command: " + "$$" * 250_000 + "\n",
    "500 KB of $$",
)
_compose_env(
    "compose-file-10000-entries",
    "COMPOSE_FILE=" + ":".join(["compose.yaml"] * 10_000) + "\n",
    _SIMPLE,
    "COMPOSE_FILE listing compose.yaml 10,000 times",
)
_df(
    E,
    "dockerfile-arg-chain-40",
    _doubling("A", 40, keyword="ARG ") + "FROM ${A40}\n",
    "global ARG A1=${A0}${A0} … A40, used by FROM",
)
_df(
    E,
    "dockerfile-arg-chain-unused",
    _doubling("B", 40, keyword="ARG ") + "FROM alpine\n",
    "the global ARG doubling chain, unused",
)
_df(
    E,
    "dockerfile-env-chain-40",
    "FROM alpine\n" + _doubling("C", 40, keyword="ENV ") + "WORKDIR $C40\n" + "USER $C40\nEXPOSE $C40\n",
    "ENV C1=${C0}${C0} … C40 in a stage, used by WORKDIR, USER, EXPOSE",
)
_df(
    E,
    "dockerfile-stage-arg-chain",
    "FROM alpine\n" + _doubling("D", 40, keyword="ARG ") + "RUN echo $D40\n",
    "stage ARG doubling chain",
)
_df(
    E,
    "dockerfile-nested-defaults-5000",
    "FROM " + "${U:-" * 5000 + "alpine" + "}" * 5000 + "\n",
    "a FROM of defaults nested 5,000 deep",
)
