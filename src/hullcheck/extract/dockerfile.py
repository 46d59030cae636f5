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

from hullcheck.extract.dockerfile_rows import (
    CopyRow,
    DockerfileFacts,
    DockerfileRow,
    InstructionRow,
    PackageRow,
    StageRow,
    VarRow,
)
from hullcheck.extract.imageref import InvalidReference, parse_image_ref
from hullcheck.extract.packages import cache_cleaned, installs_in
from hullcheck.extract.shellwords import UnsetVariable, expand, split_commands
from hullcheck.redact import redact_text, redact_value

EXTRACTOR_VERSION = 1

KNOWN_INSTRUCTIONS = frozenset(
    "FROM RUN CMD LABEL MAINTAINER EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER WORKDIR ARG "
    "ONBUILD STOPSIGNAL HEALTHCHECK SHELL".split()
)
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = ("syntax", "escape", "check")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")


class DockerfileError(Exception):
    """The file is not a Dockerfile BuildKit would accept; the message says where and why."""


def decode(data: bytes) -> tuple[str, list[str]]:
    """Text of a build file, and warnings. Binary content raises DockerfileError."""
    if b"\0" in data[:8192]:
        raise DockerfileError("binary content (NUL bytes): not a Dockerfile")
    warnings: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        text = data.decode("latin-1")
        warnings.append(f"not valid UTF-8 (byte {e.start}); read as Latin-1")
    return text, warnings


def parse_directives(text: str) -> dict[str, str]:
    """Parser directives at the top of the file, with BuildKit's rules: the first line that
    is not a known directive ends them; a directive given twice is an error."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _DIRECTIVE.match(line.strip())
        if not m or m.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        key = m.group(1).lower()
        if key in found:
            raise DockerfileError(f"only one {key} parser directive can be used")
        found[key] = m.group(2)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(f"invalid escape token {escape!r}: it must be ` or \\")
    return found


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


def extract_dockerfile(data: bytes) -> DockerfileFacts:
    """All facts of one Dockerfile. A file BuildKit would refuse gives one row with parse_error set."""
    warnings: list[str] = []
    directives: dict[str, str] = {}
    try:
        text, warnings = decode(data)
        directives = parse_directives(text)
        try:
            commands = bk.parse_string(text)
        except bk.GoParseError as e:
            raise DockerfileError(str(e)) from None
        return _Builder(directives, warnings).build(commands)
    except (DockerfileError, UnsetVariable) as e:
        return DockerfileFacts(
            file=DockerfileRow(
                syntax=directives.get("syntax"),
                escape=directives.get("escape", "\\"),
                check_directive=directives.get("check"),
                stage_count=0,
                final_stage_index=None,
                final_stage_name=None,
                global_args=[],
                parse_error=str(e),
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

    def build(self, commands: tuple[bk.Command, ...]) -> DockerfileFacts:
        seen_from = False
        for cmd in commands:
            keyword = cmd.cmd.upper()
            if keyword not in KNOWN_INSTRUCTIONS:
                raise DockerfileError(f"line {cmd.start_line}: unknown instruction {cmd.cmd!r}")
            if not seen_from and keyword not in ("ARG", "FROM"):
                raise DockerfileError(f"line {cmd.start_line}: {keyword} before the first FROM")
            seen_from = seen_from or keyword == "FROM"
        for seq, cmd in enumerate(commands):
            self._instruction(seq, cmd)
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
        arguments = [redact_text(v) for v in cmd.value]
        if keyword == "FROM":
            stage = self._from(cmd)
        elif keyword in ("ENV", "LABEL"):
            pairs = _kv_pairs(cmd)
            arguments = []
            for k, v in pairs:
                value, redacted = redact_value(k, _unquote(v))
                arguments += [k, value or ""]
                if keyword == "ENV" and stage:
                    stage.env_keys.add(k)
                    self.facts.vars.append(VarRow(stage.row.stage_index, seq, "ENV", k, value, redacted))
        elif keyword == "ARG":
            arguments = []
            for k, default in _arg_decls(cmd):
                value, redacted = redact_value(k, default)
                arguments.append(k if default is None else f"{k}={value}")
                if stage is None:
                    expanded = expand(default, self.global_args, self.escape)[0] if default else default
                    self.global_args[k] = expanded
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
                text=redact_text(cmd.original.rstrip("\n")),
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
        base_stage = self._stage_by_name(resolved)
        if base_stage is not None:
            parent = base_stage.row
            row.base_kind, row.base_stage_index = "stage", parent.stage_index
            row.final_user, row.user_inherited = parent.final_user, parent.final_user is not None
            row.workdir, row.entrypoint, row.cmd = parent.workdir, parent.entrypoint, parent.cmd
            row.exposed_ports, row.healthcheck = list(parent.exposed_ports), parent.healthcheck
        elif resolved.lower() == "scratch":
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
        self.stages.append(stage)
        return stage

    def _stage_by_name(self, ref: str) -> _Stage | None:
        for s in self.stages:
            if s.row.name is not None and s.row.name.lower() == ref.lower():
                return s
        return None

    def _stage_by_ref(self, ref: str) -> _Stage | None:
        if ref.isdigit():
            i = int(ref)
            return self.stages[i] if i < len(self.stages) - 1 else None
        return self._stage_by_name(ref)

    def _stage_effect(self, seq: int, cmd: bk.Command, keyword: str, stage: _Stage, bodies: list[str]) -> None:
        row = stage.row
        values = list(cmd.value)
        if keyword == "USER" and values:
            row.final_user, row.user_inherited = values[0], False
        elif keyword == "WORKDIR" and values:
            row.workdir = values[0]
        elif keyword == "EXPOSE":
            row.exposed_ports.extend(values)
        elif keyword == "HEALTHCHECK":
            row.healthcheck = "NONE" if values and values[0].upper() == "NONE" else redact_text(" ".join(values[1:]))
        elif keyword in ("ENTRYPOINT", "CMD"):
            rendered = json.dumps(values) if cmd.json else redact_text(" ".join(values))
            if keyword == "ENTRYPOINT":
                row.entrypoint = rendered
            else:
                row.cmd = rendered
        elif keyword in ("COPY", "ADD"):
            self._copy(seq, cmd, keyword, stage)
        elif keyword == "RUN":
            self._run(seq, cmd, stage, bodies)

    def _copy(self, seq: int, cmd: bk.Command, keyword: str, stage: _Stage) -> None:
        values = list(cmd.value)
        from_ref = (_flag(cmd.flags, "from") or [None])[0]
        from_stage_index = from_image = None
        if from_ref is not None:
            resolved = expand(from_ref, self.global_args, self.escape)[0]
            source_stage = self._stage_by_ref(resolved)
            if source_stage is not None:
                from_stage_index = source_stage.row.stage_index
            else:
                try:
                    from_image = parse_image_ref(resolved).normalized
                except InvalidReference:
                    self.warnings.append(f"line {cmd.start_line}: --from={from_ref} names no stage and no image")
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
                    stage.row.stage_index, seq, cmd.start_line, inst.manager, inst.package, inst.version, cleaned
                )
            )
