"""Dockerfile facts: bytes in, rows out. No I/O.

Parsing is BuildKit's own (the PyPI `dockerfile` package wraps moby/buildkit's Go
parser), so continuations, heredocs, JSON forms and the escape directive are read
exactly as `docker build` reads them. On top of that AST this module does what
BuildKit's dispatcher does and the parser does not: parser directives, validation of
instruction names, `ARG` substitution into `FROM`, stage resolution by name or index,
and the derived facts policies need (packages, users, ports, secrets redacted).
"""

from __future__ import annotations

import json
import re

import dockerfile as bk

from hullcheck.errors import ExtractError
from hullcheck.extract.dockerfile.checks import check_instruction
from hullcheck.extract.dockerfile.packages import cache_cleaned, installs_in
from hullcheck.extract.dockerfile.rows import (
    CopyRow,
    DockerfileFacts,
    DockerfileRow,
    InstructionRow,
    PackageRow,
    StageRow,
    VarRow,
)
from hullcheck.extract.dockerfile.shellwords import NestingTooDeep, expand, split_commands, unquote
from hullcheck.extract.dockerfile.text import DockerfileError, decode, escape_directive_first, parse_directives
from hullcheck.extract.image.ref import InvalidReference, parse_image_ref
from hullcheck.redact import MARKER, redact_argv, redact_text, redact_value

KNOWN_INSTRUCTIONS = frozenset(
    "FROM RUN CMD LABEL MAINTAINER EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER WORKDIR ARG "
    "ONBUILD STOPSIGNAL HEALTHCHECK SHELL".split()
)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")


def _hide(text: str, values: list[str]) -> str:
    for v in sorted(values, key=len, reverse=True):
        text = text.replace(v, MARKER)
    return text


def _unquote(s: str) -> str:
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    return s


def _heredoc_bodies(cmd: bk.Command) -> list[str]:
    """Heredoc contents; `<<-` strips leading tabs, as BuildKit does when it dispatches."""
    first_line = cmd.original.split("\n", 1)[0]
    bodies = []
    for h in cmd.heredocs:
        chomp = re.search(r"<<-([\"']?)" + re.escape(h.name) + r"\1", first_line) is not None
        body = h.content
        if chomp:
            body = "".join(line.lstrip("\t") for line in body.splitlines(keepends=True))
        bodies.append(body)
    return bodies


def _flag(flags: tuple[str, ...], name: str) -> list[str]:
    prefix = f"--{name}="
    return [f[len(prefix) :] for f in flags if f.lower().startswith(prefix)]


def _cache_mount_targets(flags: tuple[str, ...]) -> list[str]:
    targets = []
    for mount in _flag(flags, "mount"):
        opts = dict(p.split("=", 1) if "=" in p else (p, "") for p in mount.split(","))
        if opts.get("type") == "cache":
            targets.append(opts.get("target") or opts.get("dst") or opts.get("destination") or "")
    return targets


def _kv_pairs(cmd: bk.Command) -> list[tuple[str, str]]:
    vals = list(cmd.value)
    return [(vals[i], vals[i + 1] if i + 1 < len(vals) else "") for i in range(0, len(vals), 2)]


def _arg_decls(cmd: bk.Command) -> list[tuple[str, str | None]]:
    out = []
    for v in cmd.value:
        key, eq, default = v.partition("=")
        out.append((key, _unquote(default) if eq else None))
    return out


class _Stage:
    def __init__(self, row: StageRow) -> None:
        self.row = row
        self.env_keys: set[str] = set()
        # ARG and ENV values known in this stage, for USER/WORKDIR/EXPOSE expansion.
        self.vars: dict[str, str | None] = {}
        self.cmd_set_here = False


def extract_dockerfile(data: bytes) -> DockerfileFacts:
    """All facts of one Dockerfile. A file BuildKit would refuse gives one row with parse_error set."""
    warnings: list[str] = []
    directives: dict[str, str] = {}
    try:
        text, warnings = decode(data)
        directives = parse_directives(text)
        try:
            commands = bk.parse_string(escape_directive_first(text, directives))
        except bk.GoParseError as e:
            raise DockerfileError(str(e)) from None
        return _Builder(directives, warnings).build(commands)
    except Exception as e:
        known = isinstance(e, ExtractError)  # every typed refusal says what in words
        message = str(e) if known else f"internal error while reading this file ({type(e).__name__})"
        return DockerfileFacts(
            file=DockerfileRow(
                syntax=directives.get("syntax"),
                escape=directives.get("escape", "\\"),
                check_directive=directives.get("check"),
                stage_count=0,
                final_stage_index=None,
                final_stage_name=None,
                global_args=[],
                parse_error=redact_text(message),
                warnings=warnings,
            )
        )


class _Builder:
    def __init__(self, directives: dict[str, str], warnings: list[str]) -> None:
        self.directives = directives
        self.escape = directives.get("escape", "\\")
        self.warnings = warnings
        self.facts = DockerfileFacts(file=None)  # type: ignore[arg-type]
        self.global_args: dict[str, str | None] = {}
        self.stages: list[_Stage] = []
        self._by_name: dict[str, _Stage] = {}  # lower-cased name -> its first stage (thousands are possible)
        self.stage_names: list[str | None] = []  # every stage's name, lower case: --from may name a later one

    def build(self, commands: tuple[bk.Command, ...]) -> DockerfileFacts:
        commands = tuple(c for c in commands if c.cmd)  # a line that is only a continuation backslash
        seen_from = False
        for cmd in commands:
            keyword = cmd.cmd.upper()
            if keyword not in KNOWN_INSTRUCTIONS:
                raise DockerfileError(f"line {cmd.start_line}: unknown instruction {cmd.cmd!r}")
            if not seen_from and keyword not in ("ARG", "FROM"):
                raise DockerfileError(f"line {cmd.start_line}: {keyword} before the first FROM")
            seen_from = seen_from or keyword == "FROM"
            check_instruction(cmd, keyword)
            if keyword == "FROM":
                v = cmd.value
                self.stage_names.append(v[2].lower() if len(v) == 3 and v[1].lower() == "as" else None)
        for seq, cmd in enumerate(commands):
            try:
                self._instruction(seq, cmd)
            except NestingTooDeep as e:  # raised deep in an expansion, which knows no line
                raise DockerfileError(f"line {cmd.start_line}: {e}") from None
        if not self.stages:
            raise DockerfileError("no FROM instruction")
        last = self.stages[-1].row
        last.is_final = True
        self.facts.file = DockerfileRow(
            syntax=self.directives.get("syntax"),
            escape=self.escape,
            check_directive=self.directives.get("check"),
            stage_count=len(self.stages),
            final_stage_index=last.stage_index,
            final_stage_name=last.name,
            global_args=list(self.global_args),
            parse_error=None,
            warnings=self.warnings,
        )
        self.facts.stages = [s.row for s in self.stages]
        return self.facts

    # -- one instruction -------------------------------------------------------------
    def _instruction(self, seq: int, cmd: bk.Command) -> None:
        keyword = cmd.cmd.upper()
        stage = self.stages[-1] if self.stages and keyword != "FROM" else None
        bodies = _heredoc_bodies(cmd)
        # As a command: the argument after a secret-named flag (`["--token", "x"]`) is a secret too.
        arguments = redact_argv(list(cmd.value))
        hidden: list[str] = [v for v, r in zip(cmd.value, arguments, strict=True) if r == MARKER and v != MARKER]
        sub = (cmd.sub_cmd or "").upper()
        if keyword == "ONBUILD" and sub in ("ENV", "LABEL", "ARG") and len(cmd.value) >= 2:
            for i in range(0, len(cmd.value) - 1, 2):  # ONBUILD ENV K=V runs in every child image: same rules
                value, redacted = redact_value(cmd.value[i], cmd.value[i + 1])
                arguments[i + 1] = value or ""
                if redacted and cmd.value[i + 1]:
                    hidden.append(cmd.value[i + 1])
        if keyword == "FROM":
            stage = self._from(cmd)
        elif keyword in ("ENV", "LABEL"):
            arguments = []
            for raw_key, raw_value in _kv_pairs(cmd):
                k, v = unquote(raw_key, self.escape), unquote(raw_value, self.escape)
                value, redacted = redact_value(k, v)
                arguments += [k, value or ""]
                if redacted and raw_value:
                    hidden.append(raw_value)
                if keyword == "ENV" and stage:
                    stage.env_keys.add(k)
                    # A secret never reaches other facts through expansion (FROM, USER, WORKDIR, …).
                    stage.vars[k] = MARKER if redacted else expand(raw_value, stage.vars, self.escape)[0]
                    self.facts.vars.append(VarRow(stage.row.stage_index, seq, "ENV", k, value, redacted))
        elif keyword == "ARG":
            arguments = []
            for k, default in _arg_decls(cmd):
                value, redacted = redact_value(k, default)
                arguments.append(k if default is None else f"{k}={value}")
                if redacted and default:
                    hidden.append(default)
                if stage is None:
                    expanded = expand(default, self.global_args, self.escape)[0] if default else default
                    self.global_args[k] = MARKER if redacted else expanded
                elif default is not None:
                    stage.vars[k] = MARKER if redacted else expand(default, stage.vars, self.escape)[0]
                else:  # `ARG X` in a stage brings the global value of X into scope
                    stage.vars[k] = self.global_args.get(k)
                self.facts.vars.append(VarRow(stage.row.stage_index if stage else None, seq, "ARG", k, value, redacted))
        if stage is not None and keyword != "FROM":
            stage.row.instruction_count += 1
            stage.row.end_line = cmd.end_line
            self._stage_effect(seq, cmd, keyword, stage, bodies)
        self.facts.instructions.append(
            InstructionRow(
                seq=seq,
                stage_index=stage.row.stage_index if stage else None,
                keyword=keyword,
                sub_keyword=cmd.sub_cmd.upper() if cmd.sub_cmd else None,
                start_line=cmd.start_line,
                end_line=cmd.end_line,
                flags=[redact_text(f) for f in cmd.flags],
                arguments=arguments,
                is_json=cmd.json,
                heredoc_names=[h.name for h in cmd.heredocs],
                heredoc_bodies=[redact_text(b) for b in bodies],
                text=_hide(redact_text(cmd.original.rstrip("\n")), hidden),
            )
        )

    def _from(self, cmd: bk.Command) -> _Stage:
        values = list(cmd.value)
        name = None
        if len(values) == 3 and values[1].lower() == "as":
            name = values[2]
            if not _STAGE_NAME.match(name.lower()):
                raise DockerfileError(f"line {cmd.start_line}: invalid stage name {name!r}")
        elif len(values) != 1:
            raise DockerfileError(
                f"line {cmd.start_line}: FROM requires either one or three arguments (got {' '.join(values)!r})"
            )
        written = values[0]
        resolved, missing = expand(written, self.global_args, self.escape)
        index = len(self.stages)
        row = StageRow(
            stage_index=index,
            name=name,
            base_as_written=written,
            base_resolved=resolved or None,
            base_kind="image",
            base_registry=None,
            base_repository=None,
            base_tag=None,
            base_digest=None,
            base_normalized=None,
            base_stage_index=None,
            platform=(_flag(cmd.flags, "platform") or [None])[0],
            start_line=cmd.start_line,
            end_line=cmd.end_line,
            instruction_count=0,
            final_user=None,
            user_inherited=False,
            exposed_ports=[],
            healthcheck=None,
            entrypoint=None,
            cmd=None,
            workdir=None,
            is_final=False,
        )
        base_stage = self._stage_by_name(resolved, exact=True)
        if base_stage is not None:
            parent = base_stage.row
            row.base_kind, row.base_stage_index = "stage", parent.stage_index
            row.final_user, row.user_inherited = parent.final_user, parent.final_user is not None
            row.workdir, row.entrypoint, row.cmd = parent.workdir, parent.entrypoint, parent.cmd
            row.exposed_ports, row.healthcheck = list(parent.exposed_ports), parent.healthcheck
        elif resolved == "scratch":  # BuildKit compares exactly: `SCRATCH` is an image name
            row.base_kind = "scratch"
        else:
            if missing:
                self.warnings.append(
                    f"line {cmd.start_line}: base image {written!r} depends on build arg(s) "
                    f"{', '.join(sorted(set(missing)))} that have no default"
                )
            try:
                ref = parse_image_ref(resolved)
            except InvalidReference as e:
                row.base_kind, row.base_resolved = "unresolved", None
                if not missing:
                    self.warnings.append(f"line {cmd.start_line}: base image {resolved!r} is not valid: {e}")
            else:
                row.base_registry, row.base_repository = ref.registry, ref.repository
                row.base_tag, row.base_digest, row.base_normalized = ref.tag, ref.digest, ref.normalized
        stage = _Stage(row)
        if base_stage is not None:
            stage.env_keys = set(base_stage.env_keys)
            stage.vars = {k: v for k, v in base_stage.vars.items() if k in base_stage.env_keys}
        self.stages.append(stage)
        if stage.row.name is not None:
            self._by_name.setdefault(stage.row.name.lower(), stage)
        return stage

    def _stage_by_name(self, ref: str, exact: bool) -> _Stage | None:
        """An earlier stage by name. Names are stored lower case; FROM looks its base up as
        written (so `FROM Builder` is an image), COPY --from lower-cases it first."""
        return self._by_name.get(ref if exact else ref.lower())

    def _stage_effect(self, seq: int, cmd: bk.Command, keyword: str, stage: _Stage, bodies: list[str]) -> None:
        row = stage.row
        values = list(cmd.value)
        if keyword == "USER" and values:
            row.final_user, row.user_inherited = self._expand(values[0], stage), False
        elif keyword == "WORKDIR" and values:
            row.workdir = self._expand(values[0], stage)
        elif keyword == "EXPOSE":
            row.exposed_ports.extend(self._expand(v, stage) for v in values)
        elif keyword == "HEALTHCHECK":
            none = values and values[0].upper() == "NONE"
            row.healthcheck = "NONE" if none else " ".join(redact_argv(values[1:]))
        elif keyword in ("ENTRYPOINT", "CMD"):
            rendered = json.dumps(redact_argv(values)) if cmd.json else redact_text(" ".join(values))
            if keyword == "ENTRYPOINT":
                row.entrypoint = rendered
                if not stage.cmd_set_here:  # ENTRYPOINT resets a CMD inherited from the base
                    row.cmd = None
            else:
                row.cmd, stage.cmd_set_here = rendered, True
        elif keyword in ("COPY", "ADD"):
            self._copy(seq, cmd, keyword, stage)
        elif keyword == "RUN":
            self._run(seq, cmd, stage, bodies)

    def _expand(self, word: str, stage: _Stage) -> str:
        """Variables of the stage substituted; kept as written when one comes from the base image."""
        expanded, missing = expand(word, stage.vars, self.escape)
        return word if missing else expanded

    def _copy(self, seq: int, cmd: bk.Command, keyword: str, stage: _Stage) -> None:
        values = list(cmd.value)
        from_ref = (_flag(cmd.flags, "from") or [None])[0]
        from_stage_index = from_image = None
        if from_ref is not None:
            from_stage_index, from_image = self._copy_source(from_ref, cmd.start_line, stage.row.stage_index)
        sources = values[:-1] if len(values) > 1 else []
        self.facts.copies.append(
            CopyRow(
                stage_index=stage.row.stage_index,
                seq=seq,
                keyword=keyword,
                sources=[redact_text(s) for s in sources],
                destination=values[-1] if values else None,
                from_ref=from_ref,
                from_stage_index=from_stage_index,
                from_image=from_image,
                is_heredoc=bool(cmd.heredocs),
                is_remote=keyword == "ADD" and any(re.match(r"^(https?|git)://|^git@", s) for s in sources),
                flags=[redact_text(f) for f in cmd.flags],
            )
        )

    def _copy_source(self, ref: str, line: int, current: int) -> tuple[int | None, str | None]:
        """(stage index, external image) that COPY --from names; BuildKit's rules."""
        if "$" in ref:
            raise DockerfileError(
                f"line {line}: variable expansion is not supported for --from; define a stage with FROM instead"
            )
        if ref.isdigit():  # a number is always a stage index, never an image
            index = int(ref)
        elif ref.lower() in self.stage_names:
            index = self.stage_names.index(ref.lower())
        else:
            try:
                return None, parse_image_ref(ref).normalized
            except InvalidReference:
                self.warnings.append(f"line {line}: --from={ref} names no stage and no valid image")
                return None, None
        if index >= current:
            self.warnings.append(f"line {line}: --from={ref} refers to stage {index}, not defined before this stage")
            return None, None
        return index, None

    def _run(self, seq: int, cmd: bk.Command, stage: _Stage, bodies: list[str]) -> None:
        command = " ".join(cmd.value) if cmd.json else (cmd.value[0] if cmd.value else "")
        script = "\n".join([command.lstrip("<-") if cmd.heredocs else command, *bodies])
        argvs = split_commands(script)
        mounts = _cache_mount_targets(cmd.flags)
        by_manager: dict[str, list[list[str]]] = {}
        found = []
        for argv in argvs:
            installs = installs_in(argv)
            if installs:
                by_manager.setdefault(installs[0].manager, []).append(argv)
                found.extend(installs)
        for inst in found:
            cleaned = cache_cleaned(inst.manager, script, by_manager[inst.manager], mounts, stage.env_keys)
            self.facts.packages.append(
                PackageRow(
                    stage.row.stage_index,
                    seq,
                    cmd.start_line,
                    inst.manager,
                    redact_text(inst.package),
                    redact_text(inst.version) if inst.version else None,
                    cleaned,
                )
            )
