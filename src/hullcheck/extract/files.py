"""Which files of a repository matter to hullcheck, by path alone (pure)."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from enum import StrEnum

DEFAULT_MAX_FILE_BYTES = 1024 * 1024  # files larger than this are recorded, not read


class FileKind(StrEnum):
    """The `kind` column of `git_commit_files` (and of the `dockerfiles`-side views)."""

    DOCKERFILE = "dockerfile"
    DOCKERIGNORE = "dockerignore"
    COMPOSE = "compose"
    YAML_CANDIDATE = "yaml_candidate"  # a YAML file that is a Compose file if it has top-level `services:`
    ENV = "env"
    SCRIPT = "script"
    MAKEFILE = "makefile"
    CI = "ci"
    GO_MOD = "go_mod"
    MAVEN = "maven"
    GRADLE = "gradle"
    BAZEL = "bazel"
    BAKE = "bake"
    NPM = "npm"  # package.json
    PYTHON = "python"  # pyproject.toml, setup.py, setup.cfg, requirements*.txt, Pipfile
    CARGO = "cargo"  # Cargo.toml
    CODEOWNERS = "codeowners"  # CODEOWNERS at the root, in .github/, docs/ or .gitlab/


# Kinds whose content is read during the crawl (build files, Compose, signals); the others are
# recorded by path and blob only.
READ_KINDS = frozenset(
    {FileKind.DOCKERFILE, FileKind.COMPOSE, FileKind.YAML_CANDIDATE, FileKind.ENV}
    | {FileKind.SCRIPT, FileKind.MAKEFILE, FileKind.CI, FileKind.CODEOWNERS}
)
# Kinds whose content feeds the signals extractor (how images get built: scripts, Makefiles, CI;
# who owns what: CODEOWNERS rules).
SIGNAL_KINDS = frozenset({FileKind.SCRIPT, FileKind.MAKEFILE, FileKind.CI, FileKind.CODEOWNERS})
# Build manifests: the software builds outside its Dockerfile too (listed, never read).
BUILD_MANIFEST_KINDS = frozenset(
    {FileKind.GO_MOD, FileKind.MAVEN, FileKind.GRADLE, FileKind.NPM, FileKind.PYTHON, FileKind.CARGO, FileKind.BAZEL}
)
_CODEOWNERS_PATHS = frozenset({"CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"})

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


def classify(path: str) -> FileKind | None:
    """The kind of a repository path, or None when hullcheck does not look at it."""
    base = posixpath.basename(path)
    low = base.lower()
    if path in _CODEOWNERS_PATHS:
        return FileKind.CODEOWNERS
    if low == ".dockerignore" or low.endswith(".dockerignore"):
        return FileKind.DOCKERIGNORE
    if (
        low in ("dockerfile", "containerfile")
        or low.startswith(("dockerfile.", "dockerfile-", "dockerfile_", "containerfile.", "containerfile-"))
        or low.endswith((".dockerfile", ".containerfile"))
    ):
        return FileKind.DOCKERFILE
    if path in _CI_PATHS or path.startswith(".github/workflows/") or base == "Jenkinsfile":
        return FileKind.CI
    if _COMPOSE_NAME.match(base):
        return FileKind.COMPOSE
    if low.endswith((".yml", ".yaml")):
        return FileKind.YAML_CANDIDATE
    if low == ".env" or low.startswith(".env.") or low.endswith(".env"):
        return FileKind.ENV
    if low.endswith((".sh", ".bash")):
        return FileKind.SCRIPT
    if low in ("makefile", "gnumakefile") or low.endswith(".mk"):
        return FileKind.MAKEFILE
    if base == "go.mod":
        return FileKind.GO_MOD
    if base == "pom.xml":
        return FileKind.MAVEN
    if fnmatch.fnmatch(base, "build.gradle*") or fnmatch.fnmatch(base, "settings.gradle*"):
        return FileKind.GRADLE
    if base in _BAZEL or base == "BUILD" or low.endswith(".bzl"):
        return FileKind.BAZEL
    if low in ("docker-bake.hcl", "docker-bake.json"):
        return FileKind.BAKE
    if base == "package.json":
        return FileKind.NPM
    if base in ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile") or fnmatch.fnmatch(low, "requirements*.txt"):
        return FileKind.PYTHON
    if base == "Cargo.toml":
        return FileKind.CARGO
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
