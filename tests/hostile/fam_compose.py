"""Compose files: YAML bombs (`yaml_bombs`) and references that cycle or climb out (`compose_refs`).

yaml_bombs: billion laughs in every position (service values, extension fields, included and
extended files, CI YAML), deep nesting (flow and block, up to 100,000 levels), anchor cycles,
merge-key abuse, huge scalars and keys, tens of thousands of services.

compose_refs: `include` and `extends` cycles and runaway chains, and every path Compose takes
from a file (`extends.file`, `include`, `env_file`, `secrets`/`configs` files, `COMPOSE_FILE`,
build contexts and Dockerfiles, bind mounts, `label_file`) pointing at /etc/passwd or at a
marker outside the repository, relatively and absolutely; symlinked compose.yaml, Dockerfile,
.env and included files inside and outside the repository, loops and chains.
"""

from __future__ import annotations

import json
from pathlib import Path

from hostile.model import CaseBuilder, register

q = json.dumps  # a JSON string is a YAML double-quoted scalar: paths and odd text are written with it


def _laughs(levels: int, width: int, prefix: str = "lol") -> str:
    lines = [f'x-{prefix}0: &{prefix}0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"x-{prefix}{i}: &{prefix}{i} [" + ", ".join([f"*{prefix}{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _git(family: str, name: str, description: str, files: dict[str, str | bytes], expect_compose: str = "") -> None:
    def build(k: CaseBuilder) -> None:
        k.repo(files)
        if expect_compose:
            k.expect("compose", expect_compose)

    register(family, name, "git", description, build)


# -- yaml_bombs -----------------------------------------------------------------------------------
for levels, width in ((9, 9), (10, 10), (30, 2), (6, 40)):
    _git(
        "yaml_bombs",
        f"laughs-{levels}x{width}-command",
        f"billion laughs ({width}^{levels}) as a service command",
        {"compose.yaml": _laughs(levels, width) + f"services:\n  app:\n    image: alpine\n    command: *lol{levels}\n"},
        "compose.yaml",
    )

_git(
    "yaml_bombs",
    "laughs-in-extension-field",
    "the bomb only under an x- key (dropped by Compose, measured anyway?)",
    {"compose.yaml": _laughs(10, 10) + "x-use: *lol10\nservices:\n  app:\n    image: alpine\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "laughs-in-environment",
    "the bomb as the environment list",
    {"compose.yaml": _laughs(9, 9) + "services:\n  app:\n    image: alpine\n    environment: *lol9\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "laughs-mapping-keys",
    "aliases used as mapping keys and values at every level",
    {
        "compose.yaml": "x-k0: &k0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n"
        + "".join(
            f"x-k{i}: &k{i} {{a: *k{i - 1}, b: *k{i - 1}, c: *k{i - 1}, d: *k{i - 1}, e: *k{i - 1}, "
            f"f: *k{i - 1}, g: *k{i - 1}, h: *k{i - 1}}}\n"
            for i in range(1, 10)
        )
        + "services:\n  app:\n    image: alpine\n    labels: *k9\n"
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "laughs-in-stack-file",
    "a bomb in a YAML file with top-level services (not a default name)",
    {"deploy/stack.yml": _laughs(10, 10) + "services:\n  app:\n    image: alpine\n    command: *lol10\n"},
    "deploy/stack.yml",
)
_git(
    "yaml_bombs",
    "laughs-in-included-file",
    "compose.yaml includes a file that is a bomb",
    {
        "compose.yaml": "include: [bomb.yaml]\nservices:\n  app:\n    image: alpine\n",
        "bomb.yaml": _laughs(10, 10) + "services:\n  b:\n    image: alpine\n    command: *lol10\n",
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "laughs-in-extended-file",
    "a service extends one in a bomb file",
    {
        "compose.yaml": "services:\n  app:\n    extends: {file: base.yaml, service: base}\n",
        "base.yaml": _laughs(10, 10) + "services:\n  base:\n    image: alpine\n    command: *lol10\n",
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "laughs-in-override",
    "the override file is the bomb",
    {
        "compose.yaml": "services:\n  app:\n    image: alpine\n",
        "compose.override.yaml": _laughs(10, 10) + "services:\n  app:\n    command: *lol10\n",
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "laughs-in-gitlab-ci",
    "a bomb in .gitlab-ci.yml (a CI file, read for build signals)",
    {".gitlab-ci.yml": _laughs(10, 10) + "build:\n  script: *lol10\n", "Dockerfile": "FROM alpine\n"},
)
_git(
    "yaml_bombs",
    "laughs-in-workflow",
    "a bomb in a GitHub workflow",
    {".github/workflows/ci.yml": _laughs(10, 10) + "jobs:\n  b:\n    steps: *lol10\n"},
)
_git(
    "yaml_bombs",
    "merge-key-bomb",
    "merge keys `<<: [*m, *m, …]` that double at each level",
    {
        "compose.yaml": "x-m0: &m0 {a0: 1}\n"
        + "".join(
            f"x-m{i}: &m{i} {{<<: [*m{i - 1}], k{i}: [*m{i - 1}, *m{i - 1}, *m{i - 1}, *m{i - 1}]}}\n"
            for i in range(1, 14)
        )
        + "services:\n  app:\n    image: alpine\n    labels: {<<: *m13}\n"
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "many-anchors",
    "50,000 distinct anchors and aliases",
    {
        "compose.yaml": "".join(f"x-a{i}: &a{i} v{i}\n" for i in range(50_000))
        + "services:\n  app:\n    image: alpine\n    command: ["
        + ", ".join(f"*a{i}" for i in range(0, 50_000, 7))
        + "]\n"
    },
    "compose.yaml",
)

for depth in (100, 1000, 100_000):
    _git(
        "yaml_bombs",
        f"deep-flow-seq-{depth}",
        f"{depth} nested flow sequences in a service value",
        {"compose.yaml": "services:\n  app:\n    image: alpine\n    command: " + "[" * depth + "]" * depth + "\n"},
        "compose.yaml",
    )
for depth in (1000, 50_000):
    _git(
        "yaml_bombs",
        f"deep-flow-map-{depth}",
        f"{depth} nested flow mappings",
        {
            "compose.yaml": "services:\n  app:\n    image: alpine\n    labels: "
            + "{a: " * depth
            + "1"
            + "}" * depth
            + "\n"
        },
        "compose.yaml",
    )
_git(
    "yaml_bombs",
    "deep-block-200",
    "200 levels of block mappings under a service",
    {
        "compose.yaml": "services:\n  app:\n    image: alpine\n    x-deep:\n"
        + "".join("  " * (i + 3) + f"l{i}:\n" for i in range(200))
        + "  " * 203
        + "end: 1\n"
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "deep-services-key",
    "services itself nested 10,000 deep",
    {"docker-compose.yml": "services: " + "[" * 10_000 + "]" * 10_000 + "\n"},
    "docker-compose.yml",
)
_git(
    "yaml_bombs",
    "deep-json-compose",
    "a Compose file written as JSON, 20,000 levels deep",
    {"compose.yaml": '{"services": {"app": {"image": "alpine", "command": ' + "[" * 20_000 + "]" * 20_000 + "}}}\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "deep-include-list",
    "include: a list nested 5,000 deep",
    {"compose.yaml": "include: " + "[" * 5000 + "]" * 5000 + "\nservices:\n  app:\n    image: alpine\n"},
    "compose.yaml",
)

_git(
    "yaml_bombs",
    "recursive-sequence",
    "an anchor inside its own sequence: `&a [*a]`",
    {"compose.yaml": "x-loop: &loop [*loop]\nservices:\n  app:\n    image: alpine\n    command: *loop\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "recursive-mapping",
    "a mapping that contains itself, used as a service",
    {"compose.yaml": "services:\n  app: &app\n    image: alpine\n    x-self: *app\n    labels: *app\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "recursive-services",
    "services: &s {app: {image: alpine, labels: *s}}",
    {"compose.yaml": "services: &s\n  app:\n    image: alpine\n    labels: *s\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "merge-self",
    "a mapping merging itself: `&m {<<: *m}`",
    {"compose.yaml": "services:\n  app: &m\n    <<: *m\n    image: alpine\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "merge-scalar",
    "`<<: 1` (a merge key on a scalar)",
    {"compose.yaml": "services:\n  app:\n    <<: 1\n    image: alpine\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "merge-sequence-of-sequences",
    "`<<: [[1, 2]]`",
    {"compose.yaml": "services:\n  app:\n    <<: [[1, 2]]\n    image: alpine\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "merge-10000-aliases",
    "one merge key listing the same alias 10,000 times",
    {
        "compose.yaml": "x-b: &b {image: alpine, user: app}\nservices:\n  app:\n    <<: ["
        + ", ".join(["*b"] * 10_000)
        + "]\n"
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "merge-chain-500",
    "500 mappings each merging the previous one",
    {
        "compose.yaml": "x-c0: &c0 {image: alpine}\n"
        + "".join(f"x-c{i}: &c{i} {{<<: *c{i - 1}, l{i}: v}}\n" for i in range(1, 500))
        + "services:\n  app:\n    <<: *c499\n"
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "merge-in-key-position",
    "a merge key whose value is an alias of an alias list, as a key",
    {"compose.yaml": "x-l: &l [a, b]\nservices:\n  app:\n    image: alpine\n    ? *l\n    : 1\n"},
    "compose.yaml",
)

_git(
    "yaml_bombs",
    "huge-plain-scalar",
    "a 900 KB plain scalar as the image",
    {"compose.yaml": "services:\n  app:\n    image: " + "x" * 900_000 + "\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "huge-quoted-escapes",
    "a 900 KB double-quoted scalar made of escapes",
    {"compose.yaml": 'services:\n  app:\n    image: alpine\n    command: "' + "\\x41\\u0042" * 45_000 + '"\n'},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "huge-key",
    "a 900 KB mapping key",
    {"compose.yaml": "services:\n  app:\n    image: alpine\n    labels:\n      " + "k" * 900_000 + ": v\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "over-the-size-cap",
    "a 2 MB Compose file (over max_file_bytes)",
    {"compose.yaml": "services:\n  app:\n    image: alpine\n    command: " + "y" * 2_000_000 + "\n"},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "30000-services",
    "30,000 services in one project",
    {"compose.yaml": "services:\n" + "".join(f"  s{i}:\n    image: alpine\n" for i in range(30_000))},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "100000-env-entries",
    "one service with 100,000 environment entries",
    {
        "compose.yaml": "services:\n  app:\n    image: alpine\n    environment:\n"
        + "".join(f"      - V{i}=x\n" for i in range(100_000))
    },
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "many-documents",
    "10,000 YAML documents in one file",
    {"compose.yaml": "services:\n  app:\n    image: alpine\n" + "---\nservices: {}\n" * 10_000},
    "compose.yaml",
)
_git(
    "yaml_bombs",
    "tabs-and-junk",
    "YAML that is not YAML: tabs, unbalanced brackets, a NUL after 8 KB",
    {"compose.yaml": "services:\n  app:\n\timage: [alpine\n" + "#" * 9000 + "\n\0\n"},
    "compose.yaml",
)


# -- compose_refs ---------------------------------------------------------------------------------
def _ref(name: str, description: str, build: object) -> None:
    register("compose_refs", name, "git", description, build)  # type: ignore[arg-type]


def _outside_compose(k: CaseBuilder, name: str = "compose.yaml", service: str = "base") -> Path:
    return k.marker(
        name,
        f"services:\n  {service}:\n    image: alpine\n    environment:\n"
        f"      PASSWORD: @CANARY@\n      PLAIN: @CANARY@\n",
    )


def _cycle(files: dict[str, str], description: str, name: str) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo(files)  # type: ignore[arg-type]
        k.expect("compose", "compose.yaml")

    _ref(name, description, build)


_cycle(
    {"compose.yaml": "include: [compose.yaml]\nservices:\n  app:\n    image: alpine\n"},
    "a file including itself",
    "include-self",
)
_cycle(
    {
        "compose.yaml": "include: [b.yaml]\nservices:\n  app:\n    image: alpine\n",
        "b.yaml": "include: [compose.yaml]\nservices:\n  b:\n    image: alpine\n",
    },
    "a includes b includes a",
    "include-cycle-two",
)
_cycle(
    {
        "compose.yaml": "include: [f1.yaml]\nservices:\n  app:\n    image: alpine\n",
        **{f"f{i}.yaml": f"include: [f{i + 1}.yaml]\nservices:\n  s{i}:\n    image: alpine\n" for i in range(1, 100)},
        "f100.yaml": "services:\n  last:\n    image: alpine\n",
    },
    "a chain of 100 includes",
    "include-chain-100",
)
_cycle(
    {
        "compose.yaml": "include: [d1a.yaml, d1b.yaml]\nservices:\n  app:\n    image: alpine\n",
        **{f"d{i}{x}.yaml": f"include: [d{i + 1}a.yaml, d{i + 1}b.yaml]\n" for i in range(1, 20) for x in "ab"},
        **{f"d20{x}.yaml": "services: {}\n" for x in "ab"},
    },
    "a diamond of includes 20 levels deep (2^20 paths)",
    "include-diamond-20",
)
_cycle(
    {"compose.yaml": "include: [1, null, [a, b], {path: 5}, {}]\nservices:\n  app:\n    image: alpine\n"},
    "include entries of every wrong type",
    "include-wrong-types",
)
_cycle(
    {"compose.yaml": "services:\n  app:\n    image: alpine\n    extends: {service: app}\n"},
    "a service extending itself",
    "extends-self",
)
_cycle(
    {"compose.yaml": "services:\n  a:\n    extends: b\n  b:\n    extends: a\n"},
    "two services extending each other",
    "extends-cycle-two",
)
_cycle(
    {
        "compose.yaml": "services:\n  app:\n    extends: {file: b.yaml, service: app}\n",
        "b.yaml": "services:\n  app:\n    extends: {file: compose.yaml, service: app}\n",
    },
    "extends across two files that extend each other",
    "extends-file-cycle",
)
_cycle(
    {
        "compose.yaml": "services:\n"
        + "".join(f"  s{i}:\n    extends: s{i + 1}\n" for i in range(3000))
        + "  s3000:\n    image: alpine\n"
    },
    "a chain of 3,000 extends in one file",
    "extends-chain-3000",
)
_cycle(
    {
        "compose.yaml": "services:\n  a:\n    extends: 5\n  b:\n    extends: [x]\n"
        "  c:\n    extends: {file: 5, service: [x]}\n"
    },
    "extends values of the wrong type",
    "extends-wrong-types",
)


def _passwd_rel(k: CaseBuilder) -> None:
    k.repo({"compose.yaml": "services:\n  app:\n    extends: {file: ../../etc/passwd, service: root}\n"})
    k.expect("compose", "compose.yaml")


_ref("extends-etc-passwd-rel", "extends: {file: ../../etc/passwd}", _passwd_rel)


def _passwd_deep(k: CaseBuilder) -> None:
    k.repo({})
    rel = k.rel(Path("/etc/passwd"))
    k.set_files({"compose.yaml": f"services:\n  app:\n    extends: {{file: {q(rel)}, service: root}}\n"})
    k.expect("compose", "compose.yaml")


_ref("extends-etc-passwd-climb", "extends.file climbing from the repository's directory to /etc/passwd", _passwd_deep)
_ref(
    "extends-etc-passwd-abs",
    "extends: {file: /etc/passwd}",
    lambda k: k.repo({"compose.yaml": "services:\n  app:\n    extends: {file: /etc/passwd, service: root}\n"}),
)
_ref(
    "include-etc-passwd",
    "include: [/etc/passwd]",
    lambda k: k.repo({"compose.yaml": "include: [/etc/passwd]\nservices:\n  app:\n    image: alpine\n"}),
)


def _marker_ref(
    name: str,
    description: str,
    template: str,
    rel: bool,
    marker: str = "compose",
    sub: str = "",
    extra: dict[str, str] | None = None,
    where: str = "compose.yaml",
) -> None:
    """A repository file (`where`) whose `template` names a marker: {path} is replaced by its path."""

    def build(k: CaseBuilder) -> None:
        k.repo({})  # the key first (markers live under it); files are set below
        if marker == "compose":
            m = _outside_compose(k)
        elif marker == "env":
            m = k.marker("outside.env")
        elif marker == "dockerfile":
            m = k.marker("Dockerfile", "FROM alpine\nENV PASSWORD=@CANARY@\n")
        elif marker == "json":
            m = k.marker("secret.json", '{"password": "@CANARY@"}\n')
        else:
            m = k.marker(marker)
        target = k.rel(m, sub) if rel else str(m)
        if marker == "dir":
            target = str(Path(target).parent)
        files = {where: template.replace("{path}", q(target)[1:-1]).replace("{dir}", q(str(Path(target).parent))[1:-1])}
        k.set_files(files | (extra or {}))  # type: ignore[arg-type]
        if where.endswith(".env"):
            k.expect("project", "")  # COMPOSE_FILE: the directory's project, loaded or failed
        else:
            k.expect("compose", where)

    _ref(name, description, build)


for rel in (False, True):
    how = "rel" if rel else "abs"
    _marker_ref(
        f"extends-marker-{how}",
        f"extends.file naming a marker compose file ({how} path)",
        'services:\n  app:\n    extends: {file: "{path}", service: base}\n',
        rel,
    )
    _marker_ref(
        f"include-marker-{how}",
        f"include naming a marker compose file ({how} path)",
        'include: ["{path}"]\nservices:\n  app:\n    image: alpine\n',
        rel,
    )
    _marker_ref(
        f"include-long-form-{how}",
        f"include: [{{path: [marker]}}] ({how})",
        'include:\n  - path: ["{path}"]\nservices:\n  app:\n    image: alpine\n',
        rel,
    )
    _marker_ref(
        f"include-env-file-{how}",
        f"an include's env_file is a marker .env ({how})",
        'include:\n  - path: other.yaml\n    env_file: "{path}"\nservices:\n  app:\n    image: alpine\n',
        rel,
        "env",
        extra={"other.yaml": "services:\n  o:\n    image: alpine\n    environment: [PASSWORD]\n"},
    )
    _marker_ref(
        f"env-file-{how}",
        f"a service's env_file is a marker .env ({how})",
        'services:\n  app:\n    image: alpine\n    env_file: "{path}"\n',
        rel,
        "env",
    )
    _marker_ref(
        f"env-file-optional-{how}",
        f"env_file: [{{path: marker, required: false}}] ({how})",
        'services:\n  app:\n    image: alpine\n    env_file:\n      - path: "{path}"\n        required: false\n',
        rel,
        "env",
    )
    _marker_ref(
        f"secret-file-{how}",
        f"a top-level secret's file is a marker ({how})",
        'services:\n  app:\n    image: alpine\n    secrets: [s]\nsecrets:\n  s:\n    file: "{path}"\n',
        rel,
        "json",
    )
    _marker_ref(
        f"config-file-{how}",
        f"a top-level config's file is a marker ({how})",
        'services:\n  app:\n    image: alpine\n    configs: [c]\nconfigs:\n  c:\n    file: "{path}"\n',
        rel,
        "json",
    )
    _marker_ref(
        f"compose-file-env-{how}",
        f".env sets COMPOSE_FILE to a marker compose file ({how})",
        'COMPOSE_FILE="{path}"\n',
        rel,
        where=".env",
    )
    _marker_ref(
        f"build-context-{how}",
        f"build.context is the marker directory ({how})",
        'services:\n  app:\n    build:\n      context: "{dir}"\n',
        rel,
        "dockerfile",
    )
    _marker_ref(
        f"build-dockerfile-{how}",
        f"build.dockerfile is a marker Dockerfile ({how})",
        'services:\n  app:\n    build:\n      context: .\n      dockerfile: "{path}"\n',
        rel,
        "dockerfile",
    )
    _marker_ref(
        f"bind-mount-{how}",
        f"a bind mount of the marker directory ({how})",
        'services:\n  app:\n    image: alpine\n    volumes: ["{dir}:/mnt:ro"]\n',
        rel,
        "json",
    )
    _marker_ref(
        f"label-file-{how}",
        f"label_file naming a marker ({how})",
        'services:\n  app:\n    image: alpine\n    label_file: "{path}"\n',
        rel,
        "env",
    )

_marker_ref(
    "compose-file-env-list",
    "COMPOSE_FILE=compose.yaml:<marker> (a list with an absolute marker)",
    "COMPOSE_FILE=compose.yaml:{path}\n",
    False,
    extra={"compose.yaml": "services:\n  app:\n    image: alpine\n"},
    where=".env",
)
_marker_ref(
    "include-project-directory",
    "include with project_directory climbing out (its .env is a marker)",
    'include:\n  - path: other.yaml\n    project_directory: "{dir}"\nservices:\n  app:\n    image: alpine\n',
    True,
    ".env",
    extra={"other.yaml": "services:\n  o:\n    image: alpine\n    environment: [PASSWORD]\n"},
)
_marker_ref(
    "extends-from-subdir",
    "a file in a subdirectory extends ../../../<marker> (relative to its directory)",
    'services:\n  app:\n    extends: {file: "{path}", service: base}\n',
    True,
    sub="deploy/x",
    where="deploy/x/compose.yaml",
)


def _home_env(k: CaseBuilder) -> None:
    m = k.home_marker("home.env")
    path = f"~/{m.name}" if m is not None else "~/.hostile.env"
    k.repo({"compose.yaml": f"services:\n  app:\n    image: alpine\n    env_file: {q(path)}\n"})
    k.expect("compose", "compose.yaml")


_ref("env-file-home", "env_file: ~/<marker> (the auditing machine's home directory)", _home_env)


def _proc_environ(k: CaseBuilder) -> None:
    var = k.env_canary()
    k.repo({})
    k.set_files(
        {
            "compose.yaml": "services:\n  app:\n    image: alpine\n    env_file: /proc/self/environ\n",
            "sub/compose.yaml": f"services:\n  app:\n    image: alpine\n"
            f"    env_file: {q(k.rel(Path('/proc/self/environ'), 'sub'))}\n",
        },
        symlinks={"Dockerfile": "/proc/self/environ", ".env": "/proc/self/environ"},
    )
    assert var
    k.expect("compose", "compose.yaml")


_ref(
    "proc-self-environ",
    "env_file, .env and Dockerfile pointing at /proc/self/environ (the audit's environment)",
    _proc_environ,
)


def _machine_env(k: CaseBuilder) -> None:
    var = k.env_canary()
    k.repo(
        {
            "compose.yaml": f"services:\n  app:\n    image: ${{{var}}}\n    environment:\n      - {var}\n"
            f"      - COPY=${{{var}:-unset}}\n    labels:\n      v: ${var}\n"
        }
    )
    k.expect("compose", "compose.yaml")


_ref("machine-environment", "interpolation of a variable only the auditing machine's environment has", _machine_env)


def _symlinked(
    name: str,
    description: str,
    link: str,
    target_kind: str,
    rel: bool,
    files: dict[str, str] | None = None,
    expect: tuple[str, str] | None = None,
) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo({})
        if target_kind == "compose":
            m = _outside_compose(k)
        elif target_kind == "dockerfile":
            m = k.marker("Dockerfile", "FROM alpine\nENV PASSWORD=@CANARY@\n")
        else:
            m = k.marker("outside.env")
        sub = str(Path(link).parent) if "/" in link else ""
        target = k.rel(m, sub) if rel else str(m)
        k.set_files(files or {}, {link: target})  # type: ignore[arg-type]
        if expect:
            k.expect(*expect)

    _ref(name, description, build)


for rel in (False, True):
    how = "rel" if rel else "abs"
    _symlinked(
        f"symlink-compose-{how}",
        f"compose.yaml is a symlink to a marker ({how})",
        "compose.yaml",
        "compose",
        rel,
        expect=("file", "compose.yaml"),
    )
    _symlinked(
        f"symlink-dockerfile-{how}",
        f"Dockerfile is a symlink to a marker ({how})",
        "Dockerfile",
        "dockerfile",
        rel,
        expect=("dockerfile", "Dockerfile"),
    )
    _symlinked(
        f"symlink-dotenv-{how}",
        f".env is a symlink to a marker ({how})",
        ".env",
        "env",
        rel,
        {"compose.yaml": "services:\n  app:\n    image: ${PASSWORD:-alpine}\n"},
        ("compose", "compose.yaml"),
    )
    _symlinked(
        f"symlink-included-{how}",
        f"an included file is a symlink to a marker ({how})",
        "inc.yaml",
        "compose",
        rel,
        {"compose.yaml": "include: [inc.yaml]\nservices:\n  app:\n    image: alpine\n"},
        ("compose", "compose.yaml"),
    )
    _symlinked(
        f"symlink-extended-{how}",
        f"an extended file is a symlink to a marker ({how})",
        "base.yaml",
        "compose",
        rel,
        {"compose.yaml": "services:\n  app:\n    extends: {file: base.yaml, service: base}\n"},
        ("compose", "compose.yaml"),
    )
    _symlinked(
        f"symlink-env-file-{how}",
        f"a service's env_file is a symlink to a marker ({how})",
        "app.env",
        "env",
        rel,
        {"compose.yaml": "services:\n  app:\n    image: alpine\n    env_file: app.env\n"},
        ("compose", "compose.yaml"),
    )
    _symlinked(
        f"symlink-nested-dockerfile-{how}",
        f"deploy/Dockerfile is a symlink to a marker ({how})",
        "deploy/Dockerfile",
        "dockerfile",
        rel,
        {"compose.yaml": "services:\n  app:\n    build: deploy\n"},
        ("dockerfile", "deploy/Dockerfile"),
    )


def _links(name: str, description: str, files: dict[str, str], links: dict[str, str], expect: tuple[str, str]) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo(files, links)  # type: ignore[arg-type]
        k.expect(*expect)

    _ref(name, description, build)


_links(
    "symlink-inside-followed",
    "compose.yaml -> deploy/compose.yaml (inside: followed)",
    {"deploy/compose.yaml": "services:\n  app:\n    image: alpine\n"},
    {"compose.yaml": "deploy/compose.yaml"},
    ("compose", "compose.yaml"),
)
_links(
    "symlink-chain",
    "Dockerfile -> a -> b -> Dockerfile.real (a chain of links)",
    {"Dockerfile.real": "FROM alpine\n"},
    {"Dockerfile": "a", "a": "b", "b": "Dockerfile.real"},
    ("dockerfile", "Dockerfile"),
)
_links(
    "symlink-loop",
    "Dockerfile -> Dockerfile.2 -> Dockerfile",
    {},
    {"Dockerfile": "Dockerfile.2", "Dockerfile.2": "Dockerfile"},
    ("dockerfile", "Dockerfile"),
)
_links("symlink-self", "Dockerfile -> Dockerfile", {}, {"Dockerfile": "Dockerfile"}, ("dockerfile", "Dockerfile"))
_links(
    "symlink-to-directory",
    "compose.yaml -> deploy (a directory)",
    {"deploy/x.txt": "x"},
    {"compose.yaml": "deploy"},
    ("file", "compose.yaml"),
)
_links("symlink-dot", "Dockerfile -> .", {}, {"Dockerfile": "."}, ("dockerfile", "Dockerfile"))
_links(
    "symlink-dotdot-inside",
    "sub/Dockerfile -> ../Dockerfile.real (climbs, stays inside)",
    {"Dockerfile.real": "FROM alpine\n"},
    {"sub/Dockerfile": "../Dockerfile.real"},
    ("dockerfile", "sub/Dockerfile"),
)
_links(
    "symlink-long-target",
    "a symlink whose target is 4,000 characters",
    {},
    {"Dockerfile": "a/" * 2000},
    ("dockerfile", "Dockerfile"),
)
_links(
    "symlink-target-newline",
    "a symlink target with a newline and an escape",
    {},
    {"Dockerfile": "x\n\x1b[31m../../etc/passwd"},
    ("dockerfile", "Dockerfile"),
)
_links(
    "symlink-into-dot-git", "Dockerfile -> .git/config", {}, {"Dockerfile": ".git/config"}, ("dockerfile", "Dockerfile")
)
_links(
    "symlink-escape-then-return",
    "Dockerfile -> ../<repo>/Dockerfile.real (leaves and re-enters)",
    {"Dockerfile.real": "FROM alpine\n"},
    {"Dockerfile": "../../repos/x/Dockerfile.real"},
    ("dockerfile", "Dockerfile"),
)
