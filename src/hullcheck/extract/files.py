"""Which files of a repository matter to hullcheck, by path alone (pure)."""

from __future__ import annotations

import fnmatch
import posixpath
import re

# Kinds whose content is read during the crawl (build files, Compose, signals); the others are
# recorded by path and blob only.
READ_KINDS = frozenset({"dockerfile", "compose", "yaml_candidate", "env", "script", "makefile", "ci"})

_CI_PATHS = (
    ".gitlab-ci.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "cloudbuild.yml",
    "Jenkinsfile",
    ".circleci/config.yml",
    "appveyor.yml",
)
_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.\-][\w.\-]+)?\.ya?ml$", re.IGNORECASE)
_BAZEL = {"WORKSPACE", "WORKSPACE.bazel", "MODULE.bazel", "BUILD.bazel", ".bazelrc", ".bazelversion"}


def classify(path: str) -> str | None:
    """The kind of a repository path, or None when hullcheck does not look at it."""
    base = posixpath.basename(path)
    low = base.lower()
    if low == ".dockerignore" or low.endswith(".dockerignore"):
        return "dockerignore"
    if (
        low in ("dockerfile", "containerfile")
        or low.startswith(("dockerfile.", "dockerfile-", "dockerfile_", "containerfile.", "containerfile-"))
        or low.endswith((".dockerfile", ".containerfile"))
    ):
        return "dockerfile"
    if path in _CI_PATHS or path.startswith(".github/workflows/") or base == "Jenkinsfile":
        return "ci"
    if _COMPOSE_NAME.match(base):
        return "compose"
    if low.endswith((".yml", ".yaml")):
        return "yaml_candidate"
    if low == ".env" or low.startswith(".env.") or low.endswith(".env"):
        return "env"
    if low.endswith((".sh", ".bash")):
        return "script"
    if low in ("makefile", "gnumakefile") or low.endswith(".mk"):
        return "makefile"
    if base == "go.mod":
        return "go_mod"
    if base == "pom.xml":
        return "maven"
    if fnmatch.fnmatch(base, "build.gradle*") or fnmatch.fnmatch(base, "settings.gradle*"):
        return "gradle"
    if base in _BAZEL or base == "BUILD" or low.endswith(".bzl"):
        return "bazel"
    if low in ("docker-bake.hcl", "docker-bake.json"):
        return "bake"
    return None


_TOP_LEVEL_SERVICES = re.compile(rb"^services\s*:\s*(#.*)?(\{.*)?\r?$", re.MULTILINE)


def has_top_level_services(data: bytes) -> bool:
    """Cheap test for a Compose candidate: a `services:` key at column 0 (the full parse comes later)."""
    return _TOP_LEVEL_SERVICES.search(data) is not None


def resolve_symlink(link_path: str, target: str) -> str | None:
    """The in-repository path a symlink points to, or None when it leaves the repository."""
    if target.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), target))
    if joined.startswith("../") or joined == ".." or joined == ".":
        return None
    return joined
