"""Package installs inside a RUN: which manager, which packages, and whether the cache was cleaned.

Input is the argv of each simple command (see `shellwords.split_commands`) plus what
else the same RUN did (cache mounts, `rm -rf` of cache folders), because a cache only
costs image bytes if it is still there when the layer is committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PackageInstall:
    manager: str
    package: str
    version: str | None


# Options that take a separate value, per manager, so the value is not taken for a package.
_VALUE_OPTS: dict[str, set[str]] = {
    "apt": {"-o", "-t", "-c", "--target-release", "--option", "--config-file"},
    "apk": {"-X", "--repository", "-p", "--root", "--arch", "-t", "--virtual", "--keys-dir"},
    "yum": {"--enablerepo", "--disablerepo", "--setopt", "--installroot", "--releasever", "-c", "--exclude", "-x"},
    "zypper": {"-r", "--repo", "--from"},
    "pip": {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--platform",
        "--python-version",
        "--trusted-host",
        "--cache-dir",
        "--src",
        "-e",
        "--editable",
        "--progress-bar",
    },
    "npm": {"--prefix", "--registry", "--cache", "-w", "--workspace"},
    "yarn": {"--cwd", "--registry", "--cache-folder", "--modules-folder"},
    "gem": {"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "--source", "-s", "--platform"},
    "go": {"-C", "-o", "-tags", "-ldflags", "-gcflags"},
    "cargo": {
        "--version",
        "--vers",
        "--root",
        "--git",
        "--branch",
        "--tag",
        "--rev",
        "--path",
        "--target",
        "--features",
        "-F",
        "-j",
        "--jobs",
        "--profile",
        "--index",
        "--registry",
    },
}
_VERSION_OPTS = {"gem": ("-v", "--version"), "cargo": ("--version", "--vers")}
_VALUE_OPTS["dnf"] = _VALUE_OPTS["microdnf"] = _VALUE_OPTS["yum"]

_PRIVILEGE_WRAPPERS = {
    "sudo",
    "doas",
    "gosu",
    "su-exec",
    "env",
    "nice",
    "time",
    "command",
    "exec",
    "xargs",
    "eatmydata",
}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _manager_and_args(argv: list[str]) -> tuple[str, list[str]] | None:
    """(manager, arguments after the install verb) when argv installs packages."""
    while argv and (argv[0] in _PRIVILEGE_WRAPPERS or _ASSIGNMENT.match(argv[0]) or argv[0].startswith("-")):
        argv = argv[1:]
    if not argv:
        return None
    prog = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    if re.fullmatch(r"python[0-9.]*", prog) and args[:2] == ["-m", "pip"]:
        prog, args = "pip", args[2:]
    elif re.fullmatch(r"pip[0-9.]*", prog):
        prog = "pip"
    verbs = {
        "apt-get": ("apt", {"install"}),
        "apt": ("apt", {"install"}),
        "apk": ("apk", {"add"}),
        "yum": ("yum", {"install"}),
        "dnf": ("dnf", {"install"}),
        "microdnf": ("microdnf", {"install"}),
        "zypper": ("zypper", {"install", "in"}),
        "pip": ("pip", {"install"}),
        "npm": ("npm", {"install", "i", "add", "ci"}),
        "yarn": ("yarn", {"add", "install"}),
        "gem": ("gem", {"install"}),
        "go": ("go", {"install", "get"}),
        "cargo": ("cargo", {"install"}),
    }
    if prog not in verbs:
        return None
    manager, install_verbs = verbs[prog]
    # Global options may precede the verb (`apt-get -y install`, `zypper -n in`, `yarn global add`).
    value_opts = _VALUE_OPTS.get(manager, set())
    skip_next = False
    for i, a in enumerate(args):
        if skip_next:
            skip_next = False
        elif a in install_verbs:
            return manager, args[i + 1 :]
        elif a.startswith("-"):
            skip_next = a in value_opts
        elif a != "global":
            return None
    return None


def _split_version(manager: str, spec: str) -> tuple[str, str | None]:
    if manager == "apt" and "=" in spec:
        name, _, ver = spec.partition("=")
        return name, ver
    if manager == "apk" and "=" in spec:
        name, _, ver = spec.partition("=")
        return name, ver
    if manager == "pip":
        m = re.match(r"^([A-Za-z0-9_.\-\[\],]+?)\s*((?:===|==|>=|<=|~=|!=|>|<).*)$", spec)
        if m:
            return m.group(1), m.group(2)
        return spec, None
    if manager in ("npm", "yarn") and "@" in spec.lstrip("@"):
        at = spec.rfind("@")
        return spec[:at], spec[at + 1 :]
    if manager in ("go", "cargo") and "@" in spec:
        name, _, ver = spec.partition("@")
        return name, ver
    return spec, None


def installs_in(argv: list[str]) -> list[PackageInstall]:
    found = _manager_and_args(argv)
    if not found:
        return []
    manager, args = found
    value_opts = _VALUE_OPTS.get(manager, set())
    out: list[PackageInstall] = []
    skip_next = False
    pinned: str | None = None  # gem -v X, cargo --version X: one version for the command's packages
    for i, a in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if a.startswith("-"):
            skip_next = a in value_opts
            if a in _VERSION_OPTS.get(manager, ()) and i + 1 < len(args):
                pinned = args[i + 1]
            elif "=" in a and a.split("=", 1)[0] in _VERSION_OPTS.get(manager, ()):
                pinned = a.split("=", 1)[1]
            continue
        if manager == "pip" and (a.startswith((".", "/")) or a.endswith((".txt", ".whl", ".tar.gz"))):
            continue  # local paths and requirement files are not package names
        name, ver = _split_version(manager, a)
        out.append(PackageInstall(manager, name, ver))
    if pinned is not None:
        out = [PackageInstall(p.manager, p.package, p.version or pinned) for p in out]
    return out


# What removes (or never writes) each manager's cache within the same RUN.
_CLEANERS: dict[str, list[str]] = {
    "apt": [r"rm\s+(-\w+\s+)*[^;&|]*/var/lib/apt/lists"],
    "apk": [r"rm\s+(-\w+\s+)*[^;&|]*/var/cache/apk", r"apk\s+cache\s+clean"],
    "yum": [r"yum\s+clean\s+all", r"rm\s+(-\w+\s+)*[^;&|]*/var/cache/yum"],
    "dnf": [r"dnf\s+clean\s+all", r"rm\s+(-\w+\s+)*[^;&|]*/var/cache/dnf"],
    "microdnf": [r"microdnf\s+clean\s+all", r"rm\s+(-\w+\s+)*[^;&|]*/var/cache/(yum|dnf)"],
    "zypper": [r"zypper\s+(clean|cc)\b", r"rm\s+(-\w+\s+)*[^;&|]*/var/cache/zypp"],
    "pip": [r"rm\s+(-\w+\s+)*[^;&|]*(\.cache/pip|\.cache\b)", r"pip[0-9.]*\s+cache\s+purge"],
    "npm": [r"npm\s+cache\s+clean", r"rm\s+(-\w+\s+)*[^;&|]*\.npm\b"],
    "yarn": [r"yarn\s+cache\s+clean", r"rm\s+(-\w+\s+)*[^;&|]*(\.cache/yarn|yarn-cache)"],
    "go": [r"go\s+clean\s+[^;&|]*-(mod)?cache", r"rm\s+(-\w+\s+)*[^;&|]*(go-build|/go/pkg/mod)"],
    "cargo": [r"rm\s+(-\w+\s+)*[^;&|]*cargo/registry"],  # ~/.cargo or $CARGO_HOME=/usr/local/cargo
}
# Flags on the install command itself that keep the cache out of the layer.
_NO_CACHE_FLAGS = {"apk": {"--no-cache"}, "pip": {"--no-cache-dir"}, "yum": set(), "npm": set()}
# Cache mounts (`RUN --mount=type=cache,target=…`) that hold the cache outside the layer.
_CACHE_TARGETS = {
    "apt": ("/var/lib/apt",),  # /var/cache/apt alone leaves the lists in the layer
    "apk": ("/var/cache/apk", "/etc/apk/cache"),
    "yum": ("/var/cache/yum",),
    "dnf": ("/var/cache/dnf", "/var/cache/libdnf5"),
    "microdnf": ("/var/cache/yum", "/var/cache/dnf"),
    "zypper": ("/var/cache/zypp",),
    "pip": ("/root/.cache", "/root/.cache/pip", "~/.cache"),
    "npm": ("/root/.npm", "~/.npm"),
    "yarn": ("/usr/local/share/.cache/yarn", "/root/.cache/yarn"),
    "go": ("/root/.cache/go-build", "/go/pkg/mod", "/root/go/pkg/mod"),
    "cargo": ("/usr/local/cargo/registry", "/root/.cargo/registry"),
}
_ENV_NO_CACHE = {"pip": ("PIP_NO_CACHE_DIR",)}


def cache_cleaned(
    manager: str,
    script: str,
    install_argv: list[list[str]],
    cache_mount_targets: list[str],
    env_keys: set[str],
) -> bool | None:
    """Whether the RUN leaves no package cache behind; None when we cannot tell for this manager."""
    if manager not in _CLEANERS:
        return None
    if any(t.rstrip("/").startswith(_CACHE_TARGETS.get(manager, ("\0",))) for t in cache_mount_targets):
        return True
    if any(k in env_keys for k in _ENV_NO_CACHE.get(manager, ())):
        return True
    flags = _NO_CACHE_FLAGS.get(manager, set())
    if flags and install_argv and all(any(a in flags for a in argv) for argv in install_argv):
        return True
    return any(re.search(p, script) for p in _CLEANERS[manager])
