"""Cases, canaries and the case registry; `CaseBuilder` is the one API the families write with.

A case is one hostile input with one *subject*, the thing an audit must report on: a git
repository (`git`, found by the config's `path_glob`), a repository named by URL (`git-url`,
e.g. with credentials in it), an image layout or archive on disk (`layout`), or a repository
in the test registry (`registry`). A case registers a builder function; the corpus calls only
the builders of the selected cases, so a subset builds (and runs) quickly.

Canaries are unique random strings (`hcCANARY` + 20 hex digits) planted where a secret would
be; none may ever appear in the database, the CLI's output or what hullcheck writes to its
cache. Markers are files outside every audited tree that hostile paths point to; none may ever
be opened (they hold a canary too, so a read that is stored is caught twice).
"""

from __future__ import annotations

import fnmatch
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANARY_PREFIX = "hcCANARY"
CANARY_RE = re.compile(r"hccanary[0-9a-f]*", re.IGNORECASE)

FAMILIES = (
    "yaml_bombs",  # billion laughs, deep nesting, anchor cycles, merge keys, huge scalars
    "compose_refs",  # include/extends cycles and escapes, env_file, build contexts, symlinks
    "odd_names",  # service names, file and repository names, tags, labels, lone surrogates
    "numbers",  # ports, ranges, memory and cpus beyond every column
    "expansion",  # .env and Dockerfile ARG/ENV chains that double at each step
    "dockerfiles",  # long lines, many stages, binary junk, encodings, heredocs
    "secrets",  # canaries in secret-looking positions (git files and git URLs)
    "image_shapes",  # index.json / manifests / configs / docker save of the wrong shape, escapes
    "layers",  # registry images with layer_scan: bombs, odd tars, media types, config secrets
)
CARRIERS = ("git", "git-url", "layout", "registry")


def new_canary() -> str:
    return CANARY_PREFIX + secrets.token_hex(10)


@dataclass(frozen=True)
class Canary:
    value: str
    kind: str  # where it was planted, in words: the report groups leaks by it
    case_id: str
    role: str = "secret"  # secret (a secret-looking position) | marker (a file never to be read) | env (the audit's)

    @property
    def hex(self) -> str:
        return self.value[len(CANARY_PREFIX) :]


@dataclass(frozen=True)
class Expect:
    """A fact the case must produce when its subject was read (not failed as a whole).

    what: `dockerfile` (a `dockerfiles` row whose path matches), `compose` (the file is in a
    `compose_projects` row's files or included files, or its `repo_files` row says why it was
    skipped, or the project of its directory failed with an error), `project` (a `compose_projects`
    row for the directory `path`), `file` (a `repo_files` row), `image_ok` (a tag read as new/known with an
    `image_manifests` row), `layer_facts` (a layer scan summary, or a recorded layer error).
    """

    what: str
    path: str = ""  # fnmatch pattern on the stored path (for the git kinds)


@dataclass
class Case:
    id: str  # "<family>/<name>"
    family: str
    carrier: str
    description: str
    key: str = ""  # unique ASCII name: the repository / layout / registry repository name, or its prefix
    subject_suffix: str | None = None  # for odd subject names: ASCII suffix after the odd part
    canaries: list[Canary] = field(default_factory=list)
    markers: list[Path] = field(default_factory=list)
    expects: list[Expect] = field(default_factory=list)
    # carrier details (filled by the builder)
    repo_dir: Path | None = None  # git: the bare repository on disk
    prefix: str = ""  # git, grouped: the case's directory inside a repository it shares with other cases
    url_template: str | None = None  # git-url: with {http} for the smart HTTP server's base URL
    layout_path: Path | None = None  # layout: the directory or file
    registry_repo: str | None = None  # registry: the repository name
    registry_tags: list[str] = field(default_factory=list)

    def matches(self, name: str | None) -> bool:
        """Whether a stored subject name (repo name, layout file name, registry repository) is this case's."""
        if name is None:
            return False
        if self.subject_suffix is None:
            return name == self.key
        return name.startswith(self.key) and name.endswith(self.subject_suffix)


@dataclass(frozen=True)
class CaseDef:
    family: str
    name: str
    carrier: str
    description: str
    build: Callable[[CaseBuilder], None]

    @property
    def id(self) -> str:
        return f"{self.family}/{self.name}"


_DEFS: dict[str, CaseDef] = {}


def register(family: str, name: str, carrier: str, description: str, build: Callable[[CaseBuilder], None]) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    if carrier not in CARRIERS:
        raise ValueError(f"unknown carrier {carrier!r}")
    d = CaseDef(family, name, carrier, description, build)
    if d.id in _DEFS:
        raise ValueError(f"case {d.id} registered twice")
    _DEFS[d.id] = d


def all_defs() -> list[CaseDef]:
    from hostile import families  # noqa: F401 - registers every family

    return list(_DEFS.values())


def select(defs: list[CaseDef], families: str | None = None, globs: str | None = None) -> list[CaseDef]:
    """The cases named by `HOSTILE_FAMILIES` (comma-separated) and `HOSTILE_CASES` (comma-separated
    fnmatch globs on case ids, e.g. `secrets/*redis*`); both unset: every case."""
    fams = {f.strip() for f in (families or "").split(",") if f.strip()}
    unknown = fams - set(FAMILIES)
    if unknown:
        raise ValueError(f"HOSTILE_FAMILIES names unknown families {sorted(unknown)}; known: {', '.join(FAMILIES)}")
    pats = [g.strip() for g in (globs or "").split(",") if g.strip()]
    out = [
        d for d in defs if (not fams or d.family in fams) and (not pats or any(fnmatch.fnmatch(d.id, p) for p in pats))
    ]
    if not out:
        raise ValueError(f"no hostile case matches HOSTILE_FAMILIES={families!r} HOSTILE_CASES={globs!r}")
    return out


MARKER_TOKEN = "@CANARY@"


class CaseBuilder:
    """What a case builder may do; everything it writes lands under the corpus root."""

    def __init__(self, corpus: Any, case: Case, serial: int) -> None:
        self.corpus = corpus
        self.case = case
        self.serial = serial

    # -- secrets and markers ----------------------------------------------------------------
    def canary(self, kind: str, role: str = "secret") -> str:
        value = new_canary()
        self.case.canaries.append(Canary(value, kind, self.case.id, role))
        return value

    def marker(self, name: str, content: str | bytes | None = None) -> Path:
        """A file outside every audited tree (`outside/<case>/<name>`) that must never be opened.

        `content` may hold `@CANARY@`, replaced by a fresh canary (default: `PASSWORD=@CANARY@`)."""
        path = self.corpus.outside / self._key("m") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            content = f"PASSWORD={MARKER_TOKEN}\nAPI_TOKEN={MARKER_TOKEN}\n"
        raw = content.encode() if isinstance(content, str) else content
        if MARKER_TOKEN.encode() in raw:
            value = self.canary(f"content of a marker file outside the audited trees ({name})", "marker")
            raw = raw.replace(MARKER_TOKEN.encode(), value.encode())
        path.write_bytes(raw)
        self.case.markers.append(path)
        return path

    def env_canary(self) -> str:
        """The name of a variable set in the audit's environment to a canary: Compose must never read the
        machine's environment, and nothing may read /proc/self/environ."""
        name = "HCENV_" + self._key("e").replace("-", "_").upper()[:40]
        self.corpus.env[name] = self.canary("a variable of the audit process's own environment", "env")
        return name

    def home_marker(self, name: str) -> Path | None:
        """A marker in the audit's $HOME (for `~/…` paths); None when the corpus has no HOME."""
        if self.corpus.home is None:
            return None
        path = self.corpus.home / f".hostile-{self.serial:03d}-{name}"
        value = self.canary(f"content of a marker file in $HOME ({name})", "marker")
        path.write_text(f"PASSWORD={value}\n")
        self.case.markers.append(path)
        return path

    # -- subjects -------------------------------------------------------------------------------
    def _key(self, prefix: str) -> str:
        return f"{prefix}{self.serial:03d}-{re.sub(r'[^a-z0-9]+', '-', self.case.id.split('/', 1)[1].lower())[:40]}"

    def repo(
        self,
        files: dict[str | bytes, str | bytes],
        symlinks: dict[str | bytes, str | bytes] | None = None,
        odd_name: bytes | None = None,
        group: str | None = None,
    ) -> Path:
        """A bare repository under repos/ holding `files` and `symlinks` in one commit.

        `odd_name`: bytes put in the middle of the directory name (the repository's name in reports).
        `group`: the files go to a directory of their own in a repository shared with up to
        `GROUP_SIZE` other cases of the group (fewer repositories: a shorter audit); for cases whose
        files work in any directory (not CI files, which hullcheck recognises at the root only)."""
        self._one_subject()
        if group is not None:
            key, path, prefix = self.corpus.join_group(group, self._key("c"), files, symlinks or {})
            self.case.key, self.case.repo_dir, self.case.prefix = key, path, prefix
            return path
        key = self._key("r")
        name = key.encode()
        if odd_name is not None:
            self.case.subject_suffix = "-end"
            name = name + b"-" + odd_name + b"-end"
        self.case.key = key
        path = Path(os.fsdecode(self.corpus.repos_dir)) / os.fsdecode(name)
        self.case.repo_dir = path
        self.corpus.pending_repos.append((path, files, symlinks or {}))
        return path

    def set_files(
        self, files: dict[str | bytes, str | bytes], symlinks: dict[str | bytes, str | bytes] | None = None
    ) -> None:
        """Replace what `repo()` will write (for builders that need the repository's path first)."""
        pending = self.corpus.pending_repos
        for i, (path, _, _) in enumerate(pending):
            if path == self.case.repo_dir:
                pending[i] = (path, files, symlinks or {})
                return
        raise ValueError(f"{self.case.id}: call repo() first")

    def repo_path(self, sub: str = "") -> Path:
        """Where a naive reader would resolve a relative path written in a repository file in `sub`."""
        assert self.case.repo_dir is not None, "call repo() first"
        return self.case.repo_dir / sub

    def rel(self, target: Path, sub: str = "") -> str:
        """`target` relative to the repository directory `sub` on disk (a path that climbs out)."""
        return os.path.relpath(target, self.repo_path(sub))

    def git_url(self, url_template: str, files: dict[str | bytes, str | bytes] | None = None) -> None:
        """A repository named by URL in the config: `{http}` is the smart HTTP server's base URL, `{name}`
        the served repository (written under served/ when `files` are given)."""
        self._one_subject()
        key = self._key("u")
        self.case.key = key
        self.case.url_template = url_template.replace("{name}", key)
        if files is not None:
            self.corpus.pending_served.append((self.corpus.served_dir / f"{key}.git", files, {}))

    def reserve_layout(self, ext: str = "", odd_name: bytes | None = None) -> Path:
        """The path the layout will have (to point relative symlinks out of it) before writing it."""
        if self.case.layout_path is None:
            self._layout_path(ext, odd_name)
        assert self.case.layout_path is not None
        return self.case.layout_path

    def layout_dir(self, files: dict[str, Any], odd_name: bytes | None = None) -> Path:
        """An OCI layout (or extracted docker save) directory: path -> bytes, `Link(target)`, `FIFO`, `DIR`."""
        from hostile.blobs import write_tree

        path = self.reserve_layout("", odd_name)
        write_tree(path, files)
        return path

    def layout_file(self, data: bytes, ext: str = ".tar", odd_name: bytes | None = None) -> Path:
        """An OCI archive or docker save tarball (or anything else) as one file."""
        path = self.reserve_layout(ext, odd_name)
        path.write_bytes(data)
        return path

    def _layout_path(self, ext: str, odd_name: bytes | None) -> Path:
        self._one_subject()
        key = self._key("l")
        self.case.key = key + ext
        name = key.encode()
        if odd_name is not None:
            self.case.key = key
            self.case.subject_suffix = "-end" + ext
            name = name + b"-" + odd_name + b"-end"
        path = Path(os.fsdecode(self.corpus.layouts_dir)) / os.fsdecode(name + ext.encode())
        self.case.layout_path = path
        return path

    def registry_image(self, item: Any, tags: list[str] | None = None) -> None:
        """Push `item` (a `blobs.RawImage`/`RawIndex` or a `support.oci.builder` image) as hostile/<key>:<tag>."""
        self._one_subject()
        key = self._key("g")
        self.case.key = f"hostile/{key}"
        self.case.registry_repo = self.case.key
        self.case.registry_tags = list(tags or ["latest"])
        for tag in self.case.registry_tags:
            self.corpus.pending_pushes.append((self.case.key, tag, item))

    def _one_subject(self) -> None:
        c = self.case
        if c.repo_dir or c.url_template or c.layout_path or c.registry_repo:
            raise ValueError(f"{c.id}: a case has exactly one subject")

    # -- expectations ---------------------------------------------------------------------------
    def expect(self, what: str, path: str = "") -> None:
        """`path` is relative to the case's files (its directory in a grouped repository)."""
        prefix = self.case.prefix
        if what == "project":
            path = (prefix + path).rstrip("/")
        elif path:
            path = prefix.replace("[", "[[]") + path
        self.case.expects.append(Expect(what, path))
