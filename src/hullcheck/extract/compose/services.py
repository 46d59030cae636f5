"""One merged Compose service → one row, normalised as `docker compose config` would show it."""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Callable
from typing import Any, TypeVar

from hullcheck.errors import ExtractError
from hullcheck.extract.compose.fields import ServiceFieldError, runtime_fields, size_bytes
from hullcheck.extract.compose.interpolate import parse_dotenv
from hullcheck.extract.compose.merge import DEFAULT_CONTEXT, RepoPath, as_mapping, clean_target, volume_long_form
from hullcheck.extract.compose.rows import ComposeServiceRow, DependsOn, EnvVar, Port, Volume
from hullcheck.redact import redact_url, redact_value

_PORT = re.compile(
    r"^(?:(?P<ip>\[[^\]]+\]|[\d.]+|[0-9a-fA-F:]+(?=:\d)):)??(?:(?P<published>[\d\-]*):)?(?P<target>[\d\-]+)(?:/(?P<proto>\w+))?$"
)


T = TypeVar("T")


def _field(service: str, key: str, expected: str, convert: Callable[[], T]) -> T:
    """`convert()`, or ServiceFieldError saying in words which field must be what (as Compose's own
    schema errors do), instead of the Python error a wrong type or an infinity raises deep inside."""
    try:
        return convert()
    except (TypeError, ValueError, OverflowError, AttributeError, KeyError):
        raise ServiceFieldError(f"services.{service}.{key} must be {expected}") from None


def _mapping(service: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ServiceFieldError(f"services.{service}.{key} must be a mapping")
    return value


def _path(p: Any) -> str:
    return str(p)


def _ports(raw: list[Any]) -> list[Port]:
    out: list[Port] = []
    for p in raw or []:
        if isinstance(p, dict):
            published = p.get("published")
            out.append(
                Port(
                    int(p["target"]) if p.get("target") is not None else None,
                    str(published) if published not in (None, "") else None,
                    str(p.get("protocol") or "tcp"),
                    p.get("host_ip"),
                    p.get("mode") or "ingress",
                )
            )
            continue
        m = _PORT.match(str(p).strip())
        if not m:
            continue
        target, published = m.group("target"), m.group("published") or None
        ip = (m.group("ip") or "").strip("[]") or None
        proto = m.group("proto") or "tcp"
        if "-" in target:  # a range expands to one port per entry, as Compose does
            t0, t1 = (int(x) for x in target.split("-"))
            if not 0 <= t0 <= t1 <= 65535:  # not a port range (`1-1500000` would be 1.5 million rows)
                continue
            pubs: list[str | None] = [None] * (t1 - t0 + 1)
            if published and "-" in published:
                p0 = int(published.split("-")[0])
                pubs = [str(p0 + i) for i in range(t1 - t0 + 1)]
            elif published:
                pubs = [published] * (t1 - t0 + 1)
            out.extend(Port(t0 + i, pubs[i], proto, ip, "ingress") for i in range(t1 - t0 + 1))
        else:
            out.append(Port(int(target), published, proto, ip, "ingress"))
    return out


def _volumes(raw: list[Any]) -> list[Volume]:
    out = []
    for v in raw or []:
        long = volume_long_form(v, "")
        if not isinstance(long, dict) or not long.get("target"):
            continue
        source = long.get("source")
        kind = str(long.get("type") or "volume")
        out.append(Volume(kind, _path(source) if source is not None else None, clean_target(str(long["target"])),
                          bool(long.get("read_only"))))  # fmt: skip
    return out


def _names(raw: Any) -> list[str]:
    if isinstance(raw, dict):
        return [str(k) for k in raw]
    return [str(x.get("source")) if isinstance(x, dict) else str(x) for x in raw or []]


def _env_files(raw: Any) -> list[tuple[str, bool]]:
    entries = raw if isinstance(raw, list) else ([raw] if raw else [])
    out = []
    for e in entries:
        if isinstance(e, dict):
            out.append((_path(e.get("path", "")), bool(e.get("required", True))))
        else:
            out.append((_path(e), True))
    return out


def service_row(
    name: str,
    svc: dict[str, Any],
    read: Callable[[str], bytes | None],
    warnings: list[str],
    project_env: dict[str, str] | None = None,
    project_name: str | None = None,
) -> ComposeServiceRow:
    """`project_env` (the project's `.env`) fills bare environment keys, as Compose's environment does."""
    project_env = project_env or {}
    build = svc.get("build") if isinstance(svc.get("build"), dict) else None
    context = dockerfile = None
    inline = False
    if build is not None:
        context = redact_url(_path(build.get("context") or build.get(DEFAULT_CONTEXT) or "."))
        inline = bool(build.get("dockerfile_inline"))
        if not inline and isinstance(build.get("context") or build.get(DEFAULT_CONTEXT), RepoPath):
            df = str(build.get("dockerfile") or "Dockerfile")
            dockerfile = df if df.startswith("/") else posixpath.normpath(posixpath.join(context, df))
    env: dict[str, Any] = {}
    env_files = _field(
        name, "env_file", "a path, a list of paths or of {path, required}", lambda: _env_files(svc.get("env_file"))
    )
    for path, required in env_files:
        data = read(path)
        if data is None:
            if required:
                raise MissingEnvFile(f"service {name!r}: env_file {path} not found")
            continue
        # A bare `KEY` line of an env_file takes the value the environment has, else it is dropped.
        env.update({k: project_env[k] for k in _bare_keys(data) if k in project_env})
        env.update(parse_dotenv(data))
    env.update(
        _field(
            name,
            "environment",
            "a mapping or a list of NAME=value",
            lambda: as_mapping(svc.get("environment"), "environment"),
        )
    )
    environment = []
    for key in env:
        # `environment: [FOO]` / `FOO:` takes FOO from the environment: the project's .env here.
        value = project_env.get(key) if env[key] is None else _scalar(env[key])
        stored, redacted = redact_value(key, value)
        environment.append(EnvVar(key, stored, redacted))
    volumes = _field(name, "volumes", "a list of volumes", lambda: _volumes(svc.get("volumes")))
    deploy = _mapping(name, "deploy", svc.get("deploy"))
    resources = _mapping(name, "deploy.resources", deploy.get("resources"))
    limits = _mapping(name, "deploy.resources.limits", resources.get("limits"))
    health = svc.get("healthcheck")
    depends = []
    dependencies = _field(
        name,
        "depends_on",
        "a list of service names or a mapping",
        lambda: {**implicit_dependencies(svc), **as_mapping(svc.get("depends_on"), "depends_on")},
    )
    for dep, spec in dependencies.items():
        spec = _mapping(name, f"depends_on.{dep}", spec)
        depends.append(
            DependsOn(
                str(dep),
                str(spec.get("condition") or "service_started"),
                bool(spec.get("restart", False)),
                bool(spec.get("required", True)),
            )
        )
    cpus = limits.get("cpus") if limits.get("cpus") not in (None, "") else svc.get("cpus")
    image = _scalar(svc.get("image"))
    built = f"{project_name}-{name}" if build is not None and project_name else None
    return ComposeServiceRow(
        service=name,
        image=image,
        build_context=context,
        build_dockerfile=dockerfile,
        build_dockerfile_inline=inline,
        build_target=_scalar(build.get("target")) if build else None,
        build_args=_field(
            name,
            "build.args",
            "a mapping or a list of NAME=value",
            lambda: list(as_mapping(build.get("args"), "args")) if build and build.get("args") else [],
        ),
        build_platforms=_field(
            name,
            "build.platforms",
            "a list of platforms",
            lambda: [str(p) for p in (build.get("platforms") or [])] if build else [],
        ),
        profiles=_field(name, "profiles", "a list of profile names", lambda: _strings(svc.get("profiles"))),
        depends_on=depends,
        privileged=bool(svc.get("privileged", False)),
        network_mode=_scalar(svc.get("network_mode")),
        pid=_scalar(svc.get("pid")),
        ipc=_scalar(svc.get("ipc")),
        cap_add=_field(name, "cap_add", "a list of capabilities", lambda: _strings(svc.get("cap_add"))),
        user=_scalar(svc.get("user")),
        restart=_scalar(svc.get("restart")),
        healthcheck=isinstance(health, dict) and not health.get("disable") and health.get("test") != ["NONE"],
        environment=environment,
        env_files=[p for p, _ in env_files],
        ports=_field(
            name,
            "ports",
            "a list of ports (a number, a range or a mapping, each within 0-65535)",
            lambda: _ports(svc.get("ports")),
        ),
        volumes=volumes,
        mounts_docker_socket=any(v.source and v.source.endswith("docker.sock") for v in volumes),
        secrets=_field(name, "secrets", "a list of secret names", lambda: _names(svc.get("secrets"))),
        configs=_field(name, "configs", "a list of config names", lambda: _names(svc.get("configs"))),
        cpus_limit=_field(name, "deploy.resources.limits.cpus", "a finite number", lambda: _cpus(cpus)),
        memory_limit=_field(
            name,
            "deploy.resources.limits.memory",
            "a size (bytes, or a number and a unit: 512m)",
            lambda: size_bytes(limits.get("memory") or svc.get("mem_limit")),
        ),
        networks=_field(
            name,
            "networks",
            "a list of network names or a mapping",
            lambda: list(as_mapping(svc.get("networks"), "networks")),
        ),
        effective_image=image or built,
        **runtime_fields(name, svc, lambda key, expected, convert: _field(name, key, expected, convert)),
    )


_BARE_KEY = re.compile(rb"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*$")


def _bare_keys(data: bytes) -> list[str]:
    return [m.group(1).decode() for line in data.splitlines() if (m := _BARE_KEY.match(line))]


def _strings(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TypeError("not a list")
    return [str(x) for x in raw]


def _cpus(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError("not a number")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError("not finite")
    return out


def implicit_dependencies(svc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Dependencies Compose adds by itself: links, volumes_from, and `service:` network/pid/ipc modes."""
    deps: dict[str, dict[str, Any]] = {}
    for link in svc.get("links") or []:
        deps[str(link).split(":", 1)[0]] = {"restart": True}
    for source in svc.get("volumes_from") or []:
        source = str(source)
        if not source.startswith("container:"):
            deps[source.split(":", 1)[0]] = {"restart": False}
    for key in ("network_mode", "pid", "ipc"):
        value = svc.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            deps[value.split(":", 1)[1]] = {"restart": True}
    return deps


def _scalar(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class MissingEnvFile(ExtractError):
    pass
