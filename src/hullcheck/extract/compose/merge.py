"""Compose's merge rules (override files, `extends`, `include`), and path rebasing.

Rules from the Compose specification's merge section, as compose-go applies them:
mappings merge recursively; `ports`, `expose`, `dns`, `cap_add`… append without
duplicates; `volumes` merge by target; `environment`, `labels`, `depends_on`… by key;
`secrets`/`configs` by source; `command`/`entrypoint` are replaced; `!reset` removes
and `!override` replaces whatever was inherited.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from hullcheck.extract.compose.yaml_nodes import Override, Reset

DEFAULT_CONTEXT = "x-hullcheck-default-context"


class RepoPath(str):
    """A path already resolved against its file's directory: relative to the repository root."""

    __slots__ = ()


# `C:\docker\project`, `C:/x` and UNC `\\host\share`: absolute for Compose's volumes (a repository written
# on Windows); elsewhere (a build context) Compose on Linux takes them as relative, and so do we.
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def is_windows_absolute(path: str) -> bool:
    return bool(_WINDOWS_ABSOLUTE.match(path))


def clean_target(path: str) -> str:
    """A container path as Go's path.Clean leaves it (Compose cleans mount targets): `/app/` is `/app`."""
    if not path.startswith("/"):
        return path
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/")


def repo_path(base_dir: str, path: str) -> str:
    """`path` as written in a file whose relative paths start at `base_dir`; absolute paths stay as written
    (Compose does not clean them), a `~` path is cleaned as Compose cleans it after expanding the home."""
    if isinstance(path, RepoPath) or path.startswith("/") or "://" in path or path.startswith("git@"):
        return path
    if path.startswith("~"):
        return posixpath.normpath(path)
    return RepoPath(posixpath.normpath(posixpath.join(base_dir, path)) if base_dir or path else ".")


def _is_local(source: str) -> bool:
    return source.startswith((".", "/", "~")) or isinstance(source, RepoPath)


def volume_long_form(v: Any, base_dir: str) -> Any:
    """A service volume in long form, its bind source resolved against `base_dir`."""
    if isinstance(v, dict):
        out = dict(v)
        source = out.get("source")
        if out.get("type", "volume") == "bind" and isinstance(source, str) and not is_windows_absolute(source):
            out["source"] = repo_path(base_dir, source)
        return out
    if not isinstance(v, str):
        return v
    parts = v.split(":")
    if len(parts) >= 2 and len(parts[0]) == 1 and parts[0].isalpha():  # Windows drive letter C:\...
        parts = [parts[0] + ":" + parts[1], *parts[2:]]
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source, target, mode = parts[0], parts[1], ":".join(parts[2:])
    out: dict[str, Any] = {"target": target}
    if is_windows_absolute(source):
        out.update(type="bind", source=source)
    elif _is_local(source):
        out.update(type="bind", source=repo_path(base_dir, source))
    else:
        out.update(type="volume", source=source)
    if "ro" in mode.split(",") or mode == "ro":
        out["read_only"] = True
    return out


def rebase_service(svc: dict[str, Any], base_dir: str) -> dict[str, Any]:
    """Resolve the relative paths a service carries against the directory its file counts from."""
    svc = dict(svc)
    build = svc.get("build")
    if isinstance(build, str):
        svc["build"] = {"context": repo_path(base_dir, build)}
    elif isinstance(build, dict):
        build = dict(build)
        if build.get("context"):
            build["context"] = repo_path(base_dir, str(build["context"]))
        # Without a context the build runs in this file's directory; an extending service that
        # names none keeps its base's (see merge_value).
        build[DEFAULT_CONTEXT] = repo_path(base_dir, ".")
        svc["build"] = build
    env_file = svc.get("env_file")
    if env_file is not None and not isinstance(env_file, Reset | Override):
        entries = env_file if isinstance(env_file, list) else [env_file]
        rebased = []
        for e in entries:
            if isinstance(e, dict):
                rebased.append({**e, "path": repo_path(base_dir, str(e.get("path", "")))})
            else:
                rebased.append(repo_path(base_dir, str(e)))
        svc["env_file"] = rebased
    if isinstance(svc.get("volumes"), list):
        svc["volumes"] = [volume_long_form(v, base_dir) for v in svc["volumes"]]
    ext = svc.get("extends")
    if isinstance(ext, dict) and isinstance(ext.get("file"), str):
        svc["extends"] = {**ext, "file": repo_path(base_dir, ext["file"])}
    return svc


_APPEND_UNIQUE = {
    "ports",
    "expose",
    "dns",
    "dns_search",
    "dns_opt",
    "tmpfs",
    "cap_add",
    "cap_drop",
    "external_links",
    "links",
    "security_opt",
    "group_add",
    "devices",
    "env_file",
    "profiles",
    "volumes_from",
}
_BY_KEY = {
    "environment",
    "labels",
    "annotations",
    "sysctls",
    "extra_hosts",
    "depends_on",
    "ulimits",
    "networks",
    "build_args",
}
_REPLACE = {"command", "entrypoint", "healthcheck_test"}


def as_mapping(value: Any, key: str) -> dict[str, Any]:
    """The list forms of `environment`, `labels`, `depends_on`, `networks`… as a mapping."""
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value or []:
        item = str(item)
        if key == "depends_on" or key == "networks":
            out[item] = None
        elif key == "extra_hosts":
            k, sep, v = item.partition("=") if "=" in item else item.partition(":")
            out[k] = v if sep else None
        else:
            k, sep, v = item.partition("=")
            out[k] = v if sep else None
    return out


def _volume_key(v: Any) -> Any:
    return v.get("target") if isinstance(v, dict) else v


def _source_key(v: Any) -> Any:
    return v.get("source") if isinstance(v, dict) else v


def _merge_list_by(base: list[Any], over: list[Any], key: Any) -> list[Any]:
    keys = {key(x): i for i, x in enumerate(base)}
    out = list(base)
    for item in over:
        k = key(item)
        if k in keys:
            out[keys[k]] = item
        else:
            keys[k] = len(out)
            out.append(item)
    return out


def merge_value(key: str, base: Any, over: Any) -> Any:
    if isinstance(over, Override):
        return over.value
    if base is None:
        return over
    if key == DEFAULT_CONTEXT:
        return base
    if key in _REPLACE:
        return over
    if key == "volumes" and isinstance(base, list) and isinstance(over, list):
        return _merge_list_by(base, over, _volume_key)
    if key in ("secrets", "configs") and isinstance(base, list) and isinstance(over, list):
        return _merge_list_by(base, over, _source_key)
    if key in _APPEND_UNIQUE and isinstance(base, list) and isinstance(over, list):
        return base + [x for x in over if x not in base]
    if key in _BY_KEY or (key == "args" and not isinstance(base, str)):
        merged = as_mapping(base, key)
        for k, v in as_mapping(over, key).items():
            merged[k] = merge_value(k, merged.get(k), v) if isinstance(v, dict) else v
        return merged
    if isinstance(base, dict) and isinstance(over, dict):
        return merge_mapping(base, over)
    return over


def merge_mapping(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Reset):
            out.pop(k, None)
        else:
            out[k] = merge_value(k, out.get(k), v)
    return out


def strip_tags(value: Any) -> Any:
    """The document without `!reset`/`!override` wrappers, once merging is done."""
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, Reset):
        return None
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_tags(v) for v in value]
    return value
