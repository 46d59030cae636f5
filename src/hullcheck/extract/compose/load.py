"""Compose projects: bytes in (through `read`), rows out, the way Compose v2 loads them.

No subprocess and no checkout: `read(path)` returns a repository file's bytes. Only the
project's `.env` feeds interpolation, never the auditing machine's environment.
Order of work, as compose-go: per file, parse (with limits) → interpolate → resolve
relative paths → `include` → `extends`; then files merge in order (overrides last).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from hullcheck.errors import ExtractError
from hullcheck.extract.compose.consistency import consistency_error, project_name
from hullcheck.extract.compose.interpolate import ExpansionBudget, InterpolationError, interpolate_tree, parse_dotenv
from hullcheck.extract.compose.merge import merge_mapping, rebase_service, repo_path, strip_tags
from hullcheck.extract.compose.rows import ComposeFacts, ComposeProjectRow, ComposeServiceRow
from hullcheck.extract.compose.services import implicit_dependencies, service_row
from hullcheck.extract.compose.yaml_nodes import load_yaml
from hullcheck.redact import MARKER, looks_secret, redact_text

Reader = Callable[[str], bytes | None]

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
MAX_FILES = 64  # includes and extends per project: a cycle or a runaway chain stops here


class ComposeError(ExtractError):
    pass


def default_files(read: Reader, project_dir: str) -> list[str]:
    """The first default-named file in the directory, then its override file, as `docker compose` picks."""
    for name in DEFAULT_FILES:
        path = posixpath.join(project_dir, name)
        if read(path) is not None:
            stem = posixpath.splitext(path)[0]  # the override of the same family, either extension
            for override in (f"{stem}.override.yaml", f"{stem}.override.yml"):
                if read(override) is not None:
                    return [path, override]
            return [path]
    return []


class _Loader:
    def __init__(self, read: Reader) -> None:
        self.read = read
        self.warnings: list[str] = []
        self.included: list[str] = []
        self.loaded = 0
        self.contents = 0  # files with at least one key: Compose refuses a project of empty files only
        self.budget = ExpansionBudget()  # one for the whole project: its files multiply together

    def env_from(self, path: str, base: dict[str, str] | None = None) -> dict[str, str] | None:
        data = self.read(path)
        return None if data is None else parse_dotenv(data, base)

    def document(self, path: str, env: dict[str, str]) -> dict[str, Any]:
        self.loaded += 1
        if self.loaded > MAX_FILES:
            raise ComposeError(f"more than {MAX_FILES} files loaded: an include or extends cycle?")
        if _outside(path):  # never asked of `read`: the path is not the repository's to give
            raise ComposeError(f"{path}: points outside the repository; not read")
        data = self.read(str(path))
        if data is None:
            raise ComposeError(f"{path}: file not found")
        doc = load_yaml(data, str(path))
        if doc is None:
            return {}
        if not isinstance(doc, dict):
            raise ComposeError(f"{path}: top level must be a mapping")
        self.contents += bool(doc)
        unset: set[str] = set()
        # A secret from .env never reaches other facts through interpolation (`image: x:${REGISTRY_TOKEN}`,
        # `PLAIN: ${DB_PASSWORD}`): secret-looking variables interpolate as the marker.
        visible = {k: (MARKER if looks_secret(k, v) else v) for k, v in env.items()}
        try:
            doc = interpolate_tree(
                {k: v for k, v in doc.items() if not str(k).startswith("x-")}, visible, unset, self.budget
            )
        except InterpolationError as e:
            raise ComposeError(f"{path}: {e}") from None
        for name in sorted(unset):
            warning = f"{path}: variable {name} is not set; an empty string was substituted"
            if warning not in self.warnings:
                self.warnings.append(warning)
        return doc

    def load_file(self, path: str, base_dir: str, env: dict[str, str], chain: tuple[str, ...]) -> dict[str, Any]:
        """One file with its includes and extends resolved; relative paths rebased on `base_dir`."""
        if path in chain:
            raise ComposeError(f"include cycle: {' -> '.join([*chain, path])}")
        doc = self.document(path, env)
        services = doc.get("services") or {}
        if not isinstance(services, dict):
            raise ComposeError(f"{path}: services must be a mapping")
        services = {_key_text(k): v for k, v in services.items()}  # `services: {1: …}` names a service "1"
        for name, svc in services.items():  # checked per file, as Compose validates each file (an override too)
            if not isinstance(svc, dict):
                raise ComposeError(f"{path}: services.{name} must be a mapping")
        doc["services"] = {
            name: rebase_service(svc or {}, base_dir) if isinstance(svc, dict) else svc
            for name, svc in services.items()
        }
        for section in ("secrets", "configs"):
            if not isinstance(doc.get(section) or {}, dict):
                raise ComposeError(f"{path}: {section} must be a mapping")
            for item in (doc.get(section) or {}).values():
                if isinstance(item, dict) and isinstance(item.get("file"), str):
                    item["file"] = repo_path(base_dir, item["file"])
        for name in list(doc["services"]):
            doc["services"][name] = self.extends(path, doc["services"], name, env, ())
        includes = doc.pop("include", None) or []
        if not isinstance(includes, list):
            raise ComposeError(f"{path}: include must be a list")
        for entry in includes:
            doc = self.include(path, base_dir, entry, env, (*chain, path), doc)
        return doc

    def include(
        self, parent: str, base_dir: str, entry: Any, env: dict[str, str], chain: tuple[str, ...], doc: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(entry, str | dict):
            raise ComposeError(f"{parent}: an include entry must be a path or a mapping with a path")
        spec = {"path": entry} if isinstance(entry, str) else dict(entry)
        paths = spec.get("path")
        paths = [paths] if isinstance(paths, str) else paths or []
        if not paths:
            raise ComposeError(f"{parent}: include entry without a path")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ComposeError(f"{parent}: include path must be a path or a list of paths")
        if not isinstance(spec.get("project_directory") or "", str):
            raise ComposeError(f"{parent}: include project_directory must be a path")
        files = [repo_path(base_dir, p) for p in paths]
        project = repo_path(base_dir, spec["project_directory"]) if spec.get("project_directory") else None
        project = project if project is not None else posixpath.dirname(files[0])
        env_files = spec.get("env_file")
        env_files = [env_files] if isinstance(env_files, str) else env_files or []
        if not isinstance(env_files, list) or not all(isinstance(e, str) for e in env_files):
            raise ComposeError(f"{parent}: include env_file must be a path or a list of paths")
        env_paths = [repo_path(base_dir, e) for e in env_files] or [posixpath.join(project, ".env")]
        inc_env: dict[str, str] = {}
        for e in env_paths:
            loaded = self.env_from(e, {**inc_env, **env})
            if loaded is None and env_files:
                raise ComposeError(f"{parent}: include env_file {e} not found")
            inc_env.update(loaded or {})
        inc_env.update(env)  # the including project's variables win over the included one's env_file
        merged: dict[str, Any] = {}
        for f in files:
            self.included.append(f)
            merged = merge_mapping(merged, self.load_file(f, project, inc_env, chain))
        for name, svc in (merged.get("services") or {}).items():
            if name in doc["services"]:
                raise ComposeError(f"{parent}: service {name!r} from {files[0]} conflicts with a service of the file")
            doc["services"][name] = svc
        for section in ("volumes", "networks", "secrets", "configs"):
            if merged.get(section):
                doc[section] = {**(merged.get(section) or {}), **(doc.get(section) or {})}
        return doc

    def extends(
        self, path: str, services: dict[str, Any], name: str, env: dict[str, str], seen: tuple[tuple[str, str], ...]
    ) -> Any:
        svc = services.get(name)
        if not isinstance(svc, dict) or "extends" not in svc:
            return svc
        if (path, name) in seen:
            chain = " -> ".join(f"{s}" for _, s in (*seen, (path, name)))
            raise ComposeError(f"{path}: circular extends: {chain}")
        ext = svc["extends"]
        if not isinstance(ext, str | dict):
            raise ComposeError(f"{path}: services.{name}.extends must be a service name or a mapping")
        ext = {"service": ext} if isinstance(ext, str) else dict(ext)
        base_name = ext.get("service")
        if not base_name:
            raise ComposeError(f"{path}: service {name!r} extends without a service name")
        if not isinstance(base_name, str) or not isinstance(ext.get("file") or "", str):
            raise ComposeError(f"{path}: services.{name}.extends: service and file must be strings")
        if ext.get("file"):
            base_file = str(ext["file"])
            self.included.append(base_file)
            doc = self.document(base_file, env)
            base_dir = posixpath.dirname(base_file)
            others = {
                n: rebase_service(s or {}, base_dir) if isinstance(s, dict) else s
                for n, s in (doc.get("services") or {}).items()
            }
            base = self.extends(base_file, others, base_name, env, (*seen, (path, name)))
        else:
            if base_name not in services:
                raise ComposeError(f"{path}: service {name!r} extends unknown service {base_name!r}")
            base = self.extends(path, services, base_name, env, (*seen, (path, name)))
        if not isinstance(base, dict):
            raise ComposeError(f"{path}: service {base_name!r} (extended by {name!r}) not found")
        own = {k: v for k, v in svc.items() if k != "extends"}
        return merge_mapping({k: v for k, v in base.items() if k != "extends"}, own)


def load_compose_project(
    read: Reader, project_dir: str, compose_files: list[str] | None = None, default_name: str | None = None
) -> ComposeFacts:
    """Load one Compose project; any error becomes the project row's `error`, never an exception."""
    loader = _Loader(read)
    env_path = posixpath.join(project_dir, ".env")
    row = ComposeProjectRow(
        project_dir=project_dir,
        name=None,
        files=[],
        included_files=[],
        env_file=None,
        active_profiles=[],
        declared_profiles=[],
        service_count=0,
    )
    try:
        env = loader.env_from(env_path) or {}
        row.env_file = env_path if read(env_path) is not None else None
        row.active_profiles = [p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()]
        files = compose_files
        if files is None and env.get("COMPOSE_FILE"):
            sep = env.get("COMPOSE_PATH_SEPARATOR", ":")
            files = [str(repo_path(project_dir, f)) for f in env["COMPOSE_FILE"].split(sep) if f]
            row.origin_path, row.origin_line = env_path, _line_of(read(env_path) or b"", b"COMPOSE_FILE")
            for f in files:
                if _outside(f):
                    raise ComposeError(f"COMPOSE_FILE in {env_path}: {f} points outside the repository; not read")
        files = files if files is not None else default_files(read, project_dir)
        if not files:
            raise ComposeError(
                f"no Compose file in {project_dir or 'the repository root'} (looked for {', '.join(DEFAULT_FILES)})"
            )
        row.files = list(files)
        model: dict[str, Any] = {}
        for f in files:
            model = merge_mapping(model, loader.load_file(f, project_dir, env, ()))
        if not loader.contents:  # every file empty or comments only (an empty override beside a real file is fine)
            raise ComposeError("empty compose file")
        model = strip_tags(model)
        services = model.get("services") or {}
        if isinstance(services, dict):  # keys as YAML spells them: a service named `null` or `1` is one too
            services = {_key_text(k): v for k, v in services.items()}
        row.name = project_name(model.get("name"), env, project_dir, default_name)
        _check_keys(services)
        _check_dependencies(services)
        rows = []
        for name in sorted(services):
            svc = services[name] if isinstance(services[name], dict) else {}
            rows.append(_service_row(name, svc, read, loader.warnings, env, row.name))
        row.service_count = len(rows)
        row.declared_profiles = sorted({p for r in rows for p in r.profiles})
        row.included_files = [str(p) for p in dict.fromkeys(loader.included)]
        row.warnings = loader.warnings
        # Refusals of a model that loaded: the services are kept (a fragment's `privileged: true` is still
        # worth a query), the project's `error` says what Compose says.
        row.error = consistency_error(services, set(row.active_profiles))
        return ComposeFacts(project=row, services=rows)
    except ExtractError as e:  # every typed refusal (the file, the field, the variable) says what in words
        row.error = redact_text(str(e))
    except RecursionError:
        row.error = "nesting too deep"
    except Exception as e:  # a form no check above foresaw: still an error row of this project, never a crash
        row.error = f"cannot load the project: a value has an unexpected type or form ({type(e).__name__})"
    row.warnings = loader.warnings
    return ComposeFacts(project=row)


def _service_row(
    name: str, svc: dict[str, Any], read: Reader, warnings: list[str], env: dict[str, str], project: str | None
) -> ComposeServiceRow:
    """One service's row; a form the field checks did not foresee still names the service."""
    try:
        return service_row(name, svc, read, warnings, env, project)
    except (TypeError, ValueError, OverflowError, AttributeError, KeyError) as e:
        raise ComposeError(f"services.{name}: a value has an unexpected type or form ({type(e).__name__})") from None


def _outside(path: str) -> bool:
    """A path as `repo_path` leaves it that names no file of the repository: absolute, ~ or climbing out."""
    p = str(path)
    return p.startswith(("/", "~")) or "://" in p or p == ".." or p.startswith("../")


def _key_text(key: object) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


# Service keys of the Compose specification's schema; anything else (but `x-…`) is refused, as Compose does.
SERVICE_KEYS = frozenset(
    "annotations attach build blkio_config cap_add cap_drop cgroup cgroup_parent command configs container_name "
    "cpu_count cpu_percent cpu_shares cpu_quota cpu_period cpu_rt_period cpu_rt_runtime cpus cpuset credential_spec "
    "depends_on deploy develop device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint env_file "
    "label_file environment expose extends external_links extra_hosts gpus group_add healthcheck hostname image init "
    "ipc isolation labels links logging mac_address mem_limit mem_reservation mem_swappiness memswap_limit models "
    "network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports post_start pre_stop privileged "
    "profiles provider pull_policy pull_refresh_after read_only restart runtime scale security_opt shm_size secrets "
    "sysctls stdin_open stop_grace_period stop_signal storage_opt tmpfs tty ulimits use_api_socket user uts "
    "userns_mode volumes volumes_from working_dir".split()
)


def _check_keys(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        if not isinstance(svc, dict):
            raise ComposeError(f"services.{name} must be a mapping")
        unknown = sorted(k for k in svc or {} if k not in SERVICE_KEYS and not str(k).startswith("x-"))
        if unknown:
            listed = ", ".join(f"'{k}'" for k in unknown)
            raise ComposeError(f'service "{name}": additional properties {listed} not allowed')


def _check_dependencies(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        deps = (svc or {}).get("depends_on") if isinstance(svc, dict) else None
        for dep in [*(deps if isinstance(deps, list | dict) else []), *implicit_dependencies(svc or {})]:
            if dep not in services:
                raise ComposeError(f'service "{name}" depends on undefined service "{dep}"')


def _line_of(data: bytes, key: bytes) -> int | None:
    for n, line in enumerate(data.splitlines(), start=1):
        if line.lstrip().removeprefix(b"export").lstrip().startswith(key + b"="):
            return n
    return None
