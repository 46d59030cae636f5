"""The rows a Dockerfile becomes: one dataclass per table of facts, keyed by the blob sha.

Field names are the column names of the `dockerfile_*` tables (sql/schema/), so the
store can write them without a mapping layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class DockerfileRow:
    syntax: str | None  # `# syntax=` directive
    escape: str  # escape character in force (`\` or a backtick)
    check_directive: str | None  # `# check=` directive
    stage_count: int
    final_stage_index: int | None
    final_stage_name: str | None
    global_args: list[str]  # ARG keys declared before the first FROM
    parse_error: str | None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StageRow:
    stage_index: int
    name: str | None  # as written after AS (BuildKit compares names case-insensitively)
    base_as_written: str
    base_resolved: str | None  # after ARG substitution; None when it cannot be resolved
    base_kind: str  # image | stage | scratch | unresolved
    base_registry: str | None
    base_repository: str | None
    base_tag: str | None
    base_digest: str | None
    base_normalized: str | None  # e.g. docker.io/library/ubuntu:latest
    base_stage_index: int | None  # when the base is an earlier stage
    platform: str | None  # --platform as written
    start_line: int
    end_line: int
    instruction_count: int
    final_user: str | None  # USER in effect at the end of the stage (inherited from a base stage)
    user_inherited: bool  # final_user comes from a base stage, not this one
    exposed_ports: list[str]
    healthcheck: str | None  # CMD text, NONE, or None when there is no HEALTHCHECK
    entrypoint: str | None
    cmd: str | None
    workdir: str | None
    is_final: bool


@dataclass(slots=True)
class InstructionRow:
    seq: int  # 0-based position in the file
    stage_index: int | None  # None for ARGs before the first FROM
    keyword: str  # upper case
    sub_keyword: str | None  # the instruction under ONBUILD
    start_line: int
    end_line: int
    flags: list[str]
    arguments: list[str]
    is_json: bool
    heredoc_names: list[str]
    heredoc_bodies: list[str]
    text: str  # the instruction as written (continuations joined), secrets redacted


@dataclass(slots=True)
class PackageRow:
    stage_index: int
    seq: int
    line: int
    manager: str
    package: str
    version: str | None
    cache_cleaned: bool | None


@dataclass(slots=True)
class VarRow:
    stage_index: int | None
    seq: int
    kind: str  # ENV | ARG
    key: str
    value: str | None  # None for ARG without default; the marker when it looked secret
    value_redacted: bool


@dataclass(slots=True)
class CopyRow:
    stage_index: int
    seq: int
    keyword: str  # COPY | ADD
    sources: list[str]
    destination: str | None
    from_ref: str | None  # --from as written
    from_stage_index: int | None  # when --from names or numbers an earlier stage
    from_image: str | None  # normalised, when --from is an external image
    is_heredoc: bool
    is_remote: bool  # ADD of a URL or git repository
    flags: list[str]


@dataclass(slots=True)
class DockerfileFacts:
    file: DockerfileRow
    stages: list[StageRow] = field(default_factory=list)
    instructions: list[InstructionRow] = field(default_factory=list)
    packages: list[PackageRow] = field(default_factory=list)
    vars: list[VarRow] = field(default_factory=list)
    copies: list[CopyRow] = field(default_factory=list)
