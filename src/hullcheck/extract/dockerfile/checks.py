"""What BuildKit's instruction parser refuses although its line parser accepts it.

`docker build` fails on these before running anything, so hullcheck reports the file as a
parse error instead of extracting facts from it (rules from moby/buildkit
frontend/dockerfile/instructions/parse.go).
"""

from __future__ import annotations

import dockerfile as bk

from hullcheck.errors import ExtractError

# Flags each instruction accepts; any other `--flag` is "unknown flag".
ALLOWED_FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount", "network", "security", "device"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ADD": frozenset({"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "unpack"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
}


class InstructionError(ExtractError):
    pass


def _flag_name(flag: str) -> str:
    return flag.lstrip("-").split("=", 1)[0].lower()


def check_instruction(cmd: bk.Command, keyword: str) -> None:
    """Raise InstructionError with BuildKit's reason when `docker build` would refuse `cmd`."""
    line = cmd.start_line
    allowed = ALLOWED_FLAGS.get(keyword, frozenset())
    for flag in cmd.flags:
        if _flag_name(flag) not in allowed:
            raise InstructionError(f"line {line}: unknown flag: {_flag_name(flag)} (on {keyword})")
    values = list(cmd.value)
    if keyword in ("COPY", "ADD") and len(values) + len(cmd.heredocs) < 2 and not (cmd.heredocs and values):
        raise InstructionError(f"line {line}: {keyword} requires at least two arguments")
    if keyword == "ONBUILD":
        sub = (cmd.sub_cmd or "").upper()
        if sub == "ONBUILD":
            raise InstructionError(f"line {line}: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if sub in ("FROM", "MAINTAINER"):
            raise InstructionError(f"line {line}: {sub} isn't allowed as an ONBUILD trigger")
    if keyword == "SHELL" and not cmd.json:
        raise InstructionError(f"line {line}: SHELL requires the arguments to be in JSON form")
    if keyword == "HEALTHCHECK" and values:
        kind = values[0].upper()
        if kind == "NONE" and len(values) > 1:
            raise InstructionError(f"line {line}: HEALTHCHECK NONE takes no arguments")
        if kind not in ("NONE", "CMD"):
            raise InstructionError(f"line {line}: unknown type {values[0]!r} for HEALTHCHECK (use CMD or NONE)")
    if keyword in ("USER", "WORKDIR", "STOPSIGNAL", "MAINTAINER") and len(values) != 1:
        raise InstructionError(f"line {line}: {keyword} requires exactly one argument")
    if keyword in ("ENV", "LABEL", "ARG", "EXPOSE", "VOLUME") and not values:
        raise InstructionError(f"line {line}: {keyword} requires at least one argument")
