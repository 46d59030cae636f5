"""The rows a Compose project becomes. Field names are the columns of the `compose_*` tables.

Paths are repository-relative POSIX paths, so that a service's build can be joined to the
Dockerfile facts of the same commit: `project_dir` is '' for the repository root (like a
file's directory), build contexts and bind sources are '.' for it (as people write them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class ComposeProjectRow:
    project_dir: str  # repository-relative directory the project's relative paths start from
    name: str | None  # COMPOSE_PROJECT_NAME from .env, else `name:`, else the directory's name
    files: list[str]  # compose files in merge order (overrides last); included files are not listed here
    included_files: list[str]  # files pulled in by `include:` and `extends: file:`
    env_file: str | None  # the project's .env used for interpolation, when present
    active_profiles: list[str]  # COMPOSE_PROFILES from .env
    declared_profiles: list[str]  # every profile a service names
    service_count: int
    warnings: list[str] = field(default_factory=list)  # unresolved variables, ignored keys…
    error: str | None = None  # Compose refuses the project; its services are kept when the model loaded
    origin_path: str | None = None  # the script, Makefile, CI file or .env whose command names this file set
    origin_line: int | None = None  # its line (1-based); NULL for a project found by Compose's own discovery


@dataclass(slots=True)
class DependsOn:
    service: str
    condition: str  # service_started | service_healthy | service_completed_successfully
    restart: bool
    required: bool


@dataclass(slots=True)
class Port:
    target: int | None
    published: str | None  # a port or a range, as Compose keeps it
    protocol: str  # tcp | udp
    host_ip: str | None
    mode: str | None


@dataclass(slots=True)
class Volume:
    type: str  # bind | volume | tmpfs | npipe | cluster
    source: str | None  # bind: repository-relative when inside the repo, else as written; volume: its name
    target: str
    read_only: bool


@dataclass(slots=True)
class EnvVar:
    key: str
    value: str | None  # None: passed through from the environment; the marker when it looked secret
    redacted: bool


@dataclass(slots=True)
class KeyValue:
    key: str
    value: str | None  # the marker when it looked secret


@dataclass(slots=True)
class Ulimit:
    name: str
    soft: int | None
    hard: int | None


@dataclass(slots=True)
class ComposeServiceRow:
    service: str
    image: str | None
    build_context: str | None  # repository-relative directory, or a URL for remote contexts
    build_dockerfile: str | None  # repository-relative path of the Dockerfile the build uses
    build_dockerfile_inline: bool
    build_target: str | None
    build_args: list[str]  # keys only
    build_platforms: list[str]
    profiles: list[str]
    depends_on: list[DependsOn]
    privileged: bool
    network_mode: str | None
    pid: str | None
    ipc: str | None
    cap_add: list[str]
    user: str | None
    restart: str | None
    healthcheck: bool  # a healthcheck is defined and not disabled
    environment: list[EnvVar]
    env_files: list[str]  # repository-relative
    ports: list[Port]
    volumes: list[Volume]
    mounts_docker_socket: bool
    secrets: list[str]
    configs: list[str]
    cpus_limit: float | None  # deploy.resources.limits.cpus
    memory_limit: int | None  # deploy.resources.limits.memory, in bytes
    networks: list[str]
    effective_image: str | None  # `image`, else the name Compose gives a built image: <project>-<service>
    command: list[str] | None  # shell form split as Compose splits it; None when not set (the image decides)
    entrypoint: list[str] | None
    container_name: str | None
    pull_policy: str | None
    expose: list[str]
    hostname: str | None
    logging_driver: str | None
    logging_options: list[KeyValue]
    read_only: bool
    tmpfs: list[str]
    stop_signal: str | None
    platform: str | None
    runtime: str | None
    labels: list[KeyValue]
    sysctls: list[KeyValue]
    shm_size: int | None  # bytes
    ulimits: list[Ulimit]
    healthcheck_test: list[str] | None  # as Compose prints it (["CMD", …] / ["CMD-SHELL", "…"])
    healthcheck_interval_seconds: float | None
    healthcheck_timeout_seconds: float | None
    healthcheck_start_period_seconds: float | None
    healthcheck_retries: int | None


@dataclass(slots=True)
class ComposeFacts:
    project: ComposeProjectRow
    services: list[ComposeServiceRow] = field(default_factory=list)
